import test from 'ava';
import { heldBackMs, limits } from './throttle.js';

const at = (s: number) => new Date(Date.parse('2026-01-01T00:00:00Z') + s * 1000);
const counter = (hits: number, lastHitS: number, windowStartS = 0) => ({ hits, lastHit: at(lastHitS), windowStart: at(windowStartS) });

test('an account is never locked: after the free failures each attempt waits longer, up to the cap', (t) => {
  const limit = limits.loginPerAccount;
  t.is(heldBackMs(limit, counter(4, 10), at(10)), 0, 'within the free attempts');
  t.is(heldBackMs(limit, counter(5, 10), at(10)), 1_000);
  t.is(heldBackMs(limit, counter(6, 10), at(10)), 2_000);
  t.is(heldBackMs(limit, counter(7, 10), at(11)), 3_000, 'counted from the last attempt');
  t.is(heldBackMs(limit, counter(500, 10), at(10)), 30_000, 'however many failures an attacker causes, the owner waits at most the cap');
  t.is(heldBackMs(limit, counter(500, 10), at(40)), 0, 'and may then try');
});

test('a cap holds back until its window ends; a new window starts afresh', (t) => {
  const limit = limits.registerPerAddress;
  t.is(heldBackMs(limit, counter(100, 100), at(500)), 100_000);
  t.is(heldBackMs(limit, counter(99, 100), at(500)), 0);
  t.is(heldBackMs(limit, counter(100, 100), at(600)), 0);
  t.is(heldBackMs(limit, undefined, at(0)), 0);
});
