import { setTimeout as sleep } from 'node:timers/promises';
import test from 'ava';
import { Readiness } from './ops-server.js';

/** Readiness as the gRPC health service follows it (`watch`): the polling itself, without a server. */
async function until(what: string, ok: () => boolean): Promise<void> {
  for (let i = 0; i < 500 && !ok(); i++) await sleep(10);
  if (!ok()) throw new Error(`timed out waiting for ${what}`);
}

test('watching again after every watcher left starts the polling again: a later failure is seen', async (t) => {
  let healthy = true;
  const readiness = new Readiness({ intervalMs: 10 });
  readiness.add({ name: 'db', check: async () => {
    if (!healthy) throw new Error('down');
  } });
  readiness.setAccepting(true);
  const first: boolean[] = [];
  const stop = readiness.watch((ready) => first.push(ready));
  await until('ready', () => first.at(-1) === true);
  stop();

  const again: boolean[] = [];
  const stopAgain = readiness.watch((ready) => again.push(ready));
  t.teardown(stopAgain);
  healthy = false;
  await until('the failed check seen by the new watcher', () => again.at(-1) === false);
  healthy = true;
  await until('ready again', () => again.at(-1) === true);
  t.deepEqual(again.slice(-2), [false, true]);
});

test('shutting down is not ready for good, whatever the checks say', async (t) => {
  const readiness = new Readiness({ intervalMs: 10 });
  readiness.add({ name: 'db', check: async () => undefined });
  readiness.setAccepting(true);
  const seen: boolean[] = [];
  t.teardown(readiness.watch((ready) => seen.push(ready)));
  await until('ready', () => seen.at(-1) === true);
  readiness.setAccepting(false);
  await sleep(50);
  t.is(seen.at(-1), false);
  t.false((await readiness.evaluate()).ok);
});
