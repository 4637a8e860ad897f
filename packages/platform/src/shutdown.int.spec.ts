import test from 'ava';
import { randomBytes, randomUUID } from 'node:crypto';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import { service as healthService } from 'grpc-health-check';
import type { Kafka } from 'kafkajs';
import { CartQueryServiceClient } from '@shop/contracts/shop/cart/v1/query_service';
import { cartCommandHandler, cartMigrations, cartView, CART_READ_SCHEMA, SHOP } from '@shop/cart';
import { applyEvents, eventStoreMigrations, migrateProjection, notifyChanged, PostgresEventStore, toKafkaMessage } from '@shop/eventsourcing';
import { counterProjection } from '@shop/eventsourcing/testing/counter-projection';
import { urls } from '@shop/tools/topology';
import { createTestAuth, createTestDatabase, createTestTopics, freePort, testKafka, testLogger, waitFor, type TestDatabase } from '@shop/testing';
import { promiseClient } from './grpc/client.js';
import { migrate } from './postgres/migrate.js';
import { createPool, withTransaction, type Pool } from './postgres/pool.js';

/**
 * SIGTERM to real processes in the middle of work: the work finishes, the process stops
 * advertising itself first, and it exits 0. The cart's own query process, and a projector
 * process wired as the projector mains are (its consumer group its own, not the stack's).
 */
const { log } = testLogger();
let db: TestDatabase;
let pool: Pool;
let store: PostgresEventStore;
let kafka: Kafka;
const children: ChildProcess[] = [];

test.before(async () => {
  db = await createTestDatabase('shutdown');
  pool = createPool({ url: db.url, max: 5, log });
  await migrate(pool, [eventStoreMigrations, cartMigrations], log);
  await migrateProjection(pool, cartView);
  store = new PostgresEventStore(pool);
  kafka = testKafka(log, 'shutdown-test');
});

test.after.always(async () => {
  for (const c of children) c.kill('SIGKILL');
  await pool?.end();
  await db?.drop();
});

const repo = (path: string) => fileURLToPath(new URL(`../../../${path}`, import.meta.url));

/** A process of the shop started as the stack starts it, its JSON log lines kept. */
function start(entry: string, env: Record<string, string>) {
  const child = spawn(process.execPath, ['--import', 'tsx', repo(entry)], {
    env: { ...process.env, SHOP_ENVIRONMENT: 'development', LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  const lines: Array<Record<string, unknown>> = [];
  let rest = '';
  child.stdout!.on('data', (d: Buffer) => {
    const parts = (rest + d.toString('utf8')).split('\n');
    rest = parts.pop()!;
    for (const p of parts) if (p.startsWith('{')) lines.push(JSON.parse(p) as Record<string, unknown>);
  });
  child.stderr!.on('data', (d: Buffer) => log.warn({ child: entry, stderr: d.toString() }));
  const exited = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
  const logged = (msg: string) => waitFor(`"${msg}" in the log of ${entry}`, () => lines.some((l) => l.msg === msg), { timeoutMs: 60_000 });
  const stopOrder = () => lines.filter((l) => l.msg === 'stopping').map((l) => l.hook);
  return { child, lines, exited, logged, stopOrder };
}

const readyz = async (port: number) => (await fetch(`http://127.0.0.1:${port}/readyz`)).status;

test('SIGTERM during a read-your-writes wait of the cart query process: the wait is answered, health goes NOT_SERVING first, and it exits 0', async (t) => {
  const auth = await createTestAuth();
  const [grpcPort, httpPort] = [await freePort(), await freePort()];
  const query = start('services/cart/src/query/main.ts', {
    DATABASE_URL: db.url,
    GRPC_PORT: String(grpcPort),
    HTTP_PORT: String(httpPort),
    AUTH_JWKS: JSON.stringify(auth.jwks),
    SERVICE_TOKEN_KEY: auth.serviceKey,
    // Far longer than the test needs: the answer must come from the version, not the clock.
    MIN_VERSION_WAIT_MS: '10000',
  });
  await waitFor('the query process to be ready', async () => (await readyz(httpPort)) === 200, { timeoutMs: 60_000 });

  // A cart at version 1 in the store that the read model has not applied yet.
  const cartId = randomUUID();
  await cartCommandHandler(store).handle(cartId, { type: 'AddItem', cartId, productId: 'p1', productName: 'Desk lamp', unitPrice: { cents: 2599, currency: 'USD' }, quantity: 2, by: SHOP });

  const address = `127.0.0.1:${grpcPort}`;
  const Health = grpc.makeGenericClientConstructor(healthService, 'Health');
  const health = new Health(address, grpc.credentials.createInsecure());
  const raw = new CartQueryServiceClient(address, grpc.credentials.createInsecure());
  t.teardown(() => {
    health.close();
    raw.close();
  });
  const statuses: string[] = [];
  const watch = (health as unknown as { Watch(req: { service: string }): grpc.ClientReadableStream<{ status: string }> }).Watch({ service: '' });
  watch.on('data', (m: { status: string }) => statuses.push(String(m.status)));
  watch.on('error', () => undefined);
  await waitFor('the health watch to say SERVING', () => statuses.includes('SERVING'));

  const c = promiseClient(raw, 30_000, false);
  const answer = c.getCart({ cartId, minVersion: 1 }, await auth.asService());
  // Awaited below; an early failure must fail this test, not the worker.
  answer.catch(() => undefined);
  await waitFor('the query to be waiting for version 1', async () => {
    const { rows } = await pool.query(`SELECT 1 FROM pg_stat_activity WHERE datname = $1 AND application_name = 'cart-query:listen' AND query LIKE 'LISTEN%'`, [db.name]);
    return rows.length > 0;
  });

  query.child.kill('SIGTERM');
  await waitFor('the health watch to say NOT_SERVING', () => statuses.includes('NOT_SERVING'));
  t.is(await readyz(httpPort), 503, '/readyz stops advertising the process while it drains');
  watch.cancel();
  // Only now does the projector apply version 1 (and notify), as it would in the window.
  await withTransaction(pool, async (tx) => {
    const applied = await applyEvents(tx, cartView, CART_READ_SCHEMA, store, await store.readStream(cartId));
    await notifyChanged(tx, CART_READ_SCHEMA, applied.docs.keys());
  });

  const res = await answer;
  t.like(res, { version: 1, stale: false });
  t.is(res.cart!.lines.length, 1);
  const [code, signal] = await query.exited;
  t.is(signal, null);
  t.is(code, 0);
  t.deepEqual(query.stopOrder(), ['readiness', 'grpc', 'read-model-waits', 'postgres', 'ops-server']);
});

test('SIGTERM during a projector batch: the batch commits, its offsets are committed, and the process exits 0', async (t) => {
  const tag = randomBytes(3).toString('hex');
  const streamType = `counter_${tag}`;
  const projection = counterProjection(`rm_${tag}`, streamType);
  await migrateProjection(pool, projection);
  const { topic, dlq } = await createTestTopics(kafka, `shutdown-${tag}`, 1);
  const streams = [randomUUID(), randomUUID(), randomUUID()];
  for (const id of streams) await store.append(streamType, id, Array.from({ length: 10 }, (_, n) => ({ type: 'test.v1.Counted', data: { n } })), 'no_stream');
  const producer = kafka.producer();
  await producer.connect();
  await producer.send({ topic, messages: (await store.readAll({ transactionId: '0', position: 0 }, { streamTypes: [streamType] })).map(toKafkaMessage) });
  await producer.disconnect();

  // Hold the read model's table, so that the projector's first batch is caught half-way.
  const holder = await pool.connect();
  // Destroyed, not pooled: a test that fails before COMMIT must not leave its transaction to the next user.
  t.teardown(() => holder.release(true));
  await holder.query('BEGIN');
  await holder.query(`LOCK TABLE ${projection.schema}.counters IN SHARE MODE`);

  const httpPort = await freePort();
  const projector = start('packages/eventsourcing/src/testing/counter-projector-main.ts', {
    DATABASE_URL: db.url,
    KAFKA_BROKERS: urls.kafkaBrokers.join(','),
    HTTP_PORT: String(httpPort),
    TOPIC: topic,
    DLQ_TOPIC: dlq,
    SCHEMA: projection.schema,
    STREAM_TYPE: streamType,
  });
  await waitFor('the projector\'s batch to wait on the table', async () => {
    const { rows } = await pool.query(`SELECT 1 FROM pg_stat_activity WHERE datname = $1 AND application_name = 'counter-projector' AND wait_event_type = 'Lock'`, [db.name]);
    return rows.length > 0;
  }, { timeoutMs: 90_000 });

  projector.child.kill('SIGTERM');
  await projector.logged('shutting down');
  t.is(await readyz(httpPort), 503);
  await holder.query('COMMIT');

  const [code, signal] = await projector.exited;
  t.is(signal, null);
  t.is(code, 0);
  t.deepEqual(projector.stopOrder(), ['readiness', 'projector', 'postgres', 'ops-server']);
  const { rows } = await pool.query<{ n: number }>(`SELECT coalesce(sum(version), 0)::int AS n FROM ${projection.schema}.stream_checkpoints`);
  const applied = rows[0]!.n;
  t.true(applied > 0, 'the batch in flight was finished, not abandoned');
  // What was applied is exactly what the group has committed: a restart re-applies nothing and skips nothing.
  const admin = kafka.admin();
  await admin.connect();
  try {
    const [offsets] = await admin.fetchOffsets({ groupId: `projector.${projection.name}`, topics: [topic] });
    t.is(Number(offsets!.partitions[0]!.offset), applied);
  } finally {
    await admin.disconnect();
  }
  t.log(`${applied} of 30 events applied and committed in the batch caught by SIGTERM`);
});
