/**
 * The relay's MongoDB side: events read through the store's own readAll (its position
 * order), the checkpoint in `relay_checkpoints` and dead letters in `relay_dead_letters`
 * of the same database, and leadership as a lease.
 *
 * MongoDB has no session locks, so the one relay of a name is the holder of an unexpired
 * lease document (`relay_leases`), taken by a conditional upsert (its key is the relay's
 * name: two takers collide on it) and renewed by the leader before each batch. Expiry is
 * judged by each process's clock, so a taker whose clock runs ahead, or a leader that
 * stalls past the lease, can leave two relays publishing for a while (a batch goes out
 * twice: at least once, as everywhere else). The checkpoint cannot go wrong that way: each
 * takeover counts the lease's `epoch` up and stamps it on the checkpoint document, and a
 * checkpoint is written only where the document still carries the writer's epoch, so a
 * deposed leader's write is refused whatever its clock says.
 */
import { randomUUID } from 'node:crypto';
import { MongoServerError, type Db } from 'mongodb';
import type { RelayLeadership, RelaySource } from '../relay.js';
import { START, type EventStore, type GlobalCheckpoint, type RecordedEvent } from '../types.js';
import { DUPLICATE_KEY, durable } from './store.js';

interface Lease {
  _id: string;
  holder: string;
  expiresAt: Date;
  /** Counted up by every takeover: the fencing token of the leadership it starts. */
  epoch: number;
}

interface Checkpoint {
  _id: string;
  /** Absent until the first save. */
  checkpoint?: GlobalCheckpoint;
  /** The epoch of the latest leader: only it may write the checkpoint. */
  epoch: number;
  updatedAt: Date;
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
  const leases = db.collection<Lease>('relay_leases', durable);
  const checkpoints = db.collection<Checkpoint>('relay_checkpoints', durable);
  const deadLetters = db.collection<{ _id: string; relay: string; streamType: string; streamId: string; version: number; type: string; position: number; reason: string; at: Date }>('relay_dead_letters', durable);
  const me = randomUUID();

  /** Held by another: an upsert's insert collided with the document its filter did not match. */
  const collided = (err: unknown) => err instanceof MongoServerError && err.code === DUPLICATE_KEY;

  /** Takes the lease (free, expired or already this relay's) for a new epoch; undefined when another relay holds it. */
  const take = async (): Promise<number | undefined> => {
    const now = Date.now();
    try {
      const lease = await leases.findOneAndUpdate(
        { _id: name, $or: [{ holder: me }, { expiresAt: { $lt: new Date(now) } }] },
        { $set: { holder: me, expiresAt: new Date(now + leaseMs) }, $inc: { epoch: 1 } },
        { upsert: true, returnDocument: 'after' },
      );
      return lease?.holder === me ? lease.epoch : undefined;
    } catch (err) {
      if (collided(err)) return undefined;
      throw err;
    }
  };

  /**
   * Stamps the leader's epoch on the checkpoint document, from which on a leader of an
   * earlier epoch can no longer write it; false when a later epoch stamped it first (this
   * leadership is over before it began).
   */
  const fence = async (epoch: number): Promise<boolean> => {
    try {
      const doc = await checkpoints.findOneAndUpdate(
        { _id: name, $or: [{ epoch: { $lt: epoch } }, { epoch: { $exists: false } }] },
        { $set: { epoch, updatedAt: new Date() } },
        { upsert: true, returnDocument: 'after' },
      );
      return doc?.epoch === epoch;
    } catch (err) {
      if (collided(err)) return false;
      throw err;
    }
  };

  return {
    async lead() {
      const epoch = await take();
      if (epoch === undefined) return undefined;
      if (!(await fence(epoch))) return undefined;
      let renewedAt = Date.now();
      const renew = async () => {
        // A third of the lease: a leader between two renewals is never near its expiry.
        if (Date.now() - renewedAt < leaseMs / 3) return;
        const renewed = await leases.updateOne({ _id: name, holder: me, epoch }, { $set: { expiresAt: new Date(Date.now() + leaseMs) } });
        if (renewed.matchedCount === 0) throw new LeaseLost(`relay ${name}: the lease was taken by another relay`);
        renewedAt = Date.now();
      };
      const leadership: RelayLeadership = {
        async checkpoint() {
          const doc = await checkpoints.findOne({ _id: name, epoch });
          if (!doc) throw new LeaseLost(`relay ${name}: a later leader took over`);
          return doc.checkpoint ?? START;
        },
        async read(from, readOptions) {
          await renew();
          return { events: await store.readAll(from, readOptions) };
        },
        async save(checkpoint) {
          await renew();
          // Fenced by the epoch, not by the lease's clock: refused once a later leader took over.
          const saved = await checkpoints.updateOne({ _id: name, epoch }, { $set: { checkpoint, updatedAt: new Date() } });
          if (saved.matchedCount === 0) throw new LeaseLost(`relay ${name}: a later leader took over; checkpoint ${checkpoint} not written`);
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
          if (!lost) await leases.updateOne({ _id: name, holder: me, epoch }, { $set: { expiresAt: new Date(0) } });
        },
      };
      return leadership;
    },
  };
}
