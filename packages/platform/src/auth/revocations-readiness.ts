/**
 * The /readyz check of a process that verifies tokens: whether the revocations have been
 * listed once (followRevocations' `primed`). Its own file: the store and its follower work
 * without readiness, and the check is what a deploy waits on.
 */
import type { Logger } from '../log.js';
import type { ReadinessCheck } from '../ops-server.js';

/**
 * The /readyz check of a verifier: not ready until the first listing of `primed` (from
 * followRevocations) has succeeded, so that a new replica of a rolling deploy does not
 * serve tokens of accounts deleted in the last token lifetime; ready anyway after
 * `waitMs` (default 30 s), with a warning, so that user-command being down does not keep
 * the shop down.
 */
export function revocationsReadiness(primed: Promise<void>, log: Logger, waitMs = 30_000): ReadinessCheck {
  let known = false;
  const timer = setTimeout(() => {
    if (known) return;
    known = true;
    log.warn({ component: 'revocations', waitMs }, 'ready without the access revocations listed: a token of an account deleted in the last token lifetime may verify until the listing succeeds');
  }, waitMs);
  timer.unref();
  void primed.then(() => {
    known = true;
    clearTimeout(timer);
  });
  return {
    name: 'revocations',
    check: async () => {
      if (!known) throw new Error('the access revocations have not been listed yet');
    },
  };
}
