/**
 * An in-memory stand-in for the few KurrentDB client calls the adapter makes, for the unit
 * specs: no KurrentDB/EventStoreDB server can be installed on the machines this was written
 * on. It follows the server's documented behaviour where the adapter depends on it, choosing
 * the less convenient reading where the documentation leaves room:
 *
 * - Expected revisions are checked atomically per append; a wrong one is the client's
 *   WrongExpectedVersionError. A missing stream is StreamNotFoundError, thrown while reading.
 * - The log: each event has its own prepare position; all events of one append share one
 *   commit position (the first's prepare); $all is ordered by (commit, prepare).
 * - An append answers one position, the append's commit position (not its last event's).
 * - Stream reads carry no commit position (the "none" value), only the prepare position.
 * - $all reads start at their position inclusive, subscriptions after it; filters on a
 *   stream-name prefix or an event-type regex; stream metadata is a `$metadata` event in
 *   the system stream `$$<stream>`.
 *
 * It proves the adapter's logic against that model, not its compatibility with a server:
 * that is what store.int.spec.ts checks with EVENTSTORE_URL.
 */
import { PassThrough } from 'node:stream';
import {
  ANY,
  BACKWARDS,
  END,
  NO_STREAM,
  START,
  STREAM_EXISTS,
  StreamNotFoundError,
  WrongExpectedVersionError,
  type AllStreamResolvedEvent,
  type AllStreamSubscription,
  type AppendResult,
  type AppendStreamState,
  type EventData,
  type Filter,
  type KurrentDBClient,
  type Position,
  type ReadAllOptions,
  type ReadStreamOptions,
  type ResolvedEvent,
  type SubscribeToAllOptions,
} from '@kurrent/kurrentdb-client';
import { comparePositions } from './mapping.js';

interface LogRecord {
  streamId: string;
  id: string;
  revision: bigint;
  type: string;
  data: unknown;
  metadata: unknown;
  isJson: boolean;
  created: Date;
  position: Position;
}

const NO_POSITION = 2n ** 64n - 1n;

export type FakeClient = Pick<KurrentDBClient, 'appendToStream' | 'readStream' | 'readAll' | 'subscribeToAll' | 'setStreamMetadata'>;

export function fakeKurrentClient(): FakeClient & { log: LogRecord[] } {
  const log: LogRecord[] = [];
  const streams = new Map<string, LogRecord[]>();
  const subscribers = new Set<(record: LogRecord) => void>();
  // Log positions start past the server's own first records, and events take room in the log.
  let nextPosition = 1_000n;

  const write = (streamName: string, events: EventData[], state: AppendStreamState): AppendResult => {
    const stream = streams.get(streamName) ?? [];
    const current = stream.length === 0 ? NO_STREAM : stream.at(-1)!.revision;
    const fits = state === ANY || (state === NO_STREAM ? current === NO_STREAM : state === STREAM_EXISTS ? current !== NO_STREAM : current === state);
    if (!fits) throw new WrongExpectedVersionError(undefined, { streamName, expected: state, current });
    const commit = nextPosition;
    const records = events.map((e, i): LogRecord => {
      const position = { commit, prepare: nextPosition };
      nextPosition += 100n;
      return { streamId: streamName, id: e.id, revision: BigInt(stream.length + i), type: e.type, data: e.data, metadata: e.metadata, isJson: e.contentType === 'application/json', created: new Date(), position };
    });
    streams.set(streamName, [...stream, ...records]);
    log.push(...records);
    for (const record of records) for (const notify of subscribers) notify(record);
    return { success: true, nextExpectedRevision: records.at(-1)!.revision, position: { commit, prepare: commit } };
  };

  const matches = (record: LogRecord, filter: Filter | undefined) => {
    if (!filter) return true;
    const subject = filter.filterOn === 'streamName' ? record.streamId : record.type;
    return 'prefixes' in filter ? filter.prefixes.some((p) => subject.startsWith(p)) : new RegExp(filter.regex).test(subject);
  };
  const allEvent = (record: LogRecord): AllStreamResolvedEvent => ({ event: { ...record } as never });

  return {
    log,
    async appendToStream(streamName, events, options = {}) {
      // Appends reach the server one at a time: the check and the write are one step.
      await new Promise((r) => setImmediate(r));
      return write(streamName, (Array.isArray(events) ? events : [events]) as EventData[], options.streamState ?? ANY);
    },
    readStream(streamName: string, options: ReadStreamOptions = {}) {
      return (async function* () {
        await new Promise((r) => setImmediate(r));
        const stream = streams.get(streamName);
        if (!stream) throw new StreamNotFoundError(undefined, streamName);
        const backwards = options.direction === BACKWARDS;
        const from = options.fromRevision ?? (backwards ? END : START);
        let records = backwards ? [...stream].reverse() : stream;
        if (typeof from === 'bigint') records = records.filter((r) => (backwards ? r.revision <= from : r.revision >= from));
        for (const record of records.slice(0, Number(options.maxCount ?? Number.MAX_SAFE_INTEGER))) {
          yield { event: { ...record, position: { commit: NO_POSITION, prepare: record.position.prepare } } } as ResolvedEvent;
        }
      })() as never;
    },
    readAll(options: ReadAllOptions = {}) {
      return (async function* () {
        await new Promise((r) => setImmediate(r));
        const from = options.fromPosition ?? START;
        const records = log.filter((r) => (typeof from === 'object' ? comparePositions(r.position, from) >= 0 : from === START) && matches(r, options.filter));
        for (const record of records.slice(0, Number(options.maxCount ?? Number.MAX_SAFE_INTEGER))) yield allEvent(record);
      })();
    },
    subscribeToAll(options: SubscribeToAllOptions = {}) {
      const from = options.fromPosition ?? START;
      const subscription = new PassThrough({ objectMode: true }) as unknown as AllStreamSubscription;
      let live = false;
      const send = (record: LogRecord) => {
        if (matches(record, options.filter)) (subscription as unknown as PassThrough).write(allEvent(record));
      };
      // Catching up reads the log as it is then; appends before that are in it, later ones are sent live.
      const listener = (record: LogRecord) => live && send(record);
      let closed = false;
      subscribers.add(listener);
      setImmediate(() => {
        if (closed) return;
        if (from !== END) for (const record of log) if (from === START || comparePositions(record.position, from) > 0) send(record);
        live = true;
      });
      subscription.unsubscribe = async () => {
        closed = true;
        subscribers.delete(listener);
        (subscription as unknown as PassThrough).end();
      };
      return subscription;
    },
    async setStreamMetadata(streamName, metadata) {
      await new Promise((r) => setImmediate(r));
      return write(`$$${streamName}`, [{ id: crypto.randomUUID(), contentType: 'application/json', type: '$metadata', data: metadata, metadata: undefined } as EventData], ANY);
    },
  };
}
