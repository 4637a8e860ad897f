import * as grpc from '@grpc/grpc-js';
import type { Logger } from '@shop/platform/log';
import { UserCommandServiceClient } from '@shop/contracts/shop/user/v1/command_service';
import { eventStoreMigrations, PostgresEventStore } from '@shop/eventsourcing/postgres';
import { relayMigrations } from '@shop/eventsourcing/kafka';
import { promiseClient, type PromiseClient } from '@shop/platform/grpc/client';
import { newId, type Clock } from '@shop/platform/ids';
import { migrate } from '@shop/platform/postgres/migrate';
import { createPool, type Pool } from '@shop/platform/postgres/pool';
import { createTestDatabase, type TestDatabase } from '@shop/testing';
import { postgresDeletedAccounts } from './command/adapters/postgres-deleted-accounts.js';
import { RefreshTokens } from './command/credentials.js';
import { argon2Hasher } from './command/passwords.js';
import { createTokenIssuer } from './command/tokens.js';
import { userCommandService } from './command/user-command-service.js';
import { userCommandHandler } from './command/user-handler.js';
import type { VerificationMailer } from './command/verification-mailer.js';
import { userMigrations } from './migrations.js';
import { sealedStore } from './personal-data/sealed-store.js';

/** Integration-test set-ups over the real stack: a database per test file, real gRPC servers on port 0. */

import { serveGrpc as serve } from '@shop/testing';
import { withMetadata } from '@shop/platform/grpc/client';
import { accessTokenAuthenticator, createServiceIdentity } from '@shop/platform/auth/caller';

const SERVICE_KEY = 'user-command-test-service-key-0123456789';
export { serve };

export interface SentMail {
  userId: string;
  email: string;
  token: string;
  expiresAt: string;
}

export interface UserCommandFixture {
  db: TestDatabase;
  pool: Pool;
  store: PostgresEventStore;
  raw: UserCommandServiceClient;
  /** Keeps raw gRPC errors (code, trailers), as a client on the wire sees them; calls as a service of the shop. */
  c: PromiseClient<UserCommandServiceClient>;
  /** The same without any token: `{ metadata: { authorization: 'Bearer ' + accessToken } }` makes a customer's call. */
  unauthenticated: PromiseClient<UserCommandServiceClient>;
  /** Verification mails "sent", newest last. */
  mails: SentMail[];
  /** Moves the clock of the service (tokens, expiries) forward. */
  advance(ms: number): void;
  close(): Promise<void>;
}

/** A fresh database with the user command side's tables (event store, relay, user migrations); `close` drops it. */
export async function createUserDatabase(log: Logger, name = 'user', poolMax = 2): Promise<{ db: TestDatabase; pool: Pool; close(): Promise<void> }> {
  const db = await createTestDatabase(name);
  const pool = createPool({ url: db.url, max: poolMax, log });
  await migrate(pool, [eventStoreMigrations, relayMigrations, userMigrations], log);
  return {
    db,
    pool,
    async close() {
      await pool.end();
      await db.drop();
    },
  };
}

/** The user command service over a fresh database, with the dev-key fallback and a mailer that keeps the mails. */
export async function startUserCommandService(log: Logger): Promise<UserCommandFixture> {
  const { db, pool } = await createUserDatabase(log, 'user', 30);
  /** The raw store: what is stored (sealed). `users` reads and writes through `sealedStore`. */
  const store = new PostgresEventStore(pool);
  let offsetMs = 0;
  const clock: Clock = () => new Date(Date.now() + offsetMs);
  const mails: SentMail[] = [];
  const mailer: VerificationMailer = { send: async (m) => void mails.push(m) };
  const tokens = await createTokenIssuer({ accessTtlSeconds: 900 }, clock, log);
  const server = await serve(
    [
      userCommandService({
        users: userCommandHandler(sealedStore(store, pool)),
        pool,
        refreshTokens: new RefreshTokens(pool, clock, newId, 3600),
        passwords: argon2Hasher,
        tokens,
        mailer,
        deletedAccounts: postgresDeletedAccounts(pool),
        clock,
        newId,
        verificationTtlSeconds: 3600,
      }),
    ],
    log,
    'user-command-test',
    accessTokenAuthenticator({ fetchJwks: async () => tokens.jwks(), serviceKey: SERVICE_KEY }),
  );
  const identity = createServiceIdentity({ name: 'user-test', key: SERVICE_KEY });
  const raw = new UserCommandServiceClient(`127.0.0.1:${server.port}`, grpc.credentials.createInsecure());
  return {
    db,
    pool,
    store,
    raw,
    c: withMetadata(promiseClient(raw, 30_000, false), () => identity.metadata()),
    unauthenticated: promiseClient(raw, 30_000, false),
    mails,
    advance: (ms) => void (offsetMs += ms),
    async close() {
      raw.close();
      await server.shutdown();
      await pool.end();
      await db.drop();
    },
  };
}
