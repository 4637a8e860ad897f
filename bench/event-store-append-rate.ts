/**
 * Appends/s of the MongoDB event store (on the stack's FerretDB) against the Postgres one,
 * measured in this run on this machine.
 *
 *   baseline  PostgresEventStore.append: one event per call, CLIENTS concurrent loops, each
 *             on its own stream with the expected version → appends/s
 *   (a)       MongoEventStore.append, the same loops on FerretDB 1.24 (SQLite) → appends/s
 *
 * Every Mongo append to the store takes the next global position (store.ts: why), so
 * concurrent appends serialize there; the ratio shows what that, and FerretDB's scans,
 * cost. Printed, never fails the run.
 *
 * Knobs (env): BENCH_SECONDS (10), BENCH_CLIENTS (8), MONGODB_URL (the stack's FerretDB).
 * Run: npm run bench -- event-store-append-rate (or node --import tsx bench/event-store-append-rate.ts);
 * writes bench/results/event-store-append-rate.json for the summary table.
 */
import { randomUUID } from 'node:crypto';
import { MongoClient } from 'mongodb';
import type { EventStore } from '@shop/eventsourcing';
import { MongoEventStore } from '@shop/eventsourcing/mongodb';
import { eventStoreMigrations, PostgresEventStore } from '@shop/eventsourcing/postgres';
import { createLogger } from '@shop/platform/log';
import { migrate } from '@shop/platform/postgres/migrate';
import { createPool } from '@shop/platform/postgres/pool';
import { infraPorts } from '@shop/tools/topology';
import { machineInfoSampled, writeResult } from './lib/results.js';
import { createBenchDatabase, runLoops, type LoopResult } from './lib/stack.js';
import { fmtNum, fmtRatio, nowMs, ratio } from './lib/stats.js';
import { knob, MAX_SECONDS } from './lib/knobs.js';

const SECONDS = knob('BENCH_SECONDS', 10, { min: 1, max: MAX_SECONDS });
const CLIENTS = knob('BENCH_CLIENTS', 8, { min: 1, integer: true });
const log = createLogger('bench-event-store-append-rate', 'warn');

/** CLIENTS loops appending one event at a time to their own stream, at the expected version. */
function appendLoops(store: EventStore): Promise<LoopResult> {
  const streams = Array.from({ length: CLIENTS }, () => ({ id: `bench-${randomUUID()}`, version: 0 }));
  return runLoops({
    concurrency: CLIENTS,
    durationMs: SECONDS * 1000,
    op: async (worker) => {
      const s = streams[worker]!;
      const { version } = await store.append('bench', s.id, [{ type: 'bench.v1.Appended', data: { n: s.version + 1 } }], s.version);
      s.version = version;
    },
  });
}

const machine = await machineInfoSampled();
const started = nowMs();
const db = await createBenchDatabase();
const pool = createPool({ url: db.url, max: CLIENTS + 2, log });
await migrate(pool, [eventStoreMigrations], log);
const postgres = await appendLoops(new PostgresEventStore(pool));
await pool.end();
await db.drop();

const client = new MongoClient(process.env.MONGODB_URL ?? `mongodb://127.0.0.1:${infraPorts.ferretdb}/`, { maxPoolSize: CLIENTS + 2 });
const mongoDb = client.db(`bench_${randomUUID().slice(0, 8)}`);
const mongo = new MongoEventStore(mongoDb);
await mongo.migrate();
const mongoResult = await appendLoops(mongo);
await mongoDb.dropDatabase();
await client.close();

const line = (name: string, r: LoopResult) => `${name.padEnd(9)} ${fmtNum(r.rate).padStart(8)} appends/s  (${r.ops} in ${fmtNum(r.seconds, 1)} s, ${r.errors} errors${r.firstError ? `: ${r.firstError}` : ''})`;
console.log(`event store appends, ${CLIENTS} concurrent streams, ${SECONDS} s each`);
console.log(line('postgres', postgres));
console.log(line('mongodb', mongoResult));
console.log(`mongodb / postgres = ${fmtRatio(ratio(mongoResult.rate, postgres.rate))}`);

const counts = ({ ops, errors, firstError, seconds, rate }: LoopResult) => ({ ops, errors, firstError, seconds, rate });
const baseline = { metric: 'PostgresEventStore.append', value: Math.round(postgres.rate), unit: 'appends/s' };
const file = writeResult({
  name: 'event-store-append-rate',
  title: 'MongoDB event store (FerretDB) appends vs the Postgres event store',
  machine,
  startedMs: started,
  summary: [{ metric: 'MongoEventStore.append', value: Math.round(mongoResult.rate), unit: 'appends/s', baseline, ratio: ratio(mongoResult.rate, postgres.rate) }],
  details: { clients: CLIENTS, seconds: SECONDS, postgres: counts(postgres), mongodb: counts(mongoResult) },
  notes: ['Every Mongo append takes the next global position: appends to the whole store serialize there (packages/eventsourcing/src/mongodb/store.ts).'],
});
console.log(`results   ${file}`);
