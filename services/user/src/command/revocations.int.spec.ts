import test from 'ava';
import * as grpc from '@grpc/grpc-js';
import { UserCommandServiceClient } from '@shop/contracts/shop/user/v1/command_service';
import { ACCESS_TOKEN_AUDIENCE, ACCESS_TOKEN_ISSUER, createTokenVerifier } from '@shop/platform/auth';
import { accessTokenAuthenticator, createServiceIdentity } from '@shop/platform/auth/caller';
import { followRevocations, REVOCATION_LIST_MAX_BYTES, Revocations } from '@shop/platform/auth/revocations';
import { UnavailableError } from '@shop/platform/errors';
import { promiseClient, withMetadata } from '@shop/platform/grpc/client';
import type { GrpcServer } from '@shop/platform/grpc/server';
import { newId, type Clock } from '@shop/platform/ids';
import { connectNats } from '@shop/platform/nats';
import { startPrivateNats, testLogger, waitFor, type PrivateNats } from '@shop/testing';
import type { NatsConnection } from 'nats';
import { PostgresEventStore } from '@shop/eventsourcing';
import { createUserDatabase, serve } from '../test-fixtures.js';
import { sealedStore } from '../personal-data/sealed-store.js';
import { RefreshTokens } from './credentials.js';
import { argon2Hasher } from './passwords.js';
import { natsRevocations } from './adapters/nats-revocation-publisher.js';
import { postgresDeletedAccounts } from './adapters/postgres-deleted-accounts.js';
import { REVOCATION_GRACE_SECONDS, revocationsInForce } from './revocations.js';
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
const listRevocations = async () => (await asService().listRevocations({})).revocations;

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
  t.deepEqual(await verifier.verify(ada.accessToken), { userId: ada.userId });

  await asService().deleteAccount({ userId: ada.userId });
  await t.throwsAsync(verifier.verify(ada.accessToken), { message: 'access token revoked' });
  t.deepEqual(await verifier.verify(bob.accessToken), { userId: bob.userId }, 'nobody else is refused');

  const listed = (await listRevocations()).find((r) => r.userId === ada.userId);
  t.truthy(listed, 'listed to a service');
  t.true(Date.parse(listed!.expireTime!) > Date.now() + TTL_SECONDS * 1000, 'until every token issued before it has expired');
  t.is(await codeOf(promiseClient(raw, 30_000, false).listRevocations({}, { metadata: { authorization: `Bearer ${bob.accessToken}` } })), 'PERMISSION_DENIED');
  t.is(await codeOf(anonymous().listRevocations({})), 'UNAUTHENTICATED');

  offsetMs += (TTL_SECONDS + REVOCATION_GRACE_SECONDS) * 1000 + 1_000;
  t.teardown(() => void (offsetMs = 0));
  t.false((await listRevocations()).some((r) => r.userId === ada.userId), 'forgotten once every token it refused has expired');
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
    list: () => (reachable ? listRevocations() : Promise.reject(new UnavailableError('user-command is down'))),
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

test.serial('a listing larger than gRPC\'s default 4 MB reaches a verifier through a channel with REVOCATION_LIST_MAX_BYTES', async (t) => {
  const many = 90_000;
  await database.pool.query(
    `INSERT INTO events (id, stream_type, stream_id, version, type, data)
     SELECT gen_random_uuid(), 'user', gen_random_uuid()::text, 1, 'shop.user.v1.UserDeleted', '{}' FROM generate_series(1, $1::int)`,
    [many],
  );
  t.teardown(() => database.pool.query("DELETE FROM events WHERE type = 'shop.user.v1.UserDeleted' AND data = '{}'"));
  const metadata = await identity.metadata();
  t.is(await codeOf(promiseClient(raw, 60_000, false).listRevocations({}, { metadata })), 'RESOURCE_EXHAUSTED', 'beyond the default limit');

  const channel = new UserCommandServiceClient(`127.0.0.1:${server.port}`, grpc.credentials.createInsecure(), { 'grpc.max_receive_message_length': REVOCATION_LIST_MAX_BYTES });
  t.teardown(() => channel.close());
  const { revocations: listed } = await promiseClient(channel, 60_000, false).listRevocations({}, { metadata });
  t.true(listed.length >= many, `listed ${listed.length}`);
  const revocations = new Revocations();
  for (const r of listed) revocations.add(r);
  t.true(revocations.size >= many, `held ${revocations.size}`);
});
