import test from 'ava';
import { ProductListCache } from './product-cache.js';

/** The catalog cache's rules: serve from memory until a change is announced, never keep what a change made stale. */
const deferred = <T>() => {
  let resolve!: (v: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
};

test('a page is loaded once and served from memory until the catalog changes', async (t) => {
  const cache = new ProductListCache<string>(60_000);
  let loads = 0;
  const load = async () => `page ${++loads}`;
  t.is(await cache.get('k', load), 'page 1');
  t.is(await cache.get('k', load), 'page 1');
  cache.invalidate();
  t.is(await cache.get('k', load), 'page 2');
  t.deepEqual([cache.hits, cache.misses], [1, 2]);
});

test('a page read before a change and answered after it is not kept', async (t) => {
  const cache = new ProductListCache<string>(60_000);
  const slow = deferred<string>();
  const reading = cache.get('k', () => slow.promise);
  cache.invalidate(); // the change is announced while the old page is on its way
  slow.resolve('stale page');
  t.is(await reading, 'stale page', 'the caller that asked before the change gets what it read');
  t.is(await cache.get('k', async () => 'fresh page'), 'fresh page', 'but nobody after it');
});

test('entries expire on their own', async (t) => {
  let now = 0;
  const cache = new ProductListCache<string>(1_000, 100, () => now);
  t.is(await cache.get('k', async () => 'first'), 'first');
  now = 999;
  t.is(await cache.get('k', async () => 'second'), 'first');
  now = 1_000;
  t.is(await cache.get('k', async () => 'third'), 'third');
});

test('while invalidations cannot arrive (NATS down), nothing is cached', async (t) => {
  const cache = new ProductListCache<string>(60_000);
  await cache.get('k', async () => 'before');
  cache.setEnabled(false);
  let loads = 0;
  await cache.get('k', async () => `down ${++loads}`);
  await cache.get('k', async () => `down ${++loads}`);
  t.is(loads, 2);
  cache.setEnabled(true);
  t.is(await cache.get('k', async () => 'after'), 'after');
  t.is(await cache.get('k', async () => 'not read'), 'after');
});

test('a bounded number of pages is kept, oldest out first', async (t) => {
  const cache = new ProductListCache<string>(60_000, 2);
  for (const k of ['a', 'b', 'c']) await cache.get(k, async () => k);
  let reloaded = false;
  await cache.get('a', async () => {
    reloaded = true;
    return 'a again';
  });
  t.true(reloaded);
  t.is(await cache.get('c', async () => 'not read'), 'c');
});
