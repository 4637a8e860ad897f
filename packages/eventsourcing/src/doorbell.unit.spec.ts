import test from 'ava';
import { Doorbell } from './relay.js';

test('a ring wakes the waiting relay at once', async (t) => {
  const bell = new Doorbell();
  const started = Date.now();
  const waiting = bell.wait(10_000);
  setTimeout(() => bell.ring(), 5);
  t.true(await waiting);
  t.true(Date.now() - started < 5_000);
});

test('a ring while nobody waits is kept for the next wait, once', async (t) => {
  const bell = new Doorbell();
  bell.ring();
  bell.ring();
  t.true(await bell.wait(10_000));
  t.false(await bell.wait(10), 'two rings before a wait are one wake-up');
});

test('no ring: the wait ends after its time, and an abort ends it early', async (t) => {
  const bell = new Doorbell();
  t.false(await bell.wait(10));
  const controller = new AbortController();
  const waiting = bell.wait(10_000, controller.signal);
  controller.abort();
  t.false(await waiting);
});
