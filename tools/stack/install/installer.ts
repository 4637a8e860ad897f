/**
 * Shared shape of the installers: each one is idempotent, prints progress lines, and ends
 * with "ok (cached)" or "ok (installed in …)"; a failure is one StackError line.
 */
import { say, elapsed } from '../log.js';
import { withLock } from '../lock.js';

export type InstallOutcome = 'cached' | 'installed';
export type Progress = (message: string) => void;

export function installer(name: string, body: (progress: Progress) => Promise<InstallOutcome>): () => Promise<void> {
  // The lock keeps two commands (or two test workers) from installing the same thing at once.
  return () =>
    withLock(`install-${name}`, async () => {
      const t0 = Date.now();
      const outcome = await body((message) => say('install', name, message));
      say('install', name, outcome === 'cached' ? 'ok (cached)' : `ok (installed in ${elapsed(t0)})`);
    }, name);
}
