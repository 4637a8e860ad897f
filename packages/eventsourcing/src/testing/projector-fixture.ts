/**
 * A projector as its own OS process, for the crash tests (kill -9 in the middle of work).
 * Configured by environment: DATABASE_URL, KAFKA_BROKERS, TOPIC, DLQ_TOPIC, SCHEMA, STREAM_TYPE;
 * optional FETCH_MAX_BYTES, and KILL_AFTER_DOCS (below).
 *
 * Prints marker lines on stdout: `running`; `killing <n>` when it kills itself; and on
 * SIGTERM, after a clean stop, `events <json>`: its processor_events_total by outcome.
 */
import { writeSync } from 'node:fs';
import { createKafka } from '@shop/platform/kafka';
import { createLogger } from '@shop/platform/log';
import { createMetrics } from '@shop/platform/metrics';
import { createPool } from '@shop/platform/postgres/pool';
import { PostgresEventStore } from '../postgres/store.js';
import { startProjector } from '../projector.js';
import { counterProjection } from './counter-projection.js';

const env = (name: string) => {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is required`);
  return v;
};
// Synchronous, so that a line written just before a kill -9 is not lost.
const say = (line: string) => writeSync(1, `projector-fixture: ${line}\n`);
const log = createLogger('projector-fixture', process.env.LOG_LEVEL ?? 'warn');
const pool = createPool({ url: env('DATABASE_URL'), log });
const registry = createMetrics('projector-fixture');

/**
 * The fault: once the batches committed so far have written this many documents, the
 * process kills itself (SIGKILL) in `onCommitted` — after that batch's database commit
 * and before its offset is resolved, so before Kafka can hear of it. Its events must come
 * again after a restart, and be skipped.
 */
const killAfterDocs = Number(process.env.KILL_AFTER_DOCS ?? 0);
let docsCommitted = 0;

const projector = await startProjector({
  kafka: createKafka({ brokers: env('KAFKA_BROKERS').split(','), clientId: 'projector-fixture', log }),
  pool,
  store: new PostgresEventStore(pool),
  projection: counterProjection(env('SCHEMA'), env('STREAM_TYPE')),
  topics: [env('TOPIC')],
  dlqTopic: env('DLQ_TOPIC'),
  log,
  registry,
  sessionTimeoutMs: 6_000,
  // Small fetches (a few dozen events per batch), so that a kill lands in the middle of
  // the work however fast the machine is.
  maxBytesPerPartition: Number(process.env.FETCH_MAX_BYTES ?? 8_192),
  ...(killAfterDocs > 0
    ? {
        async onCommitted(docs: Map<string, unknown>) {
          docsCommitted += docs.size;
          if (docsCommitted < killAfterDocs) return;
          say(`killing ${docs.size}`);
          process.kill(process.pid, 'SIGKILL');
        },
      }
    : {}),
});

process.once('SIGTERM', () => {
  void (async () => {
    await projector.stop();
    const { values } = await registry.getSingleMetric('processor_events_total')!.get();
    say(`events ${JSON.stringify(Object.fromEntries(values.map((v) => [v.labels.outcome, v.value])))}`);
    await pool.end();
    process.exit(0);
  })();
});
say('running');
