import test from 'ava';
import { WrongExpectedVersionError, StreamNotFoundError, type AllStreamRecordedEvent } from '@kurrent/kurrentdb-client';
import { ConcurrencyError } from '@shop/platform/errors';
import { START } from '../types.js';
import {
  allFilter,
  comparePositions,
  decodeCheckpoint,
  encodeCheckpoint,
  expectedStreamState,
  ownEvent,
  positionOf,
  readPositionOf,
  storedMetadata,
  streamName,
  toRecorded,
  toStoreError,
  versionOf,
} from './mapping.js';

// The pure half of the EventStoreDB adapter: what can be checked without a server (none can be installed here).

test('a stream is <streamType>-<streamId> on the server', (t) => {
  t.is(streamName('cart', '6f1c'), 'cart-6f1c');
});

test('expected versions map to expected revisions: a version is its revision + 1, version 0 is no stream', (t) => {
  t.is(expectedStreamState('no_stream'), 'no_stream');
  t.is(expectedStreamState(0), 'no_stream');
  t.is(expectedStreamState('any'), 'any');
  t.is(expectedStreamState(1), 0n);
  t.is(expectedStreamState(7), 6n);
  t.throws(() => expectedStreamState(-1), { message: /version ≥ 0/ });
  t.throws(() => expectedStreamState(1.5), { message: /version ≥ 0/ });
  t.is(versionOf(0n), 1);
  t.is(versionOf(6n), 7);
});

test('the server\'s wrong expected version is the ConcurrencyError of the other adapters, naming the stream and both versions', (t) => {
  const wrong = new WrongExpectedVersionError(undefined, { streamName: 'cart-s1', expected: 2n, current: 4n });
  const mapped = toStoreError(wrong, 's1', 3);
  t.true(mapped instanceof ConcurrencyError);
  t.is((mapped as Error).message, 'expected_version: stream s1 is at version 5, not 3');
  const missing = toStoreError(new WrongExpectedVersionError(undefined, { streamName: 'cart-s2', expected: 0n, current: 'no_stream' }), 's2', 1);
  t.is((missing as Error).message, 'expected_version: stream s2 is at no stream, not 1');
  const taken = toStoreError(new WrongExpectedVersionError(undefined, { streamName: 'cart-s3', expected: 'no_stream', current: 0n }), 's3', 'no_stream');
  t.is((taken as Error).message, 'expected_version: stream s3 is at version 1, not 0');
});

test('other errors pass through unchanged', (t) => {
  const notFound = new StreamNotFoundError(undefined, 'cart-s1');
  t.is(toStoreError(notFound, 's1', 1), notFound);
  const plain = new Error('unavailable');
  t.is(toStoreError(plain, 's1', 1), plain);
});

test('a checkpoint is the $all position, and comes back exactly, beyond 2^53 too', (t) => {
  const position = { commit: 2n ** 60n + 3n, prepare: 2n ** 60n + 1n };
  const checkpoint = encodeCheckpoint(position);
  t.is(checkpoint, '1152921504606846979/1152921504606846977');
  t.deepEqual(decodeCheckpoint(checkpoint), position);
  t.deepEqual(readPositionOf(checkpoint), position);
});

test('START reads $all from its start; a checkpoint of another adapter is refused, not misread', (t) => {
  t.is(decodeCheckpoint(START), undefined);
  t.is(readPositionOf(START), 'start');
  // The Postgres adapter's and the MongoDB adapter's shapes.
  for (const foreign of ['{"transactionId":"10","position":3}', '42', '12/x', '-1/2']) {
    t.throws(() => decodeCheckpoint(foreign), { message: /not an EventStoreDB event store checkpoint/ }, foreign);
  }
});

test('$all is ordered by commit position, then prepare position', (t) => {
  const at = (commit: bigint, prepare: bigint) => ({ commit, prepare });
  t.is(comparePositions(at(10n, 10n), at(10n, 10n)), 0);
  t.is(comparePositions(at(10n, 12n), at(10n, 14n)), -1);
  t.is(comparePositions(at(11n, 11n), at(10n, 14n)), 1);
  t.is(comparePositions(at(9n, 20n), at(10n, 1n)), -1);
});

test('the server filters $all by the stream types\' name prefixes, or without types excludes system events', (t) => {
  t.like(allFilter(['cart', 'order']), { filterOn: 'streamName', prefixes: ['cart-', 'order-'] });
  t.like(allFilter(undefined), { filterOn: 'eventType', regex: '^[^$].*' });
  t.throws(() => allFilter([]), { message: /at least one type/ });
});

const recorded = (overrides: Partial<AllStreamRecordedEvent> = {}): AllStreamRecordedEvent =>
  ({
    streamId: 'a-b-s-1',
    id: '0b0e4f4e-4a5a-4c8e-9a57-0e9e4c2d1f00',
    isJson: true,
    revision: 2n,
    type: 'test.v1.Happened',
    created: new Date('2026-12-06T05:00:00.000Z'),
    data: { n: 1 },
    metadata: storedMetadata('a-b', { correlationId: 'c-1', actor: 'alice' }),
    position: { commit: 100n, prepare: 140n },
    ...overrides,
  }) as AllStreamRecordedEvent;

test('a stored event comes back as the port\'s: type from the metadata (a type may hold a dash), id after it, version = revision + 1, metadata as given', (t) => {
  t.deepEqual(toRecorded(recorded()), {
    id: '0b0e4f4e-4a5a-4c8e-9a57-0e9e4c2d1f00',
    type: 'test.v1.Happened',
    streamId: 's-1',
    streamType: 'a-b',
    version: 3,
    position: 140,
    occurredAt: '2026-12-06T05:00:00.000Z',
    data: { n: 1 },
    metadata: { correlationId: 'c-1', actor: 'alice' },
  });
  t.deepEqual(toRecorded(recorded({ metadata: storedMetadata('a-b', undefined) }))?.metadata, {});
});

test('events this store did not write are not its events: no stream type, another stream\'s name, binary data', (t) => {
  t.is(toRecorded(recorded({ metadata: { correlationId: 'c-1' } })), undefined);
  t.is(toRecorded(recorded({ metadata: undefined })), undefined);
  t.is(toRecorded(recorded({ streamId: 'relay-checkpoint-cart' })), undefined);
  t.is(toRecorded(recorded({ isJson: false, data: new Uint8Array([1]) } as never)), undefined);
});

test('a reader of type a skips the events of type a-b, which the server\'s prefix a- lets through', (t) => {
  const event = toRecorded(recorded());
  t.false(ownEvent(event, ['a']));
  t.true(ownEvent(event, ['a-b']));
  t.true(ownEvent(event, undefined));
  t.false(ownEvent(undefined, undefined));
});

test('an event\'s position is its prepare position; none (a stream read on an old server) is 0', (t) => {
  t.is(positionOf({ commit: 100n, prepare: 140n }), 140);
  t.is(positionOf({ commit: 2n ** 64n - 1n, prepare: 2n ** 64n - 1n }), 0);
  t.is(positionOf(undefined), 0);
});
