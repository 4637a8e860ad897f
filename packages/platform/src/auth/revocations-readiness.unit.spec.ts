import test from 'ava';
import { testLogger, waitFor } from '@shop/testing';
import { revocationsReadiness } from './revocations-readiness.js';

test('readiness waits for the first listing; without one it turns ready after its bound, with a warning', async (t) => {
  const { log, lines } = testLogger();
  let listed: () => void = () => {};
  const primed = new Promise<void>((resolve) => (listed = resolve));
  const waiting = revocationsReadiness(primed, log, 600_000);
  await t.throwsAsync(waiting.check(), { message: /not been listed/ });
  listed();
  await primed;
  await t.notThrowsAsync(waiting.check());

  const bounded = revocationsReadiness(new Promise(() => {}), log, 20);
  await t.throwsAsync(bounded.check());
  await waitFor('ready after the bound', () => bounded.check().then(() => true));
  t.true(lines().some((l) => String(l.msg).startsWith('ready without the access revocations listed')));
});
