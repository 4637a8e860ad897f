import { connectNats } from '@shop/platform/nats';
import { createKafka, ensureTopics } from '@shop/platform/kafka';
import { runProcess } from '@shop/platform/process';
import { natsStatusPublisher } from './adapters/nats/nats-status-publisher.js';
import { startOrderStatusNotifier } from './app/order-status-notifier.js';
import { configSchema } from './config.js';
import { notificationsTopics } from './topics.js';

await runProcess('notifications', configSchema, async ({ config, log, registry, lifecycle, readiness }) => {
  // Reconnects for ever: while NATS is away the notifier retries its batch, and its offsets stay put.
  const nc = await connectNats({ url: config.NATS_URL, name: 'notifications', log });
  lifecycle.onShutdown('nats', () => nc.drain());
  readiness.add({ name: 'nats', check: async () => { if (nc.isClosed()) throw new Error('NATS connection closed'); } });
  // A connection that closes on its own would leave the notifier retrying for nothing: exit, and be restarted.
  void nc.closed().then((err) => {
    if (lifecycle.isStopping) return;
    log.fatal({ err }, 'NATS connection closed');
    void lifecycle.shutdown().finally(() => process.exit(1));
  });

  const kafka = createKafka({ brokers: config.KAFKA_BROKERS, clientId: 'notifications', log });
  await ensureTopics(kafka, notificationsTopics({ orderEvents: config.ORDER_EVENTS_TOPIC, dlq: config.NOTIFICATIONS_DLQ_TOPIC }));
  const notifier = await startOrderStatusNotifier({
    kafka,
    topics: [config.ORDER_EVENTS_TOPIC],
    dlqTopic: config.NOTIFICATIONS_DLQ_TOPIC,
    log,
    registry,
    publisher: natsStatusPublisher(nc),
  });
  // Stopped before NATS drains (hooks run last-registered first): its last batch still gets its flush.
  lifecycle.onShutdown('notifier', () => notifier.stop());
});
