import { eventTopic } from '@shop/platform/topics';
import { loadDescriptorSet } from '@shop/contracts/descriptors';
import { Doorbell } from '@shop/eventsourcing';
import { processorMigrations, relayMigrations } from '@shop/eventsourcing/kafka';
import { callerAuthenticator } from '@shop/platform/auth/config';
import { startGrpcServer } from '@shop/platform/grpc/server';
import { newId, systemClock } from '@shop/platform/ids';
import { createKafka, ensureTopics } from '@shop/platform/kafka';
import { outboxMigrations } from '@shop/platform/outbox';
import { migrate } from '@shop/platform/postgres/migrate';
import { createPool } from '@shop/platform/postgres/pool';
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

await runProcess('payment', configSchema, async ({ config, log, registry, lifecycle, readiness }) => {
  const pool = createPool({ url: config.DATABASE_URL, max: config.DATABASE_POOL_MAX, log, application: 'payment' });
  lifecycle.onShutdown('postgres', () => pool.end());
  await migrate(pool, [outboxMigrations, relayMigrations, processorMigrations, paymentMigrations], log);
  readiness.add({ name: 'postgres', check: async () => void (await pool.query('SELECT 1')) });

  const kafka = createKafka({ brokers: config.KAFKA_BROKERS, clientId: 'payment', log });
  // The order service owns its topic; creating it here too (same settings) lets either start first.
  await ensureTopics(kafka, [...paymentTopics(config.PAYMENT_EVENTS_TOPIC, config.PAYMENT_DLQ_TOPIC), eventTopic(config.ORDER_EVENTS_TOPIC)]);
  const doorbell = new Doorbell();
  if (config.RELAY_ENABLED) {
    const relay = await startPaymentRelay({ pool, kafka, topic: config.PAYMENT_EVENTS_TOPIC, log, registry, doorbell });
    lifecycle.onShutdown('relay', () => relay.stop());
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
  const reactor = await startOrderReactor({ kafka, pool, topic: config.ORDER_EVENTS_TOPIC, dlqTopic: config.PAYMENT_DLQ_TOPIC, payments, log, registry });
  lifecycle.onShutdown('order-reactor', () => reactor.stop());

  const server = await startGrpcServer({
    port: config.GRPC_PORT,
    host: config.LISTEN_HOST,
    services: [paymentService(payments)],
    descriptorSet: loadDescriptorSet(),
    log,
    registry,
    readiness,
    authenticate: callerAuthenticator(config),
  });
  lifecycle.onShutdown('grpc', () => server.shutdown());
});
