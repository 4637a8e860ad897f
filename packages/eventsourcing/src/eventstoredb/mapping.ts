/**
 * The pure translations between the event store port and KurrentDB (EventStoreDB): stream
 * names, expected versions, errors, checkpoints, $all filters and recorded events. Kept apart
 * from the client calls so that they are tested without a server (mapping.unit.spec.ts).
 */
import {
  ANY,
  ErrorType,
  NO_STREAM,
  START as CLIENT_START,
  excludeSystemEvents,
  streamNameFilter,
  type AllStreamRecordedEvent,
  type AppendStreamState,
  type Filter,
  type Position,
  type ReadPosition,
  type RecordedEvent as ClientRecordedEvent,
} from '@kurrent/kurrentdb-client';
import { ConcurrencyError } from '@shop/platform/errors';
import { START, type EventMetadata, type ExpectedVersion, type GlobalCheckpoint, type RecordedEvent } from '../types.js';

/** The stream of `streamId` of type `streamType`: `<streamType>-<streamId>` (KurrentDB's category convention, `$ce-cart`). */
export function streamName(streamType: string, streamId: string): string {
  return `${streamType}-${streamId}`;
}

/** The prefix every stream of a type starts with (a type `cart` must not match `cartography-…`). */
export function streamPrefix(streamType: string): string {
  return `${streamType}-`;
}

/**
 * The port's expected version as the client's stream state: a stream's version n is its
 * revision n - 1 (versions count from 1, revisions from 0), and version 0 is no stream.
 */
export function expectedStreamState(expected: ExpectedVersion): AppendStreamState {
  if (expected === 'any') return ANY;
  if (expected === 'no_stream' || expected === 0) return NO_STREAM;
  if (!Number.isSafeInteger(expected) || expected < 0) throw new Error(`expected version must be 'no_stream', 'any' or a version ≥ 0, not ${expected}`);
  return BigInt(expected - 1);
}

/** The stream's version after an append, from the client's next expected revision (the last event's revision). */
export function versionOf(revision: bigint): number {
  return Number(revision) + 1;
}

/**
 * The client's WrongExpectedVersionError as the ConcurrencyError every adapter throws
 * (the command handler retries on it); anything else unchanged. Matched by the error's
 * type rather than its class: the client makes it on two paths (gRPC and its native bridge).
 */
export function toStoreError(err: unknown, streamId: string, expected: ExpectedVersion): unknown {
  if ((err as { type?: unknown } | null)?.type !== ErrorType.WRONG_EXPECTED_VERSION) return err;
  const actual = (err as { actualState?: unknown }).actualState;
  const at = typeof actual === 'bigint' ? `version ${versionOf(actual)}` : actual === NO_STREAM ? 'no stream' : 'another version';
  return new ConcurrencyError(`expected_version: stream ${streamId} is at ${at}, not ${expected === 'no_stream' ? 0 : expected}`);
}

/** A position in $all as the adapter's checkpoint: `<commit>/<prepare>`, opaque to everything else. */
export function encodeCheckpoint(position: Position): GlobalCheckpoint {
  return `${position.commit}/${position.prepare}`;
}

/** undefined for START (before the first event). */
export function decodeCheckpoint(checkpoint: GlobalCheckpoint): Position | undefined {
  if (checkpoint === START) return undefined;
  const match = /^(\d+)\/(\d+)$/.exec(checkpoint);
  if (!match) throw new Error(`not an EventStoreDB event store checkpoint: ${JSON.stringify(checkpoint)}`);
  return { commit: BigInt(match[1]!), prepare: BigInt(match[2]!) };
}

/** Where a read or subscription of $all starts for a checkpoint. */
export function readPositionOf(checkpoint: GlobalCheckpoint): ReadPosition {
  return decodeCheckpoint(checkpoint) ?? CLIENT_START;
}

/** $all's order: by commit position, then prepare position. */
export function comparePositions(a: Position, b: Position): number {
  if (a.commit !== b.commit) return a.commit < b.commit ? -1 : 1;
  return a.prepare === b.prepare ? 0 : a.prepare < b.prepare ? -1 : 1;
}

/**
 * The server-side filter of a read or subscription of $all: the streams of these types by
 * name prefix, or without types every event but the system's (type starting with `$`).
 * A prefix can match a longer type (`a-` matches type `a-b`'s streams): readers check each
 * event's own type as well (ownEvent).
 */
export function allFilter(streamTypes?: string[]): Filter {
  if (streamTypes === undefined) return excludeSystemEvents();
  if (streamTypes.length === 0) throw new Error('streamTypes, when given, needs at least one type');
  return streamNameFilter({ prefixes: streamTypes.map(streamPrefix) });
}

/**
 * The key of the event's metadata that names its stream type: a stream name alone does not
 * say where a type containing '-' ends. Events without it were not written by this store
 * (the relay's own streams, anything else on the server) and readers of $all skip them.
 */
const STREAM_TYPE_KEY = '$streamType';

/** The metadata stored with an event: the caller's, plus the stream type. */
export function storedMetadata(streamType: string, metadata: EventMetadata | undefined): Record<string, unknown> {
  return { ...metadata, [STREAM_TYPE_KEY]: streamType };
}

/** The event as the port records it, or undefined when this store did not write it. */
export function toRecorded(event: ClientRecordedEvent | AllStreamRecordedEvent): RecordedEvent | undefined {
  const stored = event.metadata;
  if (!event.isJson || stored === null || typeof stored !== 'object' || Array.isArray(stored) || stored instanceof Uint8Array) return undefined;
  const { [STREAM_TYPE_KEY]: streamType, ...metadata } = stored as Record<string, unknown>;
  if (typeof streamType !== 'string' || !event.streamId.startsWith(streamPrefix(streamType))) return undefined;
  return {
    id: event.id,
    type: event.type,
    streamId: event.streamId.slice(streamPrefix(streamType).length),
    streamType,
    version: versionOf(event.revision),
    position: positionOf(event.position),
    occurredAt: event.created.toISOString(),
    data: event.data,
    metadata: metadata as EventMetadata,
  };
}

/** "No position": what a server answers for the commit position of an event read from a stream (it reads the index, not the log). */
const NO_POSITION = 2n ** 64n - 1n;

/**
 * An event's global position as the port's number: its prepare position, which is its own
 * place in the log. The commit position is shared by all events of one append, and a stream
 * read gives none, while servers since EventStoreDB 20.6 send the prepare position on both
 * stream and $all reads. 0 when the server sent none (the core reads positions only from
 * readAll and append results).
 */
export function positionOf(position: Position | undefined): number {
  if (!position || position.prepare === NO_POSITION) return 0;
  return Number(position.prepare);
}

/** The events of an $all read that belong to these stream types (all of this store's, without types). */
export function ownEvent(event: RecordedEvent | undefined, streamTypes?: string[]): event is RecordedEvent {
  return event !== undefined && (streamTypes === undefined || streamTypes.includes(event.streamType));
}
