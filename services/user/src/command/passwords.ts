import { hash, verify, type Algorithm } from '@node-rs/argon2';

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
