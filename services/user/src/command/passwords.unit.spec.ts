import test from 'ava';
import { RateLimitedError } from '@shop/platform/errors';
import { boundedHasher, type PasswordHasher } from './passwords.js';

/** A hasher whose calls end when the test says, counting how many run at once. */
function gatedHasher() {
  let running = 0;
  let most = 0;
  const gates: Array<() => void> = [];
  const call = async () => {
    running++;
    most = Math.max(most, running);
    await new Promise<void>((resolve) => gates.push(resolve));
    running--;
    return 'hash';
  };
  const hasher: PasswordHasher = { hash: call, verify: async () => (await call()) === 'hash', burn: async () => void (await call()) };
  return { hasher, most: () => most, release: () => gates.shift()?.() };
}

const tick = () => new Promise((r) => setImmediate(r));

test('at most `concurrency` hashes run at once; the queue is bounded and a call beyond it is RESOURCE_EXHAUSTED at once', async (t) => {
  const gated = gatedHasher();
  const bounded = boundedHasher(gated.hasher, { concurrency: 2, maxQueued: 1 });
  const calls = [bounded.hash('a'), bounded.verify('h', 'b'), bounded.burn('c')];
  await tick();
  const refused = await t.throwsAsync(bounded.hash('d'));
  t.true(refused instanceof RateLimitedError);
  t.is(gated.most(), 2);
  for (let i = 0; i < 3; i++) {
    gated.release();
    await tick();
  }
  t.deepEqual(await Promise.all(calls), ['hash', true, undefined]);
  t.is(gated.most(), 2, 'the queued call ran only when a slot was free');
  // Slots are given back: new calls run again.
  const again = bounded.hash('e');
  await tick();
  gated.release();
  t.is(await again, 'hash');
});
