import test from 'ava';
import { ErrorCode, NatsError } from 'nats';
import { isTransient } from '@shop/eventsourcing/kafka';
import { isNatsUnavailable, NatsFlushTimeoutError } from './nats-status-publisher.js';

test('a lost or refused NATS connection, or a flush that never came back, is worth retrying', (t) => {
  for (const code of [ErrorCode.Disconnect, ErrorCode.ConnectionClosed, ErrorCode.ConnectionRefused, ErrorCode.ConnectionTimeout, ErrorCode.Timeout]) {
    const err = NatsError.errorForCode(code);
    t.true(isNatsUnavailable(err), code);
    t.false(isTransient(err), `${code}: the processor's default does not know it, hence the notifier's own`);
  }
  t.true(isNatsUnavailable(new NatsFlushTimeoutError(5_000)));
});

test('a bad message is not an outage', (t) => {
  t.false(isNatsUnavailable(NatsError.errorForCode(ErrorCode.BadSubject)));
  t.false(isNatsUnavailable(NatsError.errorForCode(ErrorCode.MaxPayloadExceeded)));
  t.false(isNatsUnavailable(new Error('customer_id must be a UUID')));
  t.false(isNatsUnavailable(undefined));
});
