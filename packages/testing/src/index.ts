export * from './database.js';
export * from './log.js';
