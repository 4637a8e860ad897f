import test from 'ava';
import { randomBytes, randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { createMetrics } from '@shop/platform/metrics';
import { migrate } from '@shop/platform/postgres/migrate';
import { createPool } from '@shop/platform/postgres/pool';
import { createTestTopics, startPrivatePostgres, testKafka, testLogger, waitFor } from '@shop/testing';
import { PostgresEventStore, eventStoreMigrations } from './postgres/store.js';
import { Doorbell, relayMigrations, startRelay } from './relay.js';
import { migrateProjection } from './apply.js';
import { startProjector } from './projector.js';
import { counterProjection, foldCounter, readCounters } from './testing/counter-projection.js';

/**
 * The pipeline survives a database crash: a kill -9 of Postgres in the middle of appends,
 * then a restart a few seconds later. Runs on a Postgres of its own (the stack's is
 * shared), with the stack's Kafka; alone, after the main suite (ava.solo.config.mjs), as
 * it takes a while and crashes a server.
 *
 * Before the fix, the relay's leader connection (checked out of the pool, so without the
 * pool's 'error' listener) turned the server's exit into an uncaught exception, and the
 * process died: in this test, the test worker itself.
 */
test('a relay and a projector carry on after Postgres is killed and restarted: the read model catches up with the store, nothing dead-lettered', async (t) => {
  const { log } = testLogger();
  const server = await startPrivatePostgres();
  t.teardown(() => server.destroy());
  const pool = createPool({ url: server.url(), max: 20, log, application: 'restart-test' });
  t.teardown(() => pool.end());
  await migrate(pool, [eventStoreMigrations, relayMigrations], log);
  const doorbell = new Doorbell();
  const store = new PostgresEventStore(pool, { onAppended: () => doorbell.ring() });

  const kafka = testKafka(log, 'restart-test');
  const tag = randomBytes(3).toString('hex');
  const streamType = `restart_${tag}`;
  const { topic, dlq } = await createTestTopics(kafka, streamType);
  const projection = counterProjection(`rm_${tag}`, streamType);
  await migrateProjection(pool, projection);
  const relay = await startRelay({ pool, name: `relay-${tag}`, table: 'events', kafka, topicFor: () => topic, streamTypes: [streamType], log, registry: createMetrics('t'), idleMs: 20, doorbell });
  t.teardown(() => relay.stop());
  const projector = await startProjector({ kafka, pool, store, projection, topics: [topic], dlqTopic: dlq, log, registry: createMetrics('t'), sessionTimeoutMs: 6_000 });
  t.teardown(() => projector.stop());

  // Appends to 200 carts-like streams, one after the other, while the database dies and
  // comes back; an append that fails is simply tried again later.
  const streams = Array.from({ length: 200 }, () => randomUUID());
  let appended = 0;
  let failed = 0;
  let writing = true;
  const writer = (async () => {
    for (let i = 0; writing; i++) {
      try {
        await store.append(streamType, streams[i % streams.length]!, [{ type: 'test.v1.Counted', data: { n: i } }], 'any');
        appended++;
      } catch {
        failed++;
        await sleep(50);
      }
    }
  })();

  await waitFor('some events projected', async () => (await readCounters(pool, projection.schema)).size >= 20, { timeoutMs: 60_000 });
  await server.crash();
  await sleep(3_000);
  await server.start();
  const afterRestart = appended;
  await waitFor('appends succeeding again', () => appended > afterRestart + 200, { timeoutMs: 60_000 });
  writing = false;
  await writer;
  t.log(`${appended} events appended, ${failed} appends failed while Postgres was down`);
  t.true(failed > 0, 'the crash hit the appends');

  const expected = new Map<string, ReturnType<typeof foldCounter>>();
  for (const id of streams) {
    const folded = foldCounter(await store.readStream(id));
    if (folded) expected.set(id, folded);
  }
  const caughtUp = await waitFor(
    'the read model to equal the fold of the store',
    async () => {
      const actual = await readCounters(pool, projection.schema);
      return [...expected].every(([id, doc]) => actual.get(id)?.version === doc?.version) ? actual : undefined;
    },
    { timeoutMs: 120_000, intervalMs: 500 },
  );
  const sorted = (m: Map<string, unknown>) => [...m].filter(([id]) => expected.has(id)).sort(([a], [b]) => a.localeCompare(b));
  t.deepEqual(sorted(caughtUp), sorted(expected));
  t.is(Number((await pool.query(`SELECT count(*) AS n FROM ${projection.schema}.dead_letters`)).rows[0].n), 0, 'no event dead-lettered by the projector');
  t.is(Number((await pool.query('SELECT count(*) AS n FROM relay_dead_letters')).rows[0].n), 0, 'none by the relay');
});
