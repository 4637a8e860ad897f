import { randomUUID } from 'node:crypto';
import { ErrorType, FORWARDS, jsonEvent, type JSONType, type KurrentDBClient, type Position } from '@kurrent/kurrentdb-client';
import { ValidationError } from '@shop/platform/errors';
import { DEFAULT_MAX_EVENT_BYTES } from '../limits.js';
import type { AppendOptions, AppendResult, EventStore, ExpectedVersion, GlobalCheckpoint, NewEvent, RecordedEvent, StoredEvent } from '../types.js';
import {
  allFilter,
  comparePositions,
  decodeCheckpoint,
  encodeCheckpoint,
  expectedStreamState,
  ownEvent,
  positionOf,
  storedMetadata,
  streamName,
  toRecorded,
  toStoreError,
  versionOf,
} from './mapping.js';

/** The client calls the store makes (a KurrentDBClient; narrowed so that the store says what it needs). */
export type EventStoreDbClient = Pick<KurrentDBClient, 'appendToStream' | 'readStream' | 'readAll'>;

/** Streams whose type this process remembers (least recently used out first). */
const MAX_REMEMBERED_STREAMS = 10_000;

/**
 * The event store on KurrentDB / EventStoreDB (the gRPC client @kurrent/kurrentdb-client).
 * KurrentDB is an event store already, so the port maps onto it almost one to one:
 *
 * - A stream is the server's stream `<streamType>-<streamId>`; its events are JSON events
 *   with the caller's id, type, data and metadata, and the stream type in the metadata.
 * - Expected versions are the server's expected revision (version n = revision n - 1,
 *   version 0 = no stream), checked atomically by the server; a wrong one is the
 *   ConcurrencyError of the other adapters. An append's events are written together or not.
 * - readAll reads $all, which the server writes in one order and shows only up to what it
 *   committed: nothing becomes visible behind a reader. The server filters by stream-name
 *   prefix; the checkpoint is the event's $all position (commit/prepare).
 *
 * The port reads a stream by id alone, but the server's stream name needs the type: the
 * store looks the id up under the types given as `streamTypes` (in order; the types a
 * process's aggregates have, e.g. ['cart']) after those it saw the id with itself.
 *
 * There are no transactions to run `inTransaction` in: an append that asks for one is refused.
 */
export class EventStoreDbEventStore implements EventStore {
  private readonly client: EventStoreDbClient;
  private readonly streamTypes: string[];
  private readonly onAppended: () => void;
  private readonly maxEventBytes: number;
  /** The type each recently written or read stream id has here, most recent last. */
  private readonly typeOf = new Map<string, string>();

  constructor(
    client: EventStoreDbClient,
    options: {
      /** The stream types readStream looks an id up in (see the class comment). */
      streamTypes: string[];
      /** Called after each committed append (e.g. to ring the relay's doorbell). */
      onAppended?: () => void;
      /** Largest event accepted, in bytes of JSON (default DEFAULT_MAX_EVENT_BYTES, as Postgres'). */
      maxEventBytes?: number;
    },
  ) {
    this.client = client;
    this.streamTypes = options.streamTypes;
    this.onAppended = options.onAppended ?? (() => {});
    this.maxEventBytes = options.maxEventBytes ?? DEFAULT_MAX_EVENT_BYTES;
  }

  async append(streamType: string, streamId: string, events: NewEvent[], expected: ExpectedVersion, options: AppendOptions = {}): Promise<AppendResult> {
    if (events.length === 0) throw new Error('append needs at least one event');
    if (options.inTransaction) throw new Error('the EventStoreDB event store has no transactions to run inTransaction in');
    const data = events.map((e) => {
      const metadata = storedMetadata(streamType, e.metadata);
      const bytes = Buffer.byteLength(JSON.stringify(e.data)) + Buffer.byteLength(JSON.stringify(metadata));
      if (bytes > this.maxEventBytes) {
        throw new ValidationError('events', `${e.type} for ${streamType} ${streamId} is ${bytes} bytes, over the limit of ${this.maxEventBytes} bytes per event`);
      }
      return jsonEvent({ id: e.id ?? randomUUID(), type: e.type, data: e.data as JSONType, metadata });
    });
    const name = streamName(streamType, streamId);
    let result;
    try {
      result = await this.client.appendToStream(name, data, { streamState: expectedStreamState(expected) });
    } catch (err) {
      throw toStoreError(err, streamId, expected);
    }
    this.remember(streamId, streamType);
    this.onAppended();
    return { version: versionOf(result.nextExpectedRevision), position: await this.lastPosition(name, result.nextExpectedRevision, events.length, result.position) };
  }

  /**
   * The global position of an append's last event. The server answers one position per
   * append; for one event that is the event's own, for several it is not said to be the
   * last one's, so the last event is read back (by its revision: it is that append's).
   */
  private async lastPosition(name: string, revision: bigint, count: number, answered: Position | undefined): Promise<number> {
    if (count === 1 && answered) return positionOf(answered);
    for await (const resolved of this.client.readStream(name, { fromRevision: revision, maxCount: 1, direction: FORWARDS })) {
      return positionOf(resolved.event?.position);
    }
    return positionOf(answered);
  }

  async readStream(streamId: string, options: { after?: number; upTo?: number } = {}): Promise<RecordedEvent[]> {
    const after = options.after ?? 0;
    if (options.upTo !== undefined && options.upTo <= after) return [];
    const known = this.typeOf.get(streamId);
    for (const streamType of known ? [known, ...this.streamTypes.filter((t) => t !== known)] : this.streamTypes) {
      const events = await this.readStreamOf(streamType, streamId, after, options.upTo);
      if (events) {
        this.remember(streamId, streamType);
        return events;
      }
    }
    return [];
  }

  /** The stream's events after `after`, or undefined when no stream of that type has the id. */
  private async readStreamOf(streamType: string, streamId: string, after: number, upTo: number | undefined): Promise<RecordedEvent[] | undefined> {
    const events: RecordedEvent[] = [];
    try {
      const read = this.client.readStream(streamName(streamType, streamId), {
        // Version after + 1 is revision `after`.
        fromRevision: BigInt(after),
        maxCount: upTo === undefined ? Number.MAX_SAFE_INTEGER : upTo - after,
        direction: FORWARDS,
      });
      for await (const resolved of read) {
        const event = resolved.event && toRecorded(resolved.event);
        if (event) events.push(event);
      }
    } catch (err) {
      if ((err as { type?: unknown } | null)?.type === ErrorType.STREAM_NOT_FOUND) return undefined;
      throw err;
    }
    return events;
  }

  /**
   * Events after `checkpoint` in $all's order, of these stream types (default: every event
   * this store wrote). The server's prefix filter may pass events a reader must skip (another
   * store's, a longer type with the same prefix): pages are read until `limit` events are
   * found or $all ends, so a run of skipped events never looks like the end.
   */
  async readAll(checkpoint: GlobalCheckpoint, options: { limit?: number; streamTypes?: string[] } = {}): Promise<StoredEvent[]> {
    const limit = options.limit ?? 1000;
    const filter = allFilter(options.streamTypes);
    const found: StoredEvent[] = [];
    // Reads start at a position, inclusive or not depending on the server: what is not after it is skipped.
    let seen = decodeCheckpoint(checkpoint);
    for (;;) {
      let read = 0;
      for await (const resolved of this.client.readAll({ fromPosition: seen ?? 'start', maxCount: limit + 1, direction: FORWARDS, filter })) {
        read++;
        const raw = resolved.event;
        if (!raw || (seen && comparePositions(raw.position, seen) <= 0)) continue;
        seen = raw.position;
        const event = toRecorded(raw);
        if (!ownEvent(event, options.streamTypes)) continue;
        found.push({ ...event, checkpoint: encodeCheckpoint(raw.position) });
        if (found.length === limit) return found;
      }
      if (read < limit + 1) return found;
    }
  }

  private remember(streamId: string, streamType: string): void {
    this.typeOf.delete(streamId);
    this.typeOf.set(streamId, streamType);
    if (this.typeOf.size > MAX_REMEMBERED_STREAMS) this.typeOf.delete(this.typeOf.keys().next().value!);
  }
}
