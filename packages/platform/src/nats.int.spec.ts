import test from 'ava';
import { StringCodec } from 'nats';
import { startPrivateNats, testLogger, waitFor } from '@shop/testing';
import { connectNats } from './nats.js';

const sc = StringCodec();

test('the connection outlives a NATS outage of more reconnection attempts than the client makes by default', async (t) => {
  const server = await startPrivateNats();
  t.teardown(() => server.destroy());
  const { log } = testLogger();
  // Short pauses, so that the outage spans many attempts quickly.
  const nc = await connectNats({ url: server.url, name: 'outage-test', log, reconnectTimeWaitMs: 50 });
  t.teardown(() => nc.close());
  let attempts = 0;
  let reconnected = false;
  void (async () => {
    for await (const s of nc.status()) {
      if (s.type === 'reconnecting') attempts++;
      if (s.type === 'reconnect') reconnected = true;
    }
  })();

  await server.crash();
  // nats.js gives up after maxReconnectAttempts (default 10) and closes the connection.
  await waitFor('more reconnection attempts than the default allows', () => attempts > 15 || (nc.isClosed() && 'closed'), { timeoutMs: 60_000 });
  t.false(nc.isClosed(), 'still trying after the default number of attempts');

  await server.start();
  await waitFor('reconnected', () => reconnected, { timeoutMs: 30_000 });
  const sub = nc.subscribe('after.outage', { max: 1 });
  nc.publish('after.outage', sc.encode('hello'));
  for await (const m of sub) t.is(sc.decode(m.data), 'hello');
});
