import { commandHandler, type EventStore } from '@shop/eventsourcing';
import type { PostgresTx } from '@shop/eventsourcing/postgres';
import { userDecider } from '../domain/user.js';
import { USER_STREAM_TYPE, userEventCodec } from '../domain/events.js';

/**
 * The user's command side: load the stream → decide → append, retried on conflict. On the
 * Postgres store: credentials and keys commit in the append's transaction.
 */
export const userCommandHandler = (store: EventStore<PostgresTx>, maxRetries?: number) =>
  commandHandler({ store, streamType: USER_STREAM_TYPE, decider: userDecider, codec: userEventCodec, ...(maxRetries === undefined ? {} : { maxRetries }) });

export type UserCommandHandler = ReturnType<typeof userCommandHandler>;
