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

/** Rejects after `ms`: far beyond what the awaited thing should take, so only a broken one loses the race. */
const notWithin = (ms: number, what: string) => {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const promise = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what} took more than ${ms} ms`)), ms)));
  return { promise, cancel: () => clearTimeout(timer) };
};

test('no ring: the wait ends after its time', async (t) => {
  const bell = new Doorbell();
  t.false(await bell.wait(10));
});

test('an abort ends a long wait early, with no ring', async (t) => {
  const bell = new Doorbell();
  const controller = new AbortController();
  // A minute's wait: were the abort ignored, the wait would outlast the 20 s bound by far.
  const waiting = bell.wait(60_000, controller.signal);
  controller.abort();
  const bound = notWithin(20_000, 'the aborted wait');
  try {
    t.false(await Promise.race([waiting, bound.promise]));
  } finally {
    bound.cancel();
  }
});
