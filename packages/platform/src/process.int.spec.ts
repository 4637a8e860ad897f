/**
 * The process builders (postgres/process.ts, kafka.ts, nats.ts, grpc/serve.ts) give every
 * process the same wiring, which process.fixture.ts alone exercises: migrations applied, a
 * pool named after the process, topics made, readiness checks for Postgres and NATS, the
 * gRPC server stopped first and the pool last; and a NATS connection closed for good (here,
 * the server restarted with credentials the process lacks) stops the process with exit 1,
 * for its supervisor to start it afresh, instead of leaving it running without NATS.
 */
import test from 'ava';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { createTestAuth, createTestDatabase, freePort, spawnProcess, startPrivateNats, testKafka, testLogger, type PrivateNats, type SpawnedProcess, type TestDatabase } from '@shop/testing';
import { urls } from '@shop/tools/topology';

const fixture = fileURLToPath(new URL('./process.fixture.ts', import.meta.url));
const { log } = testLogger();
let db: TestDatabase;
let nats: PrivateNats;
const children: SpawnedProcess[] = [];

test.before(async () => {
  db = await createTestDatabase('builders');
  nats = await startPrivateNats();
});

test.after.always(async () => {
  for (const c of children) c.child.kill('SIGKILL');
  await nats?.destroy();
  await db?.drop();
});

async function start(topic: string, more: Record<string, string> = {}) {
  const auth = await createTestAuth();
  const httpPort = await freePort();
  const proc = spawnProcess(fixture, {
    SHOP_ENVIRONMENT: 'development',
    LOG_LEVEL: 'info',
    HTTP_PORT: String(httpPort),
    GRPC_PORT: String(await freePort()),
    AUTH_JWKS: JSON.stringify(auth.jwks),
    SERVICE_TOKEN_KEY: auth.serviceKey,
    DATABASE_URL: db.url,
    DATABASE_POOL_MAX: '3',
    KAFKA_BROKERS: urls.kafkaBrokers.join(','),
    NATS_URL: nats.url,
    TOPIC: topic,
    ...more,
  });
  children.push(proc);
  await proc.line(/"msg":"started"/);
  return { proc, readyz: async () => (await fetch(`http://127.0.0.1:${httpPort}/readyz`)).json() as Promise<{ status: string; checks: Record<string, string> }> };
}

async function query<T extends pg.QueryResultRow>(sql: string): Promise<T[]> {
  const client = new pg.Client({ connectionString: db.url });
  await client.connect();
  try {
    return (await client.query<T>(sql)).rows;
  } finally {
    await client.end();
  }
}

test.serial('a built process migrates, names its connections, makes its topics, checks Postgres and NATS, and stops the server first and the pool last', async (t) => {
  const topic = `builders.${randomBytes(4).toString('hex')}`;
  const { proc, readyz } = await start(topic);

  t.like(await readyz(), { status: 'ready', checks: { accepting: 'ok', postgres: 'ok', nats: 'ok' } });
  const migrations = await query<{ id: string }>('SELECT id FROM schema_migrations ORDER BY id');
  t.true(migrations.length > 0 && migrations.every((m) => m.id.startsWith('outbox/')), JSON.stringify(migrations));
  t.true((await query<{ n: number }>("SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = 'builders-fixture'"))[0]!.n > 0, 'the pool names its connections after the process');
  const admin = testKafka(log).admin();
  await admin.connect();
  t.teardown(() => admin.disconnect());
  const { topics } = await admin.fetchTopicMetadata({ topics: [topic] });
  t.is(topics[0]?.partitions.length, 3);

  proc.child.kill('SIGTERM');
  const [code] = await proc.exited;
  t.is(code, 0);
  t.deepEqual(
    proc.logs().filter((l) => l.msg === 'stopping').map((l) => l.hook),
    ['readiness', 'grpc', 'worker', 'nats', 'postgres', 'ops-server'],
  );
  t.is((await query<{ n: number }>("SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = 'builders-fixture'"))[0]!.n, 0, 'the pool is closed');
});

test.serial('a NATS connection closed for good stops the process with exit 1', async (t) => {
  const { proc } = await start(`builders.${randomBytes(4).toString('hex')}`);
  t.teardown(() => nats.crash().then(() => nats.start()));
  await nats.crash();
  // The client reconnects for ever, but a server that refuses its credentials closes it.
  await nats.start({ token: randomBytes(16).toString('hex') });
  const [code] = await proc.exited;
  t.is(code, 1);
  t.truthy(proc.logs().find((l) => l.msg === 'NATS connection closed: stopping the process'), proc.lines.slice(-10).join('\n'));
  t.true(proc.logs().some((l) => l.msg === 'stopping' && l.hook === 'postgres'), 'it stopped gracefully');
});

test.serial('an optional NATS connection closed for good is logged as an error, and the process stays up and ready', async (t) => {
  const { proc, readyz } = await start(`builders.${randomBytes(4).toString('hex')}`, { NATS_OPTIONAL: 'true' });
  t.teardown(() => nats.crash().then(() => nats.start()));
  t.false('nats' in (await readyz()).checks, 'no readiness check for an optional connection');
  await nats.crash();
  await nats.start({ token: randomBytes(16).toString('hex') });
  await proc.line(/NATS connection closed for good/);
  t.like(await readyz(), { status: 'ready' });
  t.is(proc.child.exitCode, null, 'still running');
  proc.child.kill('SIGTERM');
  t.deepEqual(await proc.exited, [0, null]);
});
