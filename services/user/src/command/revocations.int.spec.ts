import test from 'ava';
import * as grpc from '@grpc/grpc-js';
import { UserCommandServiceClient } from '@shop/contracts/shop/user/v1/command_service';
import { Timestamp } from '@shop/contracts/google/protobuf/timestamp';
import { ACCESS_TOKEN_AUDIENCE, ACCESS_TOKEN_ISSUER, createTokenVerifier } from '@shop/platform/auth';
import { accessTokenAuthenticator, createServiceIdentity } from '@shop/platform/auth/caller';
import { followRevocations, RELIST_OVERLAP_MS, Revocations, type RevocationLister } from '@shop/platform/auth/revocations';
import { UnavailableError } from '@shop/platform/errors';
import { promiseClient, withMetadata } from '@shop/platform/grpc/client';
import type { GrpcServer } from '@shop/platform/grpc/server';
import { newId, type Clock } from '@shop/platform/ids';
import { connectNats } from '@shop/platform/nats';
import { startPrivateNats, testLogger, waitFor, type PrivateNats } from '@shop/testing';
import type { NatsConnection } from 'nats';
import { PostgresEventStore } from '@shop/eventsourcing/postgres';
import { createUserDatabase, serve } from '../test-fixtures.js';
import { sealedStore } from '../personal-data/sealed-store.js';
import { RefreshTokens } from './credentials.js';
import { argon2Hasher } from './passwords.js';
import { natsRevocations } from './adapters/nats-revocation-publisher.js';
import { postgresDeletedAccounts } from './adapters/postgres-deleted-accounts.js';
import { REVOCATION_GRACE_SECONDS, REVOCATION_PAGE_SIZE, revocationsInForce } from './revocations.js';
import { createTokenIssuer, type TokenIssuer } from './tokens.js';
import { userCommandService } from './user-command-service.js';
import { userCommandHandler } from './user-handler.js';

/**
 * A deleted account's access tokens, refused at once: user-command announces the revocation
 * on (a private) NATS before DeleteAccount answers, and lists the revocations in force to
 * services (ListRevocations), from which a verifier that was away catches up.
 */
const SERVICE_KEY = 'revocations-test-service-key-0123456789';
const TTL_SECONDS = 900;
const { log, lines } = testLogger();
let nats: PrivateNats;
let natsConnection: NatsConnection;
let database: Awaited<ReturnType<typeof createUserDatabase>>;
let server: GrpcServer;
let raw: UserCommandServiceClient;
let tokens: TokenIssuer;
let offsetMs = 0;
/** Drops the announcements, as a user-command that crashed between its commit and its publish. */
let announcing = true;

test.before(async () => {
  nats = await startPrivateNats();
  natsConnection = await connectNats({ url: nats.url, name: 'user-command-test', log });
  database = await createUserDatabase(log, 'revocations', 10);
  const clock: Clock = () => new Date(Date.now() + offsetMs);
  tokens = await createTokenIssuer({ accessTtlSeconds: TTL_SECONDS }, clock, log);
  const publisher = natsRevocations(natsConnection, log);
  server = await serve(
    [
      userCommandService({
        users: userCommandHandler(sealedStore(new PostgresEventStore(database.pool), database.pool)),
        pool: database.pool,
        refreshTokens: new RefreshTokens(database.pool, clock, newId, 3600),
        passwords: argon2Hasher,
        tokens,
        mailer: { send: async () => {} },
        revocations: { publish: async (r) => (announcing ? publisher.publish(r) : undefined) },
        deletedAccounts: postgresDeletedAccounts(database.pool),
        clock,
        newId,
        verificationTtlSeconds: 3600,
      }),
    ],
    log,
    'revocations-test',
    accessTokenAuthenticator({ fetchJwks: async () => tokens.jwks(), serviceKey: SERVICE_KEY }),
  );
  raw = new UserCommandServiceClient(`127.0.0.1:${server.port}`, grpc.credentials.createInsecure());
});

test.after.always(async () => {
  raw?.close();
  await server?.shutdown();
  await natsConnection?.close();
  await database?.close();
  await nats?.destroy();
});

const identity = createServiceIdentity({ name: 'bff', key: SERVICE_KEY });
const asService = () => withMetadata(promiseClient(raw, 30_000, false), () => identity.metadata());
const anonymous = () => promiseClient(raw, 30_000, false);
/** One page, as a verifier asks for it. */
const listRevocations: RevocationLister = (since) => asService().listRevocations({ since });
/** Every revocation in force, page after page. */
async function allRevocations() {
  const all = [];
  for (let since: string | undefined, more = true; more; ) {
    const page = await listRevocations(since);
    all.push(...page.revocations);
    ({ more, nextSince: since } = page);
  }
  return all;
}

const PASSWORD = 'correct horse battery';
let n = 0;
/** A new account, signed in: its id and access token. */
async function signedIn() {
  const username = `rev${process.pid}_${++n}`;
  const { userId } = await asService().registerUser({ username, email: `${username}@example.com`, password: PASSWORD, displayName: '' });
  const { accessToken } = await asService().authenticate({ login: username, password: PASSWORD });
  return { userId, accessToken };
}

const verifierWith = (revocations: Revocations) =>
  createTokenVerifier({ issuer: ACCESS_TOKEN_ISSUER, audience: ACCESS_TOKEN_AUDIENCE, fetchJwks: async () => tokens.jwks(), revocations });

const codeOf = (call: Promise<unknown>) =>
  call.then(
    () => 'OK',
    (err: grpc.ServiceError) => grpc.status[err.code],
  );

test.serial('DeleteAccount announces the revocation before it answers; ListRevocations lists it to services, for one token lifetime and the grace', async (t) => {
  const revocations = new Revocations();
  // The publisher's own connection: NATS delivers the message to it before it confirms the
  // publish, so "before it answers" is checked without any wait.
  const following = followRevocations({ nats: natsConnection, revocations, list: listRevocations, log });
  t.teardown(() => following.stop());
  await following.primed;
  const ada = await signedIn();
  const bob = await signedIn();
  const verifier = verifierWith(revocations);
  t.like(await verifier.verify(ada.accessToken), { userId: ada.userId });

  await asService().deleteAccount({ userId: ada.userId });
  await t.throwsAsync(verifier.verify(ada.accessToken), { message: 'access token revoked' });
  t.like(await verifier.verify(bob.accessToken), { userId: bob.userId }, 'nobody else is refused');

  const listed = (await allRevocations()).find((r) => r.userId === ada.userId);
  t.truthy(listed, 'listed to a service');
  t.true(Date.parse(listed!.expireTime!) > Date.now() + TTL_SECONDS * 1000, 'until every token issued before it has expired');
  t.is(await codeOf(promiseClient(raw, 30_000, false).listRevocations({}, { metadata: { authorization: `Bearer ${bob.accessToken}` } })), 'PERMISSION_DENIED');
  t.is(await codeOf(anonymous().listRevocations({})), 'UNAUTHENTICATED');

  offsetMs += (TTL_SECONDS + REVOCATION_GRACE_SECONDS) * 1000 + 1_000;
  t.teardown(() => void (offsetMs = 0));
  t.false((await allRevocations()).some((r) => r.userId === ada.userId), 'forgotten once every token it refused has expired');
});

test.serial('a verifier that was away from NATS when the deletion was announced learns it from the listing when it reconnects', async (t) => {
  const elsewhere = await startPrivateNats();
  t.teardown(() => elsewhere.destroy());
  const connection = await connectNats({ url: elsewhere.url, name: 'bff-test', log, reconnectTimeWaitMs: 50 });
  t.teardown(() => connection.close());
  const revocations = new Revocations();
  const following = followRevocations({ nats: connection, revocations, list: listRevocations, log });
  t.teardown(() => following.stop());
  await following.primed;
  const ada = await signedIn();

  await elsewhere.crash();
  await asService().deleteAccount({ userId: ada.userId });
  t.false(revocations.has(ada.userId), 'the announcement went where this verifier was not');
  await elsewhere.start();
  await waitFor('the revocation listed again after the reconnection', () => revocations.has(ada.userId), { timeoutMs: 60_000 });
  await t.throwsAsync(verifierWith(revocations).verify(ada.accessToken), { message: 'access token revoked' });
});

test.serial('a listing that fails (user-command unreachable) is retried until it succeeds, with a warning meanwhile', async (t) => {
  const ada = await signedIn();
  await asService().deleteAccount({ userId: ada.userId });
  let reachable = false;
  const revocations = new Revocations();
  const following = followRevocations({
    nats: natsConnection,
    revocations,
    list: (since) => (reachable ? listRevocations(since) : Promise.reject(new UnavailableError('user-command is down'))),
    log,
    retryMs: 20,
  });
  t.teardown(() => following.stop());
  const warnings = () => lines().filter((l) => l.component === 'revocations' && String(l.msg).startsWith('the access revocations could not be listed')).length;
  await waitFor('two failed listings', () => warnings() >= 2);
  t.false(revocations.has(ada.userId));
  reachable = true;
  await following.primed;
  t.true(revocations.has(ada.userId));
});

test.serial('a revocation whose announcement was lost (user-command crashed before publishing) arrives with the next periodic listing', async (t) => {
  const revocations = new Revocations();
  const following = followRevocations({ nats: natsConnection, revocations, list: listRevocations, log, relistMs: 200 });
  t.teardown(() => following.stop());
  await following.primed;
  const ada = await signedIn();

  announcing = false;
  t.teardown(() => void (announcing = true));
  await asService().deleteAccount({ userId: ada.userId });
  t.false(revocations.has(ada.userId), 'nothing was announced');
  await waitFor('the revocation from a periodic listing', () => revocations.has(ada.userId));
  await t.throwsAsync(verifierWith(revocations).verify(ada.accessToken), { message: 'access token revoked' });
});

test.serial('the listing reads the deletions through their partial index, not the whole event store', async (t) => {
  // Many events that are not deletions, and a few that are: the planner, told so, takes the index.
  await database.pool.query(
    `INSERT INTO events (id, stream_type, stream_id, version, type, data)
     SELECT gen_random_uuid(), 'user', gen_random_uuid()::text, 1, 'shop.user.v1.UserRegistered', '{}' FROM generate_series(1, 20000)`,
  );
  t.teardown(() => database.pool.query("DELETE FROM events WHERE type = 'shop.user.v1.UserRegistered' AND data = '{}'"));
  await database.pool.query('ANALYZE events');
  const plans: string[] = [];
  const explaining = {
    query: async (sql: string, params: unknown[]) => {
      const { rows } = await database.pool.query<{ 'QUERY PLAN': string }>(`EXPLAIN ${sql}`, params);
      plans.push(rows.map((r) => r['QUERY PLAN']).join('\n'));
      return { rows: [] };
    },
  } as unknown as Parameters<typeof postgresDeletedAccounts>[0];
  await revocationsInForce(postgresDeletedAccounts(explaining), new Date(), TTL_SECONDS);
  t.regex(plans[0] ?? '', /events_user_deleted_idx/, plans[0]);
});

/** `count` deletions (bare UserDeleted events), three to a millisecond, the latest `offsetMs` ago; removed after the test. */
async function deletions(t: { teardown(fn: () => unknown): void }, count: number, latestAgoMs = 0) {
  await database.pool.query(
    `INSERT INTO events (id, stream_type, stream_id, version, type, data, occurred_at)
     SELECT gen_random_uuid(), 'user', gen_random_uuid()::text, 1, 'shop.user.v1.UserDeleted', '{}', now() - make_interval(secs => ($2::int + i / 3) / 1000.0)
     FROM generate_series(0, $1::int - 1) AS i`,
    [count, latestAgoMs],
  );
  t.teardown(() => database.pool.query("DELETE FROM events WHERE type = 'shop.user.v1.UserDeleted' AND data = '{}'"));
}

test.serial('12,000 deletions are listed in pages of 5,000 (each ending with a whole millisecond), and a verifier receives them all', async (t) => {
  const many = 12_000;
  await deletions(t, many);
  const sizes: number[] = [];
  const counted: RevocationLister = async (since) => {
    const page = await listRevocations(since);
    sizes.push(page.revocations.length);
    return page;
  };
  const revocations = new Revocations();
  const following = followRevocations({ nats: natsConnection, revocations, list: counted, log, relistMs: 3_600_000 });
  t.teardown(() => following.stop());
  await following.primed;
  t.true(revocations.size >= many, `held ${revocations.size} from pages of ${sizes.join(', ')}`);
  t.true(sizes.length >= 3, `pages: ${sizes.join(', ')}`);
  t.true(sizes.every((n) => n <= REVOCATION_PAGE_SIZE + 2), `at most a page and the rest of its millisecond: ${sizes.join(', ')}`);
  const all = await allRevocations();
  t.is(new Set(all.map((r) => r.userId)).size, all.length, 'no deletion twice across pages');
  t.deepEqual([...all.map((r) => r.expireTime!)], [...all.map((r) => r.expireTime!)].sort(), 'the earliest deletion first');
});

test.serial('a page never splits a millisecond: the rest of it comes along, and the next page starts after it', async (t) => {
  const at = new Date('2001-02-03T04:05:06.007Z');
  await database.pool.query(
    `INSERT INTO events (id, stream_type, stream_id, version, type, data, occurred_at)
     SELECT gen_random_uuid(), 'user', 'tie-' || i, 1, 'shop.user.v1.UserDeleted', '{}', $1::timestamptz + make_interval(secs => i / 10000.0)
     FROM generate_series(1, 12) AS i`,
    [at],
  );
  t.teardown(() => database.pool.query("DELETE FROM events WHERE stream_id LIKE 'tie-%'"));
  const deleted = postgresDeletedAccounts(database.pool);
  // 0.1 ms apart: tie-1..9 in one millisecond, tie-10..12 in the next.
  const first = await deleted.page(at, 2);
  t.deepEqual(first.deleted.map((d) => d.userId), ['tie-1', 'tie-2', 'tie-3', 'tie-4', 'tie-5', 'tie-6', 'tie-7', 'tie-8', 'tie-9']);
  t.true(first.more);
  const second = await deleted.page(new Date(at.getTime() + 1), 2);
  t.deepEqual(second.deleted.map((d) => d.userId), ['tie-10', 'tie-11', 'tie-12']);
  const third = await deleted.page(new Date(at.getTime() + 2), 2);
  t.false(third.deleted.some((d) => d.userId.startsWith('tie-')), 'nothing of the earlier pages again');
});

test.serial('since lists only the deletions at or after it; after the first listing a verifier asks from its last deletion less the overlap', async (t) => {
  await deletions(t, 30, 10_000);
  const everything = await allRevocations();
  const fresh = await signedIn();
  await asService().deleteAccount({ userId: fresh.userId });
  const deletedAt = Date.now();
  const recent = await asService().listRevocations({ since: new Date(deletedAt - 5_000).toISOString() });
  const { rows: older } = await database.pool.query<{ stream_id: string }>("SELECT stream_id FROM events WHERE type = 'shop.user.v1.UserDeleted' AND data = '{}'");
  t.is(older.length, 30);
  t.true(older.every((o) => everything.some((r) => r.userId === o.stream_id)), 'all listed without since');
  t.true(recent.revocations.some((r) => r.userId === fresh.userId));
  t.false(recent.revocations.some((r) => older.some((o) => o.stream_id === r.userId)), 'the 30 older ones left out');

  const asked: Array<string | undefined> = [];
  const following = followRevocations({ nats: natsConnection, revocations: new Revocations(), list: (since) => (asked.push(since), listRevocations(since)), log, relistMs: 50 });
  t.teardown(() => following.stop());
  await waitFor('a listing after the first', () => asked.length >= 2);
  t.is(asked[0], undefined, 'from scratch');
  t.is(asked[1], new Date(Date.parse(recent.nextSince!) - RELIST_OVERLAP_MS).toISOString(), 'from the last deletion, less the overlap');
});

test.serial('since beyond what a JavaScript Date holds is INVALID_ARGUMENT naming since', async (t) => {
  // The generated client cannot write it: the request's bytes by hand (field 1, a Timestamp).
  const timestamp = Buffer.from(Timestamp.encode({ seconds: 8_640_000_000_001, nanos: 0 }).finish());
  const request = Buffer.concat([Buffer.from([0x0a, timestamp.length]), timestamp]);
  const metadata = await identity.metadata();
  const err = await t.throwsAsync<grpc.ServiceError>(
    new Promise((resolve, reject) =>
      raw.makeUnaryRequest('/shop.user.v1.UserCommandService/ListRevocations', (b: Buffer) => b, (b: Buffer) => b, request, metadata, (e, r) => (e ? reject(e) : resolve(r))),
    ),
  );
  t.is(err?.code, grpc.status.INVALID_ARGUMENT, err?.message);
  t.regex(err?.details ?? '', /since/);
});
