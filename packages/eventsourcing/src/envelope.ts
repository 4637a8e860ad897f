import type { IHeaders } from 'kafkajs';
import type { RecordedEvent } from './types.js';

/**
 * The envelope on Kafka: the value is the event's envelope in proto3 JSON
 * (shop.common.v1.EventEnvelope), the key its stream id (one stream stays in one
 * partition, in order), and the headers repeat what a consumer routes on.
 */
export function toKafkaMessage(e: RecordedEvent): { key: string; value: string; headers: IHeaders } {
  // Only the envelope's fields: a StoredEvent's checkpoint is the store's, not the message's.
  const envelope: RecordedEvent = {
    id: e.id,
    type: e.type,
    streamId: e.streamId,
    streamType: e.streamType,
    version: e.version,
    position: e.position,
    occurredAt: e.occurredAt,
    data: e.data,
    metadata: e.metadata,
  };
  return {
    key: e.streamId,
    value: JSON.stringify(envelope),
    headers: {
      'content-type': 'application/json',
      type: e.type,
      id: e.id,
      version: String(e.version),
      // Only a well-formed one: consumers continue the trace from this header, and a
      // header is no place for whatever text a caller put in the metadata.
      ...(isTraceparent(e.metadata.traceparent) ? { traceparent: e.metadata.traceparent } : {}),
    },
  };
}

/** Parses a Kafka message value back into an envelope; throws on anything malformed. */
export function fromKafkaValue(value: Buffer | null): RecordedEvent {
  if (!value) throw new Error('empty message');
  const e = JSON.parse(value.toString('utf8')) as Partial<RecordedEvent>;
  if (typeof e.id !== 'string' || typeof e.type !== 'string' || typeof e.streamId !== 'string' || typeof e.streamType !== 'string') {
    throw new Error('not an event envelope (id, type, streamId, streamType required)');
  }
  if (typeof e.version !== 'number' || !Number.isSafeInteger(e.version) || e.version < 1) throw new Error('envelope version must be a positive integer');
  return {
    id: e.id,
    type: e.type,
    streamId: e.streamId,
    streamType: e.streamType,
    version: e.version,
    position: typeof e.position === 'number' ? e.position : 0,
    occurredAt: typeof e.occurredAt === 'string' ? e.occurredAt : new Date(0).toISOString(),
    data: e.data ?? {},
    metadata: e.metadata ?? {},
  };
}

/**
 * A W3C trace-context `traceparent` (version 00 layout): version-traceid-parentid-flags in
 * lower-case hex, version ff and all-zero ids being invalid.
 * https://www.w3.org/TR/trace-context/#traceparent-header
 */
export function isTraceparent(value: unknown): value is string {
  if (typeof value !== 'string') return false;
  const m = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/.exec(value);
  return m !== null && m[1] !== 'ff' && !/^0+$/.test(m[2]!) && !/^0+$/.test(m[3]!);
}
