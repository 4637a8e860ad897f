import { openKafka } from '@shop/platform/kafka';
import { openNats } from '@shop/platform/nats';
import { runProcess } from '@shop/platform/process';
import { natsStatusPublisher } from './adapters/nats/nats-status-publisher.js';
import { startOrderStatusNotifier } from './app/order-status-notifier.js';
import { configSchema } from './config.js';
import { notificationsTopics } from './topics.js';

await runProcess('notifications', configSchema, async (ctx) => {
  const { config, log, registry, lifecycle } = ctx;
  // While NATS is away the notifier retries its batch, and its offsets stay put.
  const nc = await openNats(ctx);
  const kafka = await openKafka(ctx, { topics: notificationsTopics({ orderEvents: config.ORDER_EVENTS_TOPIC, dlq: config.NOTIFICATIONS_DLQ_TOPIC }) });
  // Stopped before NATS drains (hooks run last-registered first): its last batch still gets its flush.
  lifecycle.own(
    'notifier',
    await startOrderStatusNotifier({ kafka, topics: [config.ORDER_EVENTS_TOPIC], dlqTopic: config.NOTIFICATIONS_DLQ_TOPIC, log, registry, publisher: natsStatusPublisher(nc) }),
  );
});
