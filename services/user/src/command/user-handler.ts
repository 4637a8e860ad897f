import { commandHandler, type EventStore } from '@shop/eventsourcing';
import { userDecider } from '../domain/user.js';
import { USER_STREAM_TYPE, userEventCodec } from '../domain/events.js';

/** The user's command side: load the stream → decide → append, retried on conflict. */
export const userCommandHandler = (store: EventStore, maxRetries?: number) =>
  commandHandler({ store, streamType: USER_STREAM_TYPE, decider: userDecider, codec: userEventCodec, ...(maxRetries === undefined ? {} : { maxRetries }) });

export type UserCommandHandler = ReturnType<typeof userCommandHandler>;
