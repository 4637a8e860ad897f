import test from 'ava';
import { StateCache } from './state-cache.js';

const kept = (version: number) => ({ state: { version }, version });

test('the cache keeps the most recently used streams: past its size, the one used longest ago leaves', (t) => {
  const cache = new StateCache<{ state: unknown; version: number }>(2);
  cache.set('a', kept(1));
  cache.set('b', kept(1));
  t.is(cache.get('a')?.version, 1, 'a is now the most recently used');
  cache.set('c', kept(1));
  t.is(cache.get('b'), undefined, 'b was used longest ago');
  t.deepEqual([cache.get('a')?.version, cache.get('c')?.version], [1, 1]);
  cache.set('a', kept(2));
  t.is(cache.get('a')?.version, 2, 'a later version replaces what was kept');
  cache.delete('a');
  t.is(cache.get('a'), undefined);
});

test('an older version never replaces a newer one', (t) => {
  const cache = new StateCache<{ state: unknown; version: number }>(2);
  cache.set('a', kept(3));
  cache.set('a', kept(2));
  t.is(cache.get('a')?.version, 3);
});

test('a cache of size 0 keeps nothing', (t) => {
  const none = new StateCache<{ state: unknown; version: number }>(0);
  none.set('a', kept(1));
  t.is(none.get('a'), undefined);
});
