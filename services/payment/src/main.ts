import { eventTopic } from '@shop/platform/topics';
import { Doorbell } from '@shop/eventsourcing';
import { processorMigrations, relayMigrations } from '@shop/eventsourcing/kafka';
import { serveGrpc } from '@shop/platform/grpc/server';
import { newId, systemClock } from '@shop/platform/ids';
import { openKafka } from '@shop/platform/kafka';
import { outboxMigrations } from '@shop/platform/outbox';
import { openPostgres } from '@shop/platform/postgres/process';
import { runProcess } from '@shop/platform/process';
import { Payments } from './app/payments.js';
import { MockPaymentGateway } from './adapters/gateway/mock-gateway.js';
import { paymentService } from './adapters/grpc/payment-handlers.js';
import { startOrderReactor } from './adapters/kafka/order-reactions.js';
import { startPaymentRelay } from './adapters/kafka/payment-relay.js';
import { postgresPayments } from './adapters/postgres/payment-repository.js';
import { configSchema } from './config.js';
import { paymentMetrics } from './metrics.js';
import { paymentMigrations } from './migrations.js';
import { paymentTopics } from './topics.js';

await runProcess('payment', configSchema, async (ctx) => {
  const { config, log, registry, lifecycle } = ctx;
  const pool = await openPostgres(ctx, { migrations: [outboxMigrations, relayMigrations, processorMigrations, paymentMigrations] });
  // The order events are consumed, and owned by the order service.
  const kafka = await openKafka(ctx, { topics: [...paymentTopics(config.PAYMENT_EVENTS_TOPIC, config.PAYMENT_DLQ_TOPIC), eventTopic(config.ORDER_EVENTS_TOPIC)] });
  const doorbell = new Doorbell();
  if (config.RELAY === 'builtin') {
    lifecycle.own('relay', await startPaymentRelay({ pool, kafka, topic: config.PAYMENT_EVENTS_TOPIC, log, registry, doorbell, retainPublishedMs: config.OUTBOX_RETENTION_MS }));
  }

  const gateway = new MockPaymentGateway({
    failureRate: config.PAYMENT_FAILURE_RATE,
    seed: config.PAYMENT_SEED,
    declineAmountsCents: config.PAYMENT_DECLINE_AMOUNTS_CENTS,
    latencyMs: config.PAYMENT_LATENCY_MS,
  });
  log.info({ failureRate: config.PAYMENT_FAILURE_RATE, declineAmountsCents: config.PAYMENT_DECLINE_AMOUNTS_CENTS, latencyMs: config.PAYMENT_LATENCY_MS }, 'mock payment gateway');
  const payments = new Payments({
    db: pool,
    repo: postgresPayments,
    gateway,
    clock: systemClock,
    newId,
    afterCommit: () => doorbell.ring(),
    observe: paymentMetrics(registry),
  });
  lifecycle.own('order-reactor', await startOrderReactor({ kafka, pool, topic: config.ORDER_EVENTS_TOPIC, dlqTopic: config.PAYMENT_DLQ_TOPIC, payments, log, registry }));

  await serveGrpc(ctx, [paymentService(payments)]);
});
