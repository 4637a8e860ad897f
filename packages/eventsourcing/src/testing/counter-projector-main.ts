/**
 * The counter projection's projector as its own OS process, wired as the services'
 * projector mains are (runProcess and the process builders: config, JSON logs, readiness,
 * SIGTERM running the shutdown hooks), for the tests that stop it in the middle of work (SIGTERM) or kill it
 * there (kill -9). Its consumer group is its own (`projector.counter-<SCHEMA>`), so it
 * never joins a group of the stack's.
 *
 * Besides its log it prints marker lines on stdout: `counter-projector: killing <n>` when
 * it kills itself (KILL_AFTER_DOCS), and, once the projector has stopped on SIGTERM,
 * `counter-projector: events <json>`: its processor_events_total by outcome.
 */
import { writeSync } from 'node:fs';
import { z } from 'zod';
import { baseEnv, kafkaEnv, postgresEnv } from '@shop/platform/config';
import { openKafka } from '@shop/platform/kafka';
import { openPostgres } from '@shop/platform/postgres/process';
import { runProcess } from '@shop/platform/process';
import { PostgresEventStore } from '../postgres/store.js';
import { migrateProjection } from '../apply.js';
import { startProjector } from '../projector.js';
import { counterProjection } from './counter-projection.js';

const configSchema = z.object({
  ...baseEnv,
  ...postgresEnv,
  ...kafkaEnv,
  TOPIC: z.string().min(1),
  DLQ_TOPIC: z.string().min(1),
  SCHEMA: z.string().min(1),
  STREAM_TYPE: z.string().min(1),
  /** Upper bound of one fetch per partition, i.e. of a batch (kafkajs' 1 MiB when unset). */
  FETCH_MAX_BYTES: z.coerce.number().int().positive().optional(),
  /**
   * The fault (0: none): once the batches committed so far have written this many
   * documents, the process kills itself (SIGKILL) in `onCommitted` — after that batch's
   * database commit and before its offset is resolved, so before Kafka can hear of it.
   * Its events must come again after a restart, and be skipped.
   */
  KILL_AFTER_DOCS: z.coerce.number().int().min(0).default(0),
});

// Synchronous, so that a line written just before a kill -9 or an exit is not lost.
const say = (line: string) => writeSync(1, `counter-projector: ${line}\n`);

await runProcess('counter-projector', configSchema, async (ctx) => {
  const { config, log, registry, lifecycle } = ctx;
  const pool = await openPostgres(ctx);
  // Registered before the projector's hook, so it runs after it: the counts are final.
  lifecycle.onShutdown('events', async () => {
    const { values } = await registry.getSingleMetric('processor_events_total')!.get();
    say(`events ${JSON.stringify(Object.fromEntries(values.map((v) => [v.labels.outcome, v.value])))}`);
  });
  const projection = counterProjection(config.SCHEMA, config.STREAM_TYPE);
  await migrateProjection(pool, projection);
  let docsCommitted = 0;
  const projector = await startProjector({
    kafka: await openKafka(ctx),
    pool,
    store: new PostgresEventStore(pool),
    projection,
    topics: [config.TOPIC],
    dlqTopic: config.DLQ_TOPIC,
    log,
    registry,
    sessionTimeoutMs: 6_000,
    ...(config.FETCH_MAX_BYTES === undefined ? {} : { maxBytesPerPartition: config.FETCH_MAX_BYTES }),
    ...(config.KILL_AFTER_DOCS > 0
      ? {
          async onCommitted(docs: Map<string, unknown>) {
            docsCommitted += docs.size;
            if (docsCommitted < config.KILL_AFTER_DOCS) return;
            say(`killing ${docs.size}`);
            process.kill(process.pid, 'SIGKILL');
          },
        }
      : {}),
  });
  lifecycle.own('projector', projector);
});
