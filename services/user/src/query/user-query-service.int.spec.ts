import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import test from 'ava';
import * as grpc from '@grpc/grpc-js';
import type { Kafka } from 'kafkajs';
import { UserQueryServiceClient } from '@shop/contracts/shop/user/v1/query_service';
import { listenerFor, migrateProjection, VersionWaiter } from '@shop/eventsourcing/postgres';
import { startProjector, startRelay, type Projector, type Relay } from '@shop/eventsourcing/kafka';
import { promiseClient, withMetadata, type PromiseClient } from '@shop/platform/grpc/client';
import type { GrpcServer } from '@shop/platform/grpc/server';
import { createMetrics } from '@shop/platform/metrics';
import { createTestAuth, createTestTopics, testKafka, testLogger, type TestAuth } from '@shop/testing';
import { USER_READ_SCHEMA, userView } from '../projector/user-view.js';
import { serve, startUserCommandService, type UserCommandFixture } from '../test-fixtures.js';
import { UserReader } from './user-reader.js';
import { userQueryService } from './user-query-service.js';

/**
 * Read-your-writes across the whole user service: command → event store → relay → Kafka
 * → projector → read model → query, each real, with a topic and consumer group of this
 * file's own. The waits are generous because a new consumer group takes seconds to join.
 */
const suffix = randomBytes(4).toString('hex');
let topic: string;
let dlqTopic: string;
let user: UserCommandFixture;
let relay: Relay;
let projector: Projector;
let kafka: Kafka;
let server: GrpcServer;
let raw: UserQueryServiceClient;
/** Calls as a service of the shop (reads any user). */
let q: PromiseClient<UserQueryServiceClient>;
/** The same server without a token of its own: a call passes a customer's, or none. */
let bare: PromiseClient<UserQueryServiceClient>;
/** The keys the query server verifies its callers with. */
let auth: TestAuth;
let waiter: VersionWaiter;

test.before(async () => {
  const { log } = testLogger();
  user = await startUserCommandService(log);
  kafka = testKafka(log, `user-test-${suffix}`);
  ({ topic, dlq: dlqTopic } = await createTestTopics(kafka, 'user'));
  await migrateProjection(user.pool, userView);
  const registry = createMetrics('user-test');
  relay = await startRelay({ pool: user.pool, name: 'user', table: 'events', kafka, topicFor: () => topic, log, registry });
  projector = await startProjector({ kafka, pool: user.pool, store: user.store, projection: userView, topics: [topic], dlqTopic, groupId: `user-view-test-${suffix}`, log, registry });
  waiter = new VersionWaiter({ db: user.pool, connect: listenerFor(user.pool, 'user-query-test'), schema: USER_READ_SCHEMA, log });
  auth = await createTestAuth();
  server = await serve([userQueryService(new UserReader(user.pool, waiter), { maxWaitMs: 60_000 })], log, 'user-query-test', auth.authenticate);
  raw = new UserQueryServiceClient(`127.0.0.1:${server.port}`, grpc.credentials.createInsecure());
  bare = promiseClient(raw, 120_000, false);
  q = withMetadata(bare, async () => (await auth.asService('user-query-test')).metadata);
});

test.after.always(async () => {
  raw?.close();
  await server?.shutdown();
  await waiter?.close();
  await projector?.stop();
  await relay?.stop();
  await user?.close();
  if (kafka) {
    const admin = kafka.admin();
    await admin.connect();
    await admin.deleteTopics({ topics: [topic, dlqTopic] }).finally(() => admin.disconnect());
  }
});

const PASSWORD = 'correct horse battery';
const name = (tag: string) => `${tag}_${randomBytes(3).toString('hex')}`;
const register = async (username: string) => {
  const res = await user.c.registerUser({ username, email: `${username}@example.com`, password: PASSWORD, displayName: '' });
  return { userId: res.userId, version: res.result!.version };
};

test('GetUser with min_version answers the registration and each profile change', async (t) => {
  const username = name('ada');
  const { userId, version } = await register(username);
  const read = await q.getUser({ userId, minVersion: version });
  t.false(read.stale);
  t.like(read.user, { id: userId, username, email: `${username}@example.com`, displayName: username, emailVerified: false, version: 1 });
  t.is(read.user?.shippingAddress, undefined);
  t.truthy(read.user?.createTime);

  const address = { recipient: 'Ada', line1: '1 Main St', line2: '', city: 'Berlin', region: '', postalCode: '10115', countryCode: 'DE' };
  const updated = await user.c.updateProfile({ userId, displayName: 'Ada L.', shippingAddress: address });
  const after = await q.getUser({ userId, minVersion: updated.result!.version });
  t.like(after.user, { displayName: 'Ada L.', shippingAddress: address, version: 2 });

  // A change invisible in the view still moves its version.
  const changed = await user.c.changePassword({ userId, currentPassword: PASSWORD, newPassword: 'another long secret' });
  t.is((await q.getUser({ userId, minVersion: changed.result!.version })).version, 3);
});

test('the verified flag follows EmailVerified', async (t) => {
  const { userId } = await register(name('eve'));
  await user.c.requestEmailVerification({ userId });
  const token = user.mails.find((m) => m.userId === userId)!.token;
  const verified = await user.c.verifyEmail({ userId, token });
  t.true((await q.getUser({ userId, minVersion: verified.result!.version })).user?.emailVerified);
});

test('GetUserByUsername finds a user in any case; an unknown one is NOT_FOUND', async (t) => {
  const username = name('bob');
  const { userId, version } = await register(username);
  await q.getUser({ userId, minVersion: version });
  t.is((await q.getUserByUsername({ username: username.toUpperCase() })).user?.id, userId);
  const err = await t.throwsAsync<grpc.ServiceError>(q.getUserByUsername({ username: 'nobody-here' }));
  t.is(err?.code, grpc.status.NOT_FOUND);
});

test('delete removes the user from the read model; the username can be registered again', async (t) => {
  const username = name('del');
  const { userId, version } = await register(username);
  await q.getUser({ userId, minVersion: version });
  const deleted = await user.c.deleteAccount({ userId });
  // The row goes, so min_version cannot be seen: wait until the user is gone.
  for (let i = 0; i < 300; i++) {
    const { rows } = await user.pool.query('SELECT 1 FROM user_read.users WHERE id = $1', [userId]);
    if (rows.length === 0) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  const err = await t.throwsAsync<grpc.ServiceError>(q.getUser({ userId, minVersion: 0 }));
  t.is(err?.code, grpc.status.NOT_FOUND);
  t.is(deleted.result?.version, 2);
  const { rows } = await user.pool.query('SELECT 1 FROM user_read.users WHERE username = $1 OR email = $2', [username, `${username}@example.com`]);
  t.is(rows.length, 0, 'no personal data left in the read model');

  const again = await register(username);
  t.not(again.userId, userId);
  t.is((await q.getUser({ userId: again.userId, minVersion: again.version })).user?.username, username);
  t.is((await q.getUserByUsername({ username })).user?.id, again.userId);
});

test('ListUsers pages through every user in username order', async (t) => {
  const prefix = name('list');
  const mine = [];
  for (const i of [3, 1, 4, 2, 5]) mine.push(await register(`${prefix}_${i}`));
  for (const m of mine) await q.getUser({ userId: m.userId, minVersion: m.version });
  const seen: string[] = [];
  let pageToken = '';
  for (let pages = 0; pages < 1000; pages++) {
    const res = await q.listUsers({ page: { pageSize: 2, pageToken } });
    t.true(res.users.length <= 2);
    seen.push(...res.users.map((u) => u.username));
    pageToken = res.page?.nextPageToken ?? '';
    if (!pageToken) break;
  }
  t.deepEqual(seen, [...seen].sort());
  t.is(new Set(seen).size, seen.length);
  t.deepEqual(seen.filter((u) => u.startsWith(prefix)), [1, 2, 3, 4, 5].map((i) => `${prefix}_${i}`));
});

test("a customer reads only their own user: someone else's is PERMISSION_DENIED, without a token UNAUTHENTICATED", async (t) => {
  const { userId, version } = await register(name('self'));
  const other = await register(name('other'));
  await q.getUser({ userId: other.userId, minVersion: other.version });
  const me = await auth.asCustomer(userId);

  t.is((await bare.getUser({ userId, minVersion: version }, me)).user?.id, userId);
  const someoneElse = await t.throwsAsync<grpc.ServiceError>(bare.getUser({ userId: other.userId, minVersion: 0 }, me));
  t.is(someoneElse?.code, grpc.status.PERMISSION_DENIED);
  const none = await t.throwsAsync<grpc.ServiceError>(bare.getUser({ userId, minVersion: 0 }));
  t.is(none?.code, grpc.status.UNAUTHENTICATED);
});

test('looking users up by name and listing them are for services: a customer is PERMISSION_DENIED, no token UNAUTHENTICATED', async (t) => {
  const username = name('peer');
  const { userId, version } = await register(username);
  await q.getUser({ userId, minVersion: version });
  const customer = await auth.asCustomer(userId);

  for (const call of [
    (o?: { metadata: Record<string, string> }) => bare.getUserByUsername({ username }, o),
    (o?: { metadata: Record<string, string> }) => bare.listUsers({ page: { pageSize: 10, pageToken: '' } }, o),
  ]) {
    t.is((await t.throwsAsync<grpc.ServiceError>(call(customer)))?.code, grpc.status.PERMISSION_DENIED);
    t.is((await t.throwsAsync<grpc.ServiceError>(call()))?.code, grpc.status.UNAUTHENTICATED);
  }
  t.is((await q.getUserByUsername({ username })).user?.id, userId);
});

test('bad query input is INVALID_ARGUMENT naming the field', async (t) => {
  const cases: Array<[Promise<unknown>, string]> = [
    [q.getUser({ userId: 'nope', minVersion: 0 }), 'user_id'],
    [q.getUser({ userId: '0196a3c0-0000-7000-8000-000000000001', minVersion: -1 }), 'min_version'],
    [q.getUserByUsername({ username: ' ' }), 'username'],
    [q.listUsers({ page: { pageSize: -1, pageToken: '' } }), 'page.page_size'],
    [q.listUsers({ page: { pageSize: 10, pageToken: 'garbage' } }), 'page.page_token'],
  ];
  for (const [call, field] of cases) {
    const err = await t.throwsAsync<grpc.ServiceError>(call);
    t.is(err?.code, grpc.status.INVALID_ARGUMENT, err?.details);
    t.true(err?.details.startsWith(`${field}: `), err?.details);
  }
});

test('a user that does not exist, or a version their stream does not hold, is answered at once', async (t) => {
  const { userId, version } = await register(name('stale'));
  await q.getUser({ userId, minVersion: version });
  // The server would wait a minute for each: nothing will ever bring these versions.
  const within30s = <T>(call: Promise<T>) => Promise.race([call.then((value) => ({ value }), (error: grpc.ServiceError) => ({ error })), sleep(30_000).then(() => 'still waiting' as const)]);
  const beyond = await within30s(q.getUser({ userId, minVersion: version + 5 }));
  t.not(beyond, 'still waiting');
  const read = typeof beyond === 'object' && 'value' in beyond ? beyond.value : undefined;
  t.true(read?.stale);
  t.is(read?.version, version);
  const missing = await within30s(q.getUser({ userId: '0196a3c0-0000-7000-8000-0000000000ff', minVersion: 1 }));
  t.is(typeof missing === 'object' && 'error' in missing ? missing.error.code : undefined, grpc.status.NOT_FOUND);
});
