import { eventTopic } from '@shop/platform/topics';
import { ProductServiceClient } from '@shop/contracts/shop/product/v1/service';
import { loadDescriptorSet } from '@shop/contracts/descriptors';
import { OrderPlaced } from '@shop/contracts/shop/order/v1/events';
import { UserDeleted } from '@shop/contracts/shop/user/v1/events';
import { Doorbell } from '@shop/eventsourcing';
import { eventStoreMigrations } from '@shop/eventsourcing/postgres';
import { processorMigrations, relayMigrations, startReactor, startRelay } from '@shop/eventsourcing/kafka';
import { insecure, promiseClient } from '@shop/platform/grpc/client';
import { startGrpcServer } from '@shop/platform/grpc/server';
import { callerAuthenticator } from '@shop/platform/auth/config';
import { newId } from '@shop/platform/ids';
import { createKafka, ensureTopics } from '@shop/platform/kafka';
import { migrate } from '@shop/platform/postgres/migrate';
import { createPool } from '@shop/platform/postgres/pool';
import { runProcess } from '@shop/platform/process';
import { CART_STREAM_TYPE } from '../domain/events.js';
import { openCartEventStore } from '../event-store.js';
import { cartMigrations } from '../migrations.js';
import { cartTopics } from '../topics.js';
import { cartCommandHandler } from './cart-handler.js';
import { cartCommandService } from './cart-command-service.js';
import { configSchema } from './config.js';
import { grpcProductLookup } from './product-lookup.js';
import { completeCheckoutWhenOrderPlaced, discardCartsOfDeletedCustomer } from './reactions.js';

await runProcess('cart-command', configSchema, async ({ config, log, registry, lifecycle, readiness }) => {
  const pool = createPool({ url: config.DATABASE_URL, max: config.DATABASE_POOL_MAX, log, application: 'cart-command' });
  lifecycle.onShutdown('postgres', () => pool.end());
  await migrate(pool, [eventStoreMigrations, relayMigrations, processorMigrations, cartMigrations], log);
  readiness.add({ name: 'postgres', check: async () => void (await pool.query('SELECT 1')) });

  const kafka = createKafka({ brokers: config.KAFKA_BROKERS, clientId: 'cart-command', log });
  await ensureTopics(kafka, cartTopics(config.CART_EVENTS_TOPIC, config.CART_DLQ_TOPIC));
  // Each append rings the relay, which then publishes at once instead of at its next poll.
  const doorbell = new Doorbell();
  const events = await openCartEventStore(config, pool, { lifecycle, readiness, onAppended: () => doorbell.ring() });
  if (config.RELAY_ENABLED) {
    const relay = await startRelay({
      ...events.relay,
      name: 'cart',
      kafka,
      streamTypes: [CART_STREAM_TYPE],
      topicFor: () => config.CART_EVENTS_TOPIC,
      log,
      registry,
      doorbell,
    });
    lifecycle.onShutdown('relay', () => relay.stop());
  }

  const carts = cartCommandHandler(events.store, config.COMMAND_MAX_RETRIES);
  if (config.USER_DELETIONS_ENABLED) {
    // The user service owns the topic; creating it here too (same settings) lets either start first.
    await ensureTopics(kafka, [eventTopic(config.USER_EVENTS_TOPIC)]);
    const deletions = await startReactor({
      name: 'cart.user-deletions',
      // The consumer group of the hand-written consumer this replaced: its offsets carry on.
      groupId: 'cart.user-deletions',
      kafka,
      pool,
      topics: [config.USER_EVENTS_TOPIC],
      dlqTopic: config.CART_DLQ_TOPIC,
      log,
      registry,
      reactions: { [UserDeleted.$type]: discardCartsOfDeletedCustomer({ carts, readModel: pool }) },
    });
    lifecycle.onShutdown('user-deletions', () => deletions.stop());
  }
  if (config.CHECKOUT_COMPLETION_ENABLED) {
    await ensureTopics(kafka, [eventTopic(config.ORDER_EVENTS_TOPIC)]);
    const completions = await startReactor({
      name: 'cart.checkout-completions',
      kafka,
      pool,
      topics: [config.ORDER_EVENTS_TOPIC],
      dlqTopic: config.CART_DLQ_TOPIC,
      log,
      registry,
      reactions: { [OrderPlaced.$type]: completeCheckoutWhenOrderPlaced(carts) },
    });
    lifecycle.onShutdown('checkout-completions', () => completions.stop());
  }

  const productClient = new ProductServiceClient(config.PRODUCT_GRPC_ADDR, insecure());
  lifecycle.onShutdown('product-client', () => productClient.close());

  const server = await startGrpcServer({
    port: config.GRPC_PORT,
    host: config.LISTEN_HOST,
    services: [
      cartCommandService({
        carts,
        products: grpcProductLookup(promiseClient(productClient, config.PRODUCT_TIMEOUT_MS)),
        newId,
      }),
    ],
    descriptorSet: loadDescriptorSet(),
    log,
    registry,
    readiness,
    authenticate: callerAuthenticator(config),
  });
  lifecycle.onShutdown('grpc', () => server.shutdown());
});
