import type { EventStore, RecordedEvent } from '@shop/eventsourcing';
import type { PostgresInTransaction, PostgresTx } from '@shop/eventsourcing/postgres';
import type { Queryable } from '@shop/platform/postgres/pool';
import { hasPersonalData, newUserKey, open, seal } from './sealing.js';
import { loadUserKeys, storeUserKey } from './user-keys.js';

/**
 * The user's event store: the Postgres store underneath holds (and its relay publishes)
 * sealed events only; the command handler, projections and rebuilds above see them opened.
 * `db` is the user database, where `user_keys` is.
 */
export function sealedStore(inner: EventStore<PostgresTx>, db: Queryable): EventStore<PostgresTx> {
  const openAll = async <E extends RecordedEvent>(events: E[]): Promise<E[]> => {
    const keys = await loadUserKeys(db, [...new Set(events.map((e) => e.streamId))]);
    return events.map((e) => ({ ...e, data: open(e.type, e.streamId, e.data, keys.get(e.streamId)) }));
  };
  return {
    async append(streamType, streamId, events, expected, options = {}) {
      let keyToStore: Buffer | undefined;
      let key: Buffer | undefined;
      if (events.some((e) => hasPersonalData(e.type, e.data))) {
        key = (await loadUserKeys(db, [streamId])).get(streamId);
        // First personal data of this user (a registration, or a user from before sealing).
        if (!key) key = keyToStore = newUserKey();
      }
      const sealed = key ? events.map((e) => ({ ...e, data: seal(e.type, streamId, e.data, key) })) : events;
      const theirs = options.inTransaction;
      const inTransaction: PostgresInTransaction | undefined =
        keyToStore === undefined
          ? theirs
          : async (tx) => {
              await storeUserKey(streamId, keyToStore)(tx);
              await theirs?.(tx);
            };
      return inner.append(streamType, streamId, sealed, expected, inTransaction ? { inTransaction } : {});
    },
    async readStream(streamId, options) {
      return openAll(await inner.readStream(streamId, options));
    },
    async readAll(checkpoint, options) {
      return openAll(await inner.readAll(checkpoint, options));
    },
  };
}
