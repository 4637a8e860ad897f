import { v7 as uuidv7, validate as isUuid } from 'uuid';

/** Ids are UUIDv7: unique without coordination, and ordered by creation time (good for B-trees and paging). */
export type IdGenerator = () => string;
export const newId: IdGenerator = () => uuidv7();
export { isUuid };

/** Injected wherever "now" matters, so that rules and tests stay deterministic. */
export type Clock = () => Date;
export const systemClock: Clock = () => new Date();
