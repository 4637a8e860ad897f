/**
 * A projector process wired as the services' projector mains are (runProcess: config,
 * logs, readiness, SIGTERM running the shutdown hooks), over the counter projection, for
 * the graceful-shutdown tests. Its consumer group is its own (`projector.counter-<SCHEMA>`),
 * so it never joins a group of the stack's.
 */
import { z } from 'zod';
import { baseEnv, env } from '@shop/platform/config';
import { createKafka } from '@shop/platform/kafka';
import { createPool } from '@shop/platform/postgres/pool';
import { runProcess } from '@shop/platform/process';
import { PostgresEventStore } from '../postgres/store.js';
import { migrateProjection, startProjector } from '../projector.js';
import { counterProjection } from './counter-projection.js';

const configSchema = z.object({
  ...baseEnv,
  DATABASE_URL: env.databaseUrl(),
  KAFKA_BROKERS: env.list(),
  TOPIC: z.string().min(1),
  DLQ_TOPIC: z.string().min(1),
  SCHEMA: z.string().min(1),
  STREAM_TYPE: z.string().min(1),
});

await runProcess('counter-projector', configSchema, async ({ config, log, registry, lifecycle }) => {
  const pool = createPool({ url: config.DATABASE_URL, log, application: 'counter-projector' });
  lifecycle.onShutdown('postgres', () => pool.end());
  const projection = counterProjection(config.SCHEMA, config.STREAM_TYPE);
  await migrateProjection(pool, projection);
  const projector = await startProjector({
    kafka: createKafka({ brokers: config.KAFKA_BROKERS, clientId: 'counter-projector', log }),
    pool,
    store: new PostgresEventStore(pool),
    projection,
    topics: [config.TOPIC],
    dlqTopic: config.DLQ_TOPIC,
    log,
    registry,
    sessionTimeoutMs: 6_000,
  });
  lifecycle.onShutdown('projector', () => projector.stop());
});
