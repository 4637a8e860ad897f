/**
 * The relay's MongoDB side: events read through the store's own readAll (its position
 * order), the checkpoint in `relay_checkpoints` and dead letters in `relay_dead_letters`
 * of the same database, and leadership as a lease.
 *
 * MongoDB has no session locks, so the one relay of a name is the holder of an unexpired
 * lease document (`relay_leases`), taken by a conditional upsert (its key is the relay's
 * name: two takers collide on it) and renewed by the leader before each batch and each
 * checkpoint. A leader that stalls past the lease loses it; if it still publishes the
 * batch in hand, that batch goes out twice (at least once, as everywhere else), and its
 * checkpoint write, which renews first, fails.
 */
import { randomUUID } from 'node:crypto';
import { MongoServerError, type Db } from 'mongodb';
import type { RelayLeadership, RelaySource } from '../relay.js';
import { START, type EventStore, type GlobalCheckpoint, type RecordedEvent } from '../types.js';

const DUPLICATE_KEY = 11000;

interface Lease {
  _id: string;
  holder: string;
  expiresAt: Date;
}

/** Thrown by a leader whose lease another relay has taken meanwhile. */
class LeaseLost extends Error {}

export function mongoRelaySource(
  db: Db,
  store: EventStore,
  options: {
    /** The relay's name: its checkpoint's and its lease's key. */
    name: string;
    /** How long a silent leader keeps the lease (default 10 s): how long a dead one blocks a takeover. */
    leaseMs?: number;
  },
): RelaySource {
  const { name } = options;
  const leaseMs = options.leaseMs ?? 10_000;
  const leases = db.collection<Lease>('relay_leases');
  const checkpoints = db.collection<{ _id: string; checkpoint: GlobalCheckpoint; updatedAt: Date }>('relay_checkpoints');
  const deadLetters = db.collection<{ _id: string; relay: string; streamType: string; streamId: string; version: number; type: string; position: number; reason: string; at: Date }>('relay_dead_letters');
  const me = randomUUID();

  /** Takes or renews the lease; false when another relay holds it. */
  const claim = async (upsert: boolean): Promise<boolean> => {
    const now = Date.now();
    try {
      const lease = await leases.findOneAndUpdate(
        { _id: name, $or: [{ holder: me }, { expiresAt: { $lt: new Date(now) } }] },
        { $set: { holder: me, expiresAt: new Date(now + leaseMs) } },
        { upsert, returnDocument: 'after' },
      );
      return lease?.holder === me;
    } catch (err) {
      // Held by another: the upsert's insert collides with the lease document.
      if (err instanceof MongoServerError && err.code === DUPLICATE_KEY) return false;
      throw err;
    }
  };

  return {
    async lead() {
      if (!(await claim(true))) return undefined;
      let renewedAt = Date.now();
      const renew = async () => {
        // A third of the lease: a leader between two renewals is never near its expiry.
        if (Date.now() - renewedAt < leaseMs / 3) return;
        if (!(await claim(false))) throw new LeaseLost(`relay ${name}: the lease was taken by another relay`);
        renewedAt = Date.now();
      };
      const leadership: RelayLeadership = {
        async checkpoint() {
          return (await checkpoints.findOne({ _id: name }))?.checkpoint ?? START;
        },
        async read(from, readOptions) {
          await renew();
          return store.readAll(from, readOptions);
        },
        async save(checkpoint) {
          renewedAt = 0;
          await renew();
          await checkpoints.updateOne({ _id: name }, { $set: { checkpoint, updatedAt: new Date() } }, { upsert: true });
        },
        async deadLetter(event: RecordedEvent, reason: string) {
          await deadLetters.updateOne(
            { _id: `${name}:${event.id}` },
            { $set: { relay: name, streamType: event.streamType, streamId: event.streamId, version: event.version, type: event.type, position: event.position, reason: reason.slice(0, 1000), at: new Date() } },
            { upsert: true },
          );
        },
        async holds(err) {
          return !(err instanceof LeaseLost);
        },
        async release(lost) {
          // Handing over at once rather than at the lease's expiry.
          if (!lost) await leases.updateOne({ _id: name, holder: me }, { $set: { expiresAt: new Date(0) } });
        },
      };
      return leadership;
    },
  };
}
