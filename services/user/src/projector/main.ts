import { eventStoreMigrations, PostgresEventStore } from '@shop/eventsourcing/postgres';
import { startProjector } from '@shop/eventsourcing/kafka';
import { openKafka } from '@shop/platform/kafka';
import { openPostgres } from '@shop/platform/postgres/process';
import { runProcess } from '@shop/platform/process';
import { userMigrations } from '../migrations.js';
import { userTopics } from '../topics.js';
import { configSchema } from './config.js';
import { sealedStore } from '../personal-data/sealed-store.js';
import { migrateUserView } from './migrate.js';
import { userView } from './user-view.js';

await runProcess('user-projector', configSchema, async (ctx) => {
  const { config, log, registry, lifecycle } = ctx;
  // The store's table too: gap healing reads it, whichever user process starts first.
  const pool = await openPostgres(ctx, { migrations: [eventStoreMigrations, userMigrations] });
  const cleared = await migrateUserView(pool);
  if (cleared > 0) log.info({ cleared }, 'dead letters with opened personal data: payloads dropped');
  const kafka = await openKafka(ctx, { topics: userTopics(config.USER_EVENTS_TOPIC, config.USER_DLQ_TOPIC) });
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
  lifecycle.own('projector', projector);
});
