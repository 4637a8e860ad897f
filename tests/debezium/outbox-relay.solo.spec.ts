/**
 * The Debezium relay (RELAY=debezium) publishes a CRUD service's outbox as the built-in relay
 * does. One outbox table in a private Postgres with logical decoding (the stack's runs without
 * until restarted), written through platform/outbox.ts enqueue: transactions of several rows,
 * one rolled back. The built-in relay publishes it to topic A; a real Kafka Connect worker
 * (the stack's start code) with the stack's connector configuration publishes it to topic B
 * (every row, as product's relay) and C (the `order` rows only, as order's relay). Same
 * events, keys, partitions, per-key order, value bytes and headers; the rolled-back row on
 * none. Then the worker is SIGKILLed while rows are written and started again: nothing lost.
 * Last, the replication slots follow WAL written to another database while the outbox is
 * quiet (the stack's Postgres serves every service: a slot that stood still would make it
 * keep all of their WAL).
 */
import test from 'ava';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import type { IHeaders, Kafka, KafkaMessage } from 'kafkajs';
import { enqueue, outboxMigrations, type OutboxEvent } from '@shop/platform/outbox';
import { migrate } from '@shop/platform/postgres/migrate';
import { createPool, withTransaction, type Pool } from '@shop/platform/postgres/pool';
import { createMetrics } from '@shop/platform/metrics';
import { fromKafkaValue, relayMigrations, startRelay, type Relay } from '@shop/eventsourcing/kafka';
import { createTestTopics, freePort, startPrivatePostgres, testKafka, testLogger, waitFor, type PrivatePostgres } from '@shop/testing';
import { urls } from '@shop/tools/topology';
import { installKafkaConnect } from '@shop/tools/install/kafka-connect';
import { startConnectWorker, type ConnectWorker } from '@shop/tools/debezium/connect';
import { awaitConnectorsRunning, ensureReplicationRole, outboxConnectorConfig, prepareOutboxReplication, type ConnectorConfig } from '@shop/tools/debezium/connector';
import { retireDebeziumRelay } from '@shop/tools/debezium/stack';

const { log } = testLogger();

interface Received {
  key: string;
  partition: number;
  value: string;
  headers: Record<string, string>;
}

const headerText = (headers: IHeaders | undefined): Record<string, string> =>
  Object.fromEntries(Object.entries(headers ?? {}).map(([k, v]) => [k, Buffer.isBuffer(v) ? v.toString('utf8') : String(v)]));

/** Everything a topic holds from its beginning on, read on and on in the background. */
function readTopic(kafka: Kafka, topic: string) {
  const received: Received[] = [];
  const consumer = kafka.consumer({ groupId: `test-debezium-${randomUUID()}`, maxWaitTimeInMs: 100 });
  const running = (async () => {
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ partition, message }: { partition: number; message: KafkaMessage }) => {
        received.push({ key: message.key!.toString('utf8'), partition, value: message.value!.toString('utf8'), headers: headerText(message.headers) });
      },
    });
  })();
  return {
    received,
    /** Waits until every id of `ids` arrived (each at least once). */
    async until(ids: string[], timeoutMs = 120_000): Promise<void> {
      await running;
      await waitFor(`${ids.length} events on ${topic}`, () => {
        const seen = new Set(received.map((r) => r.headers.id));
        return ids.every((id) => seen.has(id)) || undefined;
      }, { timeoutMs, intervalMs: 200 });
    },
    stop: () => consumer.disconnect(),
  };
}

const streams = { product: [randomUUID(), randomUUID()], reservation: [randomUUID()], order: [randomUUID(), randomUUID()] };
const versions = new Map<string, number>();
const traceparent = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';

/** An event of the next version of `streamId`, with data that exercises JSON's corners. */
function nextEvent(streamType: keyof typeof streams, streamId: string, n: number): OutboxEvent {
  const version = (versions.get(streamId) ?? 0) + 1;
  versions.set(streamId, version);
  return {
    streamType,
    streamId,
    version,
    type: `shop.${streamType}.v1.Changed`,
    data: {
      name: `Tea pot "${n}" – ünïcode ✓ \\ / \n\t`,
      priceCents: 2900 + n,
      weightKg: 1.25,
      stock: '9007199254740993',
      tags: n % 2 ? [] : ['kitchen', { nested: [1, null, true] }],
      empty: {},
    },
    // Every other event carries a well-formed traceparent (a header on both relays), some a malformed one (none on either).
    metadata: n % 3 === 0 ? { correlationId: `c-${n}`, actor: 'test', traceparent } : n % 3 === 1 ? { causationId: `x-${n}`, traceparent: 'not-a-traceparent' } : {},
    occurredAt: new Date(Date.UTC(2026, 11, 6, 5, 0, 0, n)),
  };
}

let eventNo = 0;
/** One transaction of `count` events over the streams in turn; answers their ids (none if rolled back). */
async function writeTransaction(pool: Pool, count: number, { rollback = false } = {}): Promise<string[]> {
  const kinds = Object.keys(streams) as Array<keyof typeof streams>;
  const events: OutboxEvent[] = [];
  for (let i = 0; i < count; i++) {
    const kind = kinds[eventNo % kinds.length]!;
    const ids = streams[kind];
    events.push({ ...nextEvent(kind, ids[eventNo % ids.length]!, eventNo), id: randomUUID() });
    eventNo++;
  }
  if (rollback) {
    const client = await pool.connect();
    try {
      await client.query('BEGIN');
      await enqueue(client, events);
      await client.query('ROLLBACK');
    } finally {
      client.release();
    }
    // The versions it used are free again: the next transaction writes them.
    for (const e of events) versions.set(e.streamId, e.version - 1);
    rolledBack.push(...events.map((e) => e.id!));
    return [];
  }
  await withTransaction(pool, (tx) => enqueue(tx, events));
  return events.map((e) => e.id!);
}

const rolledBack: string[] = [];
const committed: Array<{ id: string; streamType: string }> = [];
async function write(pool: Pool, count: number, opts: { rollback?: boolean } = {}) {
  const kinds = Object.keys(streams) as Array<keyof typeof streams>;
  const start = eventNo;
  const ids = await writeTransaction(pool, count, opts);
  ids.forEach((id, i) => committed.push({ id, streamType: kinds[(start + i) % kinds.length]! }));
}

let postgres: PrivatePostgres;
let pool: Pool;
let kafka: Kafka;
let workerDir: string;
let restPort: number;
let worker: ConnectWorker | undefined;
let relay: Relay;
let connectors: ConnectorConfig[];
let topics: { builtIn: string; all: string; orders: string };
const replicationRole = 'debezium_test';
const passwordMark = randomUUID();
const password = `p@ss:w=rd \\ ü-${passwordMark}`;

test.before(async () => {
  await installKafkaConnect();
  postgres = await startPrivatePostgres({ settings: { wal_level: 'logical', max_replication_slots: 4, max_wal_senders: 4 } });
  const admin = new pg.Client({ connectionString: postgres.url() });
  await admin.connect();
  await admin.query('CREATE DATABASE outbox_relay');
  await admin.end();
  pool = createPool({ url: postgres.url('outbox_relay'), max: 4, log, application: 'debezium-test' });
  await migrate(pool, [outboxMigrations, relayMigrations], log);
  kafka = testKafka(log, 'debezium-test');
  topics = {
    builtIn: (await createTestTopics(kafka, 'outbox-builtin')).topic,
    all: (await createTestTopics(kafka, 'outbox-debezium')).topic,
    orders: (await createTestTopics(kafka, 'outbox-debezium-orders')).topic,
  };
  // The connectors' role as the stack makes it: LOGIN and REPLICATION, then the outbox's
  // grants and publication. The private cluster trusts loopback, so any password passes;
  // what matters is who shows it.
  await ensureReplicationRole(postgres.url(), replicationRole, password);
  const databaseUrl = new URL(postgres.url('outbox_relay'));
  databaseUrl.username = replicationRole;
  databaseUrl.password = encodeURIComponent(password);
  connectors = [
    outboxConnectorConfig({ name: 'test-outbox-all', databaseUrl: databaseUrl.href, topic: topics.all }),
    outboxConnectorConfig({ name: 'test-outbox-orders', databaseUrl: databaseUrl.href, topic: topics.orders, streamTypes: ['order'] }),
  ];
  await prepareOutboxReplication(postgres.url(), connectors);
  workerDir = mkdtempSync(path.join(tmpdir(), 'shop-kafka-connect-'));
  restPort = await freePort();
  relay = await startRelay({ pool, name: 'test-outbox', table: 'outbox', kafka, topicFor: () => topics.builtIn, log, registry: createMetrics('debezium-test'), idleMs: 20 });
});

test.after.always(async () => {
  await relay?.stop();
  if (worker) {
    worker.child.kill('SIGKILL');
    await worker.exited;
  }
  await pool?.end();
  await postgres?.destroy();
  if (workerDir) rmSync(workerDir, { recursive: true, force: true });
});

async function startWorker(): Promise<ConnectWorker> {
  // The connectors' files on its command line, as the stack starts it: a restart needs nothing more.
  const started = await startConnectWorker({ dir: workerDir, restPort, kafkaBrokers: urls.kafkaBrokers, connectors });
  await awaitConnectorsRunning(started.restUrl, connectors.map((c) => c.name), { timeoutMs: 120_000 });
  return started;
}

/** The first arrival of each event, in arrival order: at least once means copies may follow. */
const firstOf = (received: Received[]) => {
  const seen = new Set<string>();
  return received.filter((r) => !seen.has(r.headers.id!) && seen.add(r.headers.id!));
};
/** Each stream's versions in arrival order, by key (keys sorted: the order across streams may differ). */
const perKey = (received: Received[]): Record<string, string[]> => {
  const byKey = new Map<string, string[]>();
  for (const r of received) byKey.set(r.key, [...(byKey.get(r.key) ?? []), r.headers.version!]);
  return Object.fromEntries([...byKey].sort(([a], [b]) => a.localeCompare(b)));
};

test.serial('Debezium publishes the outbox as the built-in relay does: same events, keys, partitions, order, value bytes and headers', async (t) => {
  t.timeout(170_000);
  // Written before the connector exists: its first snapshot publishes them.
  await write(pool, 3);
  await write(pool, 2, { rollback: true });
  await write(pool, 1);
  worker = await startWorker();
  // Streamed from the replication slot.
  for (let i = 0; i < 6; i++) await write(pool, 1 + (i % 4), { rollback: i === 2 });
  t.true(rolledBack.length > 2);

  const all = readTopic(kafka, topics.all);
  const orders = readTopic(kafka, topics.orders);
  const builtIn = readTopic(kafka, topics.builtIn);
  const ids = committed.map((c) => c.id);
  const orderIds = committed.filter((c) => c.streamType === 'order').map((c) => c.id);
  try {
    await relay.drained();
    await Promise.all([builtIn.until(ids), all.until(ids), orders.until(orderIds)]);
    const expected = new Map(builtIn.received.map((r) => [r.headers.id!, r]));
    t.is(builtIn.received.length, ids.length, 'the built-in relay published each event once');
    for (const [name, topic, wanted] of [['all', all, ids], ['orders', orders, orderIds]] as const) {
      const got = firstOf(topic.received);
      t.deepEqual(got.map((r) => r.headers.id).sort(), [...wanted].sort(), `${name}: exactly the committed events (no rolled-back one)`);
      t.is(topic.received.length, got.length, `${name}: no copies without a crash`);
      for (const r of got) {
        const e = expected.get(r.headers.id!)!;
        t.is(r.key, e.key);
        t.is(r.partition, e.partition);
        t.is(r.value, e.value, 'the same value bytes');
        t.deepEqual(r.headers, e.headers);
        t.deepEqual(fromKafkaValue(Buffer.from(r.value)), fromKafkaValue(Buffer.from(e.value)), 'consumers decode the same envelope');
      }
      const expectedOrder = perKey(builtIn.received.filter((r) => wanted.includes(r.headers.id!)));
      t.deepEqual(perKey(got), expectedOrder, `${name}: each stream's versions in the same order`);
    }
    t.false(all.received.some((r) => rolledBack.includes(r.headers.id!)));
    // The cases the headers cover, so that an equality above is not an equality of nothing.
    t.true(all.received.some((r) => r.headers.traceparent === traceparent));
    t.true(all.received.some((r) => !('traceparent' in r.headers) && JSON.parse(r.value).metadata.traceparent === 'not-a-traceparent'));
    t.like(all.received[0]!.headers, { 'content-type': 'application/json' });
    t.true(orders.received.every((r) => JSON.parse(r.value).streamType === 'order'));
  } finally {
    await Promise.all([all.stop(), orders.stop(), builtIn.stop()]);
  }
});

test.serial("Connect's REST API shows no database password: the connector names a file only this user reads", async (t) => {
  t.truthy(worker, 'the first test started the worker');
  for (const c of connectors) {
    const base = `${worker!.restUrl}/connectors/${encodeURIComponent(c.name)}`;
    for (const url of [base, `${base}/config`, `${base}/tasks`]) {
      const res = await fetch(url);
      t.true(res.ok, url);
      t.false((await res.text()).includes(passwordMark), `${url} shows the password`);
    }
    const config = (await (await fetch(`${base}/config`)).json()) as Record<string, string>;
    const reference = /^\$\{file:(.+):database\.password\}$/.exec(config['database.password'] ?? '');
    t.truthy(reference, `database.password is ${config['database.password']}`);
    const file = reference![1]!;
    t.true(readFileSync(file, 'utf8').includes('database.password='));
    t.is(statSync(file).mode & 0o777, 0o600);
    t.is(statSync(path.dirname(file)).mode & 0o777, 0o700);
  }
});

test.serial('the connectors replicate as a role of their own that is no superuser', async (t) => {
  const admin = new pg.Client({ connectionString: postgres.url() });
  await admin.connect();
  try {
    const { rows } = await admin.query<{ usename: string; rolsuper: boolean; rolreplication: boolean }>(
      'SELECT DISTINCT s.usename, r.rolsuper, r.rolreplication FROM pg_stat_replication s JOIN pg_roles r ON r.rolname = s.usename',
    );
    t.deepEqual(rows, [{ usename: replicationRole, rolsuper: false, rolreplication: true }]);
  } finally {
    await admin.end();
  }
});

test.serial('a worker killed with SIGKILL while rows are written loses none of them after a restart (copies allowed)', async (t) => {
  t.timeout(170_000);
  t.truthy(worker, 'the first test started the worker');
  const before = committed.length;
  const all = readTopic(kafka, topics.all);
  try {
    // Rows keep coming while the worker dies: some are published, some are in flight, some wait.
    let writing = true;
    const writer = (async () => {
      for (let i = 0; writing || i < 10; i++) await write(pool, 1 + (i % 3));
    })();
    await waitFor('the worker to publish some of the new rows', () => firstOf(all.received).length > before || undefined, { timeoutMs: 60_000, intervalMs: 50 });
    worker!.child.kill('SIGKILL');
    await worker!.exited;
    writing = false;
    await writer;
    await write(pool, 4);
    await write(pool, 2, { rollback: true });
    worker = await startWorker();
    await write(pool, 3);

    const ids = committed.map((c) => c.id);
    await all.until(ids, 90_000);
    const got = firstOf(all.received);
    t.deepEqual(got.map((r) => r.headers.id).sort(), [...ids].sort(), 'every committed event, and no rolled-back one');
    t.false(all.received.some((r) => rolledBack.includes(r.headers.id!)));
    // Each stream's versions arrive in order the first time (a copy only repeats a run already sent).
    for (const [key, seen] of Object.entries(perKey(got))) t.deepEqual(seen, [...seen].sort((a, b) => Number(a) - Number(b)), `stream ${key} in version order`);
    const copies = all.received.length - got.length;
    t.log(`${ids.length} events (${ids.length - before} in this test); ${copies} published twice after the restart`);
  } finally {
    await all.stop();
  }
});

test.serial('a quiet outbox does not hold back the server\'s WAL: the slot follows writes to other databases', async (t) => {
  t.timeout(120_000);
  const admin = new pg.Client({ connectionString: postgres.url() });
  await admin.connect();
  try {
    // Another service's database on the same server, busy while the outbox is quiet.
    await admin.query('CREATE TABLE IF NOT EXISTS busy (id bigserial PRIMARY KEY, filler text)');
    await admin.query("INSERT INTO busy (filler) SELECT repeat('x', 200) FROM generate_series(1, 20000)");
    const { rows } = await admin.query<{ lsn: string }>('SELECT pg_current_wal_lsn()::text AS lsn');
    const written = rows[0]!.lsn;
    const slots = connectors.map((c) => c.config['slot.name']!);
    await waitFor('every slot to confirm the WAL written elsewhere', async () => {
      const { rows: behind } = await admin.query<{ slot_name: string }>(
        'SELECT slot_name FROM pg_replication_slots WHERE slot_name = ANY($1) AND (confirmed_flush_lsn IS NULL OR confirmed_flush_lsn < $2::pg_lsn)',
        [slots, written],
      );
      return behind.length === 0 || undefined;
    }, { timeoutMs: 90_000, intervalMs: 1_000 });
    t.pass();
  } finally {
    await admin.end();
  }
});

test.serial('going back to the built-in relay drops the slots, which would keep the WAL, once the worker is gone, whatever its directory holds', async (t) => {
  const slots = connectors.map((c) => c.config['slot.name']!);
  const present = async () => {
    const admin = new pg.Client({ connectionString: postgres.url('outbox_relay') });
    await admin.connect();
    try {
      const { rows } = await admin.query<{ slot_name: string }>('SELECT slot_name FROM pg_replication_slots WHERE slot_name = ANY($1) ORDER BY slot_name', [slots]);
      return rows.map((r) => r.slot_name);
    } finally {
      await admin.end();
    }
  };
  // A slot in use stays.
  await retireDebeziumRelay({ connectors, workerDir, adminUrl: postgres.url() });
  t.deepEqual(await present(), [...slots].sort());
  worker!.child.kill('SIGKILL');
  await worker!.exited;
  worker = undefined;
  // The worker's directory may be gone (or never flushed an offset) while its slots are not.
  rmSync(path.join(workerDir, 'offsets.dat'), { force: true });
  // The walsender may outlive the worker's connection by a moment.
  await waitFor('the slots to be dropped', async () => {
    await retireDebeziumRelay({ connectors, workerDir, adminUrl: postgres.url() });
    return (await present()).length === 0 || undefined;
  }, { timeoutMs: 30_000, intervalMs: 500 });
  // Again, and for a connector whose database does not exist: nothing to do, no error.
  const elsewhere = outboxConnectorConfig({ name: 'test-outbox-nowhere', databaseUrl: postgres.url('no_such_database'), topic: topics.all });
  await retireDebeziumRelay({ connectors: [...connectors, elsewhere], workerDir, adminUrl: postgres.url() });
  t.deepEqual(await present(), []);
});
