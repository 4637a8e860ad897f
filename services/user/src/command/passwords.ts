import { hash, verify, type Algorithm } from '@node-rs/argon2';
import { RateLimitedError } from '@shop/platform/errors';

/** Hashes and checks passwords with argon2id (PHC strings); the library's default cost (m=19 MiB, t=2, p=1). */
export interface PasswordHasher {
  hash(password: string): Promise<string>;
  verify(passwordHash: string, password: string): Promise<boolean>;
  /** One verify against a fixed hash, so that an unknown login costs what a known one does. */
  burn(password: string): Promise<void>;
}

// The argon2id hash of a random, discarded password, with the same parameters as `hash`.
// `Algorithm` is an ambient const enum (not importable under isolatedModules); 2 is Argon2id.
const ARGON2ID = 2 as Algorithm;

const DUMMY_HASH = '$argon2id$v=19$m=19456,t=2,p=1$QPl0riHRlPMOV3nttEuzsg$jDuel73nnWaqDk1KNzInC3Y+jNoiisUAbcZF36hHttA';

export const argon2Hasher: PasswordHasher = {
  hash: (password) => hash(password, { algorithm: ARGON2ID }),
  // A malformed stored hash is a wrong password, not a server error the caller could tell apart.
  verify: (passwordHash, password) => verify(passwordHash, password).catch(() => false),
  burn: async (password) => void (await verify(DUMMY_HASH, password).catch(() => false)),
};

/**
 * At most `concurrency` hashes or verifies at once, and at most `maxQueued` waiting; a call
 * beyond that is RESOURCE_EXHAUSTED at once (not UNAVAILABLE, which Envoy retries: a retry
 * of an overload only adds to it). argon2 costs tens of milliseconds of CPU and 19 MiB
 * each: without a bound, a burst of sign-ins (or an attacker's) queues unbounded work and
 * memory, and every other call of the process waits behind it.
 */
export function boundedHasher(inner: PasswordHasher, opts: { concurrency: number; maxQueued: number }): PasswordHasher {
  let running = 0;
  const waiting: Array<() => void> = [];
  const bounded =
    <A extends unknown[], R>(fn: (...args: A) => Promise<R>) =>
    async (...args: A): Promise<R> => {
      if (running >= opts.concurrency) {
        if (waiting.length >= opts.maxQueued) throw new RateLimitedError('too many sign-ins at once: try again in a moment');
        await new Promise<void>((resolve) => waiting.push(resolve));
      } else {
        running++;
      }
      try {
        return await fn(...args);
      } finally {
        // The slot passes straight to the next waiter, or is freed.
        const next = waiting.shift();
        if (next) next();
        else running--;
      }
    };
  return { hash: bounded(inner.hash), verify: bounded(inner.verify), burn: bounded(inner.burn) };
}
