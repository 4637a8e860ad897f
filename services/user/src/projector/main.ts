import { eventStoreMigrations, PostgresEventStore } from '@shop/eventsourcing/postgres';
import { startProjector } from '@shop/eventsourcing/kafka';
import { createKafka, ensureTopics } from '@shop/platform/kafka';
import { migrate } from '@shop/platform/postgres/migrate';
import { createPool } from '@shop/platform/postgres/pool';
import { runProcess } from '@shop/platform/process';
import { userMigrations } from '../migrations.js';
import { userTopics } from '../topics.js';
import { configSchema } from './config.js';
import { sealedStore } from '../personal-data/sealed-store.js';
import { migrateUserView } from './migrate.js';
import { userView } from './user-view.js';

await runProcess('user-projector', configSchema, async ({ config, log, registry, lifecycle, readiness }) => {
  const pool = createPool({ url: config.DATABASE_URL, max: config.DATABASE_POOL_MAX, log, application: 'user-projector' });
  lifecycle.onShutdown('postgres', () => pool.end());
  // The store's table too: gap healing reads it, whichever user process starts first.
  await migrate(pool, [eventStoreMigrations, userMigrations], log);
  const cleared = await migrateUserView(pool);
  if (cleared > 0) log.info({ cleared }, 'dead letters with opened personal data: payloads dropped');
  readiness.add({ name: 'postgres', check: async () => void (await pool.query('SELECT 1')) });

  const kafka = createKafka({ brokers: config.KAFKA_BROKERS, clientId: 'user-projector', log });
  await ensureTopics(kafka, userTopics(config.USER_EVENTS_TOPIC, config.USER_DLQ_TOPIC));
  const projector = await startProjector({
    kafka,
    pool,
    // Gaps are healed from the store: opened with the users' keys like everything else.
    store: sealedStore(new PostgresEventStore(pool), pool),
    projection: userView,
    topics: [config.USER_EVENTS_TOPIC],
    dlqTopic: config.USER_DLQ_TOPIC,
    log,
    registry,
  });
  lifecycle.onShutdown('projector', () => projector.stop());
});
