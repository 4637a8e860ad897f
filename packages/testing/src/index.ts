export * from './database.js';
export * from './log.js';
export * from './wait.js';
export * from './kafka.js';
export * from './grpc.js';
