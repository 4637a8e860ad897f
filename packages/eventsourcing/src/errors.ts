import type { RecordedEvent } from './types.js';

/**
 * An event a consumer cannot use (its data breaks the contract): not worth retrying, so
 * the processor sends it to the dead-letter queue with this message as the reason.
 */
export class MalformedEventError extends Error {
  constructor(event: RecordedEvent, reason: string) {
    super(`${event.type} ${event.id} (${event.streamType} ${event.streamId}): ${reason}`);
    this.name = 'MalformedEventError';
  }
}
