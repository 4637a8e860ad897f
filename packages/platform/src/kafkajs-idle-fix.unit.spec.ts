import test from 'ava';
import { setTimeout as sleep } from 'node:timers/promises';
import { fixKafkajsIdleLoop, requestQueueClass } from './kafkajs-idle-fix.js';

/**
 * One broker connection's request queue, on its own (no socket), counting its looks at the
 * pending requests. The specs run in order: kafkajs's own method first, then the fix.
 */
function countingQueue() {
  const RequestQueue = requestQueueClass();
  const quiet = { debug() {}, info() {}, warn() {}, error() {} };
  const queue = new RequestQueue({ maxInFlightRequests: null, requestTimeout: 30_000, enforceRequestTimeout: false, clientId: 'spec', broker: 'spec:9092', logger: quiet });
  let checks = 0;
  const check = queue.checkPendingRequests.bind(queue);
  queue.checkPendingRequests = () => {
    checks++;
    check();
  };
  return { queue: queue as typeof queue & { push(request: unknown): void; destroy(): void }, checks: () => checks };
}

test.serial("kafkajs's own request queue wakes up hundreds of times in 200 ms with nothing to send (the bug; when this fails, a kafkajs release fixed it and kafkajs-idle-fix.ts can go)", async (t) => {
  const { queue, checks } = countingQueue();
  queue.checkPendingRequests();
  await sleep(200);
  queue.destroy();
  t.true(checks() > 50, `${checks()} looks`);
});

test.serial('fixed, an idle request queue looks once and then sleeps', async (t) => {
  t.true(fixKafkajsIdleLoop());
  t.true(fixKafkajsIdleLoop(), 'applying it again changes nothing');
  const { queue, checks } = countingQueue();
  queue.checkPendingRequests();
  await sleep(200);
  queue.destroy();
  t.is(checks(), 1);
});

test.serial('fixed, a request held back by throttling is still sent when the throttle ends', async (t) => {
  t.true(fixKafkajsIdleLoop());
  const { queue } = countingQueue();
  queue.throttledUntil = Date.now() + 50;
  let sentAt: number | undefined;
  const pushedAt = Date.now();
  queue.push({ entry: { correlationId: 1, apiName: 'Fetch', apiKey: 1, apiVersion: 11 }, expectResponse: true, sendRequest: () => (sentAt = Date.now()) });
  t.is(sentAt, undefined, 'held back while throttled');
  for (let waited = 0; sentAt === undefined && waited < 2_000; waited += 10) await sleep(10);
  queue.destroy();
  t.truthy(sentAt, 'sent once the throttle ended');
  t.true(sentAt! - pushedAt >= 45, `sent ${sentAt! - pushedAt} ms after the push`);
});
