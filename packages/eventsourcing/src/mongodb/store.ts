import { randomUUID } from 'node:crypto';
import { MongoServerError, type Collection, type CollectionOptions, type Db } from 'mongodb';
import { ConcurrencyError, ValidationError } from '@shop/platform/errors';
import { DEFAULT_MAX_EVENT_BYTES, MAX_STREAM_NAME_LENGTH } from '../limits.js';
import type { AppendOptions, AppendResult, EventMetadata, EventStore, ExpectedVersion, GlobalCheckpoint, NewEvent, RecordedEvent, StoredEvent } from '../types.js';

/**
 * One append: a document per commit, never per event. FerretDB (our MongoDB here) has no
 * multi-document transactions, and a single document's insert is atomic on every MongoDB
 * server, so a commit's events become visible together or not at all.
 */
interface CommitDocument {
  /** The first global position, as zero-padded text (positionKey): the primary key orders the log. */
  _id: string;
  streamType: string;
  streamId: string;
  /** Versions first..last of the stream. */
  first: number;
  last: number;
  /** Global positions position..lastPosition, one per event in order. */
  position: number;
  lastPosition: number;
  committedAt: Date;
  events: Array<{
    id: string;
    type: string;
    /**
     * Data and metadata as JSON text: FerretDB refuses keys with '.' or a leading '$',
     * which event data may hold (a proto map's keys), and the store only ever hands them
     * back whole.
     */
    data: string;
    metadata: string;
  }>;
}

/** Duplicate key: a unique index refused the insert. */
export const DUPLICATE_KEY = 11000;

/**
 * How the store and its relay open every collection. On a replica set a write acknowledged
 * by the primary alone, or a read at the default `local` level, may be undone by a failover:
 * the relay could publish a commit that is then rolled back, and the new primary hand its
 * position to another commit, which the relay (already past that checkpoint) never
 * publishes. Majority writes (journaled) and majority reads see only what no failover
 * undoes; the primary is read, as the writers' next position is decided there.
 */
export const durable: CollectionOptions = {
  readConcern: { level: 'majority' },
  writeConcern: { w: 'majority', journal: true },
  readPreference: 'primary',
};

/** Tries of one append that lost the race for the next global position to other writers. */
const MAX_POSITION_ATTEMPTS = 1_000;

/** Streams whose last version the store remembers (least recently used out first). */
const MAX_REMEMBERED_STREAMS = 10_000;

/** Steps along the log from a stale hint before asking for the highest position instead. */
const MAX_WALK = 16;

/**
 * A position as the commit's primary key: text, zero-padded so that the key's order is
 * the number's. Text because FerretDB's SQLite backend looks up only string keys without
 * scanning the collection, and finding the commit at a position is the writers' hot path.
 */
const positionKey = (position: number) => String(position).padStart(20, '0');

/**
 * The MongoDB event store (run against FerretDB 1.24 with the SQLite backend in the local
 * stack and tests). It keeps the port's promises without transactions:
 *
 * - Atomic appends: one command's events are one commit document.
 * - Expected versions: a commit stores its first version, and (streamId, first) is
 *   unique. An append reads the stream's last version, checks it against `expected` and
 *   inserts a commit starting right after it; a writer that raced it to the same version
 *   gets a duplicate key, the ConcurrencyError the Postgres adapter throws. (A stale
 *   writer that read the stream before another commit landed starts at a version that
 *   commit already starts at, so it conflicts the same way.)
 * - A global order that readers can follow without skipping: a commit takes the positions
 *   right after the highest one written (lastPosition + 1 …), and its first position is
 *   its primary key. Two writers that try the same position collide; the loser looks up
 *   the winner (by key) and tries right after it. So a commit at position p is only ever inserted
 *   after the commit ending at p - 1 exists: positions become visible in order, with no
 *   hole for a late commit to fill, and readAll can page by position alone. (Paging by a
 *   sequence allocated before a commit is the trap the Postgres adapter avoids with
 *   transaction ids; here nothing is allocated before the insert that makes it visible.)
 *   The price: appends to the whole store serialize on the next position (one insert at
 *   a time wins it; the losers retry), which bench/event-store-append-rate.ts measures
 *   against the Postgres store (`npm run bench -- event-store-append-rate`).
 *
 * A duplicate key does not say which index refused it (FerretDB names no index), so the
 * store looks up the commit at the position it tried: none there means the stream's index
 * refused it (a conflict); one there means the position was taken, and the next try finds
 * out whether the stream was too. Each process remembers where the log ended after its
 * last append, so a writer usually finds the next free position at once.
 *
 * FerretDB 1.24 on SQLite pushes down no filter but string primary-key equality, so the
 * other reads (a stream's head, readStream, readAll) scan the collection there: fine for
 * the local stack and tests; on MongoDB the indexes made by migrate() serve them.
 */
export class MongoEventStore implements EventStore {
  private readonly commits: Collection<CommitDocument>;
  private readonly onAppended: () => void;
  private readonly maxEventBytes: number;
  /** Where this process last saw the log end: a guess for the next commit's position (0: none yet). */
  private nextPosition = 0;
  /**
   * Streams' versions as this process last wrote or read them, most recent last. Versions
   * only grow, so a remembered one is a lower bound: an expected version below it is a
   * conflict at once, one equal to it is tried without a read (should the stream have moved
   * on, the insert collides with the commit that moved it). Only other cases read.
   */
  private readonly heads = new Map<string, number>();
  /**
   * The end of the queue of this process's commits: they take positions one at a time.
   * Racing each other for the same position would cost a failed insert per loser and
   * round (measured: 8 concurrent loops made 41 appends/s, one loop 905).
   */
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    db: Db,
    options: {
      /** Collection of commit documents (default `events`). */
      collection?: string;
      /** Called after each committed append (e.g. to ring the relay's doorbell). */
      onAppended?: () => void;
      /** Largest event accepted, in bytes of JSON (default DEFAULT_MAX_EVENT_BYTES, as Postgres'). */
      maxEventBytes?: number;
    } = {},
  ) {
    this.commits = db.collection<CommitDocument>(options.collection ?? 'events', durable);
    this.onAppended = options.onAppended ?? (() => {});
    this.maxEventBytes = options.maxEventBytes ?? DEFAULT_MAX_EVENT_BYTES;
  }

  /** Creates the unique indexes the store relies on, and those its reads use (idempotent). */
  async migrate(): Promise<void> {
    await this.commits.createIndex({ streamId: 1, first: 1 }, { unique: true, name: 'stream_version' });
    await this.commits.createIndex({ lastPosition: 1 }, { name: 'global_last_position' });
  }

  async append(streamType: string, streamId: string, events: NewEvent[], expected: ExpectedVersion, options: AppendOptions = {}): Promise<AppendResult> {
    if (events.length === 0) throw new Error('append needs at least one event');
    if (options.inTransaction) throw new Error('the MongoDB event store has no transactions to run inTransaction in');
    checkStreamName('streamType', streamType);
    checkStreamName('streamId', streamId);
    const encoded = events.map((e) => {
      const data = JSON.stringify(e.data);
      const metadata = JSON.stringify(e.metadata ?? {});
      const bytes = Buffer.byteLength(data) + Buffer.byteLength(metadata);
      if (bytes > this.maxEventBytes) {
        throw new ValidationError('events', `${e.type} for ${streamType} ${streamId} is ${bytes} bytes, over the limit of ${this.maxEventBytes} bytes per event`);
      }
      return { id: e.id ?? randomUUID(), type: e.type, data, metadata };
    });
    const known = this.heads.get(streamId);
    const expectedVersion = expected === 'no_stream' ? 0 : expected;
    const head = known !== undefined && expectedVersion !== 'any' && known >= expectedVersion ? known : await this.streamVersion(streamId);
    if (expectedVersion !== 'any' && head !== expectedVersion) {
      throw new ConcurrencyError(`expected_version: stream ${streamId} is at version ${head}, not ${expectedVersion}`);
    }
    const turn = this.queue.then(() => this.insertCommit(streamType, streamId, head, encoded));
    this.queue = turn.catch(() => undefined);
    const result = await turn;
    this.onAppended();
    return result;
  }

  /** Inserts the commit after `head` at the next free global position (see the class comment). */
  private async insertCommit(streamType: string, streamId: string, head: number, encoded: CommitDocument['events']): Promise<AppendResult> {
    let position = this.nextPosition || (await this.lastPosition()) + 1;
    let walked = 0;
    for (let attempt = 0; attempt < MAX_POSITION_ATTEMPTS; attempt++) {
      const commit: CommitDocument = {
        _id: positionKey(position),
        streamType,
        streamId,
        first: head + 1,
        last: head + encoded.length,
        position,
        lastPosition: position + encoded.length - 1,
        committedAt: new Date(),
        events: encoded,
      };
      try {
        await this.commits.insertOne(commit);
        this.nextPosition = Math.max(this.nextPosition, commit.lastPosition + 1);
        this.remember(streamId, commit.last);
        return { version: commit.last, position: commit.lastPosition };
      } catch (err) {
        if (!(err instanceof MongoServerError) || err.code !== DUPLICATE_KEY) {
          // The insert may or may not have landed, and the log's end may have moved back (a
          // failover's rollback): a guess kept now could leave a hole a later commit fills
          // behind the relay. The next append asks the server where the log ends.
          this.nextPosition = 0;
          throw err;
        }
        // Read at `local`: the holder may not be majority-committed yet. Walking past it is
        // safe even so: an oplog entry of ours after it is majority-committed only with it.
        const holder = await this.commits.findOne({ _id: commit._id }, { projection: { lastPosition: 1 }, readConcern: { level: 'local' } });
        if (!holder) throw new ConcurrencyError(`stream ${streamId} was changed by another writer`);
        // Taken: right after the commit holding it, or after the end of the log when far behind.
        position = ++walked <= MAX_WALK ? holder.lastPosition + 1 : (await this.lastPosition()) + 1;
        if (walked > MAX_WALK) walked = 0;
      }
    }
    throw new Error(`append to ${streamId}: no free global position after ${MAX_POSITION_ATTEMPTS} tries`);
  }

  async readStream(streamId: string, options: { after?: number; upTo?: number } = {}): Promise<RecordedEvent[]> {
    checkStreamName('streamId', streamId);
    const after = options.after ?? 0;
    const upTo = options.upTo ?? Number.MAX_SAFE_INTEGER;
    const commits = await this.commits
      .find({ streamId, last: { $gt: after }, first: { $lte: upTo } })
      .sort({ first: 1 })
      .toArray();
    const events = commits.flatMap(recorded);
    if (options.upTo === undefined && commits.length > 0) this.remember(streamId, commits.at(-1)!.last);
    return events.filter((e) => e.version > after && e.version <= upTo);
  }

  /**
   * Events after `checkpoint` (the last position read, as decimal text) in position order.
   * A page may end inside a commit: each event's checkpoint is its own position.
   */
  async readAll(checkpoint: GlobalCheckpoint, options: { limit?: number; streamTypes?: string[] } = {}): Promise<StoredEvent[]> {
    const from = decodeCheckpoint(checkpoint);
    if (options.streamTypes !== undefined) {
      if (!Array.isArray(options.streamTypes)) throw new ValidationError('streamTypes', 'must be a list of stream types');
      for (const type of options.streamTypes) checkStreamName('streamTypes', type);
    }
    const limit = options.limit ?? 1000;
    const commits = await this.commits
      .find({ lastPosition: { $gt: from }, ...(options.streamTypes ? { streamType: { $in: options.streamTypes } } : {}) })
      .sort({ _id: 1 })
      // Every commit holds at least one event: `limit` commits hold at least `limit` events.
      .limit(limit)
      .toArray();
    return commits
      .flatMap(recorded)
      .filter((e) => e.position > from)
      .slice(0, limit)
      .map((e) => ({ ...e, checkpoint: String(e.position) }));
  }

  private async streamVersion(streamId: string): Promise<number> {
    const latest = await this.commits.find({ streamId }, { projection: { last: 1 } }).sort({ first: -1 }).limit(1).next();
    const version = latest?.last ?? 0;
    this.remember(streamId, version);
    return version;
  }

  private remember(streamId: string, version: number): void {
    const known = this.heads.get(streamId) ?? 0;
    this.heads.delete(streamId);
    this.heads.set(streamId, Math.max(known, version));
    if (this.heads.size > MAX_REMEMBERED_STREAMS) this.heads.delete(this.heads.keys().next().value!);
  }

  private async lastPosition(): Promise<number> {
    const latest = await this.commits.find({}, { projection: { lastPosition: 1 } }).sort({ _id: -1 }).limit(1).next();
    return latest?.lastPosition ?? 0;
  }
}

/**
 * A stream id or type goes into queries as a value: anything but a string (an object such
 * as `{ $ne: null }` would be a query operator) or a string longer than
 * MAX_STREAM_NAME_LENGTH is refused here, at the adapter's entry.
 */
function checkStreamName(field: string, value: unknown): asserts value is string {
  if (typeof value !== 'string' || value.length === 0) throw new ValidationError(field, `must be a non-empty string, not ${value === '' ? 'empty' : typeof value}`);
  if (value.length > MAX_STREAM_NAME_LENGTH) throw new ValidationError(field, `is ${value.length} characters, over the limit of ${MAX_STREAM_NAME_LENGTH}`);
}

function decodeCheckpoint(checkpoint: GlobalCheckpoint): number {
  if (checkpoint === '') return 0;
  if (!/^\d+$/.test(checkpoint)) throw new Error(`not a MongoDB event store checkpoint: ${JSON.stringify(checkpoint)}`);
  return Number(checkpoint);
}

function recorded(c: CommitDocument): RecordedEvent[] {
  return c.events.map((e, i) => ({
    id: e.id,
    type: e.type,
    streamId: c.streamId,
    streamType: c.streamType,
    version: c.first + i,
    position: c.position + i,
    occurredAt: c.committedAt.toISOString(),
    data: JSON.parse(e.data) as unknown,
    metadata: JSON.parse(e.metadata) as EventMetadata,
  }));
}
