import test from 'ava';
import { setTimeout as sleep } from 'node:timers/promises';
import { fixKafkajsIdleLoop, requestQueueClass } from './kafkajs-idle-fix.js';

/** One broker connection's request queue, on its own (no socket). */
function requestQueue() {
  const RequestQueue = requestQueueClass();
  const quiet = { debug() {}, info() {}, warn() {}, error() {} };
  return new RequestQueue({ maxInFlightRequests: null, requestTimeout: 30_000, enforceRequestTimeout: false, clientId: 'spec', broker: 'spec:9092', logger: quiet }) as InstanceType<
    ReturnType<typeof requestQueueClass>
  > & { push(request: unknown): void; destroy(): void };
}

// The specs run in order: kafkajs's own method first, then the fix. When the first one fails,
// a kafkajs release has fixed the loop itself, and kafkajs-idle-fix.ts can go.
test.serial("kafkajs's own request queue arms a timer with nothing to send (the loop)", (t) => {
  const queue = requestQueue();
  queue.checkPendingRequests();
  t.is(queue.pending.length, 0);
  t.not(queue.throttleCheckTimeoutId, null, 'a timer armed for nothing, which arms the next one when it fires');
  queue.destroy();
});

test.serial('fixed, a request queue with nothing to send arms no timer', (t) => {
  t.true(fixKafkajsIdleLoop());
  t.true(fixKafkajsIdleLoop(), 'applying it again changes nothing');
  const queue = requestQueue();
  queue.checkPendingRequests();
  t.is(queue.throttleCheckTimeoutId, null);
  queue.destroy();
});

test.serial('fixed, a request held back by throttling is sent once the throttle ends', async (t) => {
  t.true(fixKafkajsIdleLoop());
  const queue = requestQueue();
  queue.throttledUntil = Date.now() + 50;
  let sent = false;
  queue.push({ entry: { correlationId: 1, apiName: 'Fetch', apiKey: 1, apiVersion: 11 }, expectResponse: true, sendRequest: () => (sent = true) });
  t.false(sent, 'held back while throttled');
  t.not(queue.throttleCheckTimeoutId, null, 'a look at the queue is scheduled');
  // Bounded wait for an outcome, not a timing assertion: the check is due 50 ms from now.
  for (let waited = 0; !sent && waited < 5_000; waited += 10) await sleep(10);
  queue.destroy();
  t.true(sent);
});
