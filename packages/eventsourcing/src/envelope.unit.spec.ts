import test from 'ava';
import { isTraceparent, toKafkaMessage } from './envelope.js';
import type { RecordedEvent } from './types.js';

const event = (traceparent: string | undefined): RecordedEvent => ({
  id: '6f1c1f4e-6c1a-4d55-9d1e-0b8c2b3f9a10',
  type: 'shop.test.v1.Happened',
  streamId: 's-1',
  streamType: 'test',
  version: 1,
  position: 1,
  occurredAt: '2026-01-01T00:00:00.000Z',
  data: {},
  metadata: traceparent === undefined ? {} : { traceparent },
});

const valid = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';

test('a well-formed traceparent travels as a Kafka header', (t) => {
  t.is(toKafkaMessage(event(valid)).headers.traceparent, valid);
});

test('a malformed traceparent stays out of the headers (the event still goes)', (t) => {
  for (const bad of [
    'hello',
    `${valid}\r\nx-injected: 1`,
    '00-4BF92F3577B34DA6A3CE929D0E0E4736-00F067AA0BA902B7-01',
    '00-00000000000000000000000000000000-00f067aa0ba902b7-01',
    '00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01',
    'ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01',
    'x'.repeat(10_000),
  ]) {
    t.false(isTraceparent(bad), bad.slice(0, 60));
    const message = toKafkaMessage(event(bad));
    t.false('traceparent' in message.headers, bad.slice(0, 60));
    t.is(message.headers.id, '6f1c1f4e-6c1a-4d55-9d1e-0b8c2b3f9a10');
  }
});
