import test from 'ava';
import { StateCache } from './state-cache.js';

const kept = (version: number) => ({ state: { version }, version, ids: new Set<string>() });

test('the cache keeps the most recently used instances: past its size, the one used longest ago leaves', (t) => {
  const cache = new StateCache<{ version: number }>(2);
  cache.set('a', kept(1));
  cache.set('b', kept(1));
  t.is(cache.get('a')?.version, 1, 'a is now the most recently used');
  cache.set('c', kept(1));
  t.is(cache.get('b'), undefined, 'b was used longest ago');
  t.deepEqual([cache.get('a')?.version, cache.get('c')?.version], [1, 1]);
  cache.set('a', kept(2));
  t.is(cache.get('a')?.version, 2, 'a step replaces what was kept');
  cache.delete('a');
  t.is(cache.get('a'), undefined);
});
