/**
 * A projector as its own OS process, for the crash tests (kill -9 in the middle of work).
 * Configured by environment: DATABASE_URL, KAFKA_BROKERS, TOPIC, DLQ_TOPIC, SCHEMA, STREAM_TYPE.
 */
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
const log = createLogger('projector-fixture', process.env.LOG_LEVEL ?? 'warn');
const pool = createPool({ url: env('DATABASE_URL'), log });
await startProjector({
  kafka: createKafka({ brokers: env('KAFKA_BROKERS').split(','), clientId: 'projector-fixture', log }),
  pool,
  store: new PostgresEventStore(pool),
  projection: counterProjection(env('SCHEMA'), env('STREAM_TYPE')),
  topics: [env('TOPIC')],
  dlqTopic: env('DLQ_TOPIC'),
  log,
  registry: createMetrics('projector-fixture'),
  sessionTimeoutMs: 6_000,
  // Small fetches (a few dozen events per batch), so that a kill lands in the middle of
  // the work however fast the machine is.
  maxBytesPerPartition: Number(process.env.FETCH_MAX_BYTES ?? 8_192),
});
process.stdout.write('projector-fixture: running\n');
