import { eventTopic } from '@shop/platform/topics';
import { ProductServiceClient } from '@shop/contracts/shop/product/v1/service';
import { OrderPlaced } from '@shop/contracts/shop/order/v1/events';
import { UserDeleted } from '@shop/contracts/shop/user/v1/events';
import { Doorbell } from '@shop/eventsourcing';
import { eventStoreMigrations } from '@shop/eventsourcing/postgres';
import { processorMigrations, relayMigrations, startReactor, startRelay } from '@shop/eventsourcing/kafka';
import { insecure, promiseClient } from '@shop/platform/grpc/client';
import { serveGrpc } from '@shop/platform/grpc/server';
import { newId } from '@shop/platform/ids';
import { openKafka } from '@shop/platform/kafka';
import { openPostgres } from '@shop/platform/postgres/process';
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

await runProcess('cart-command', configSchema, async (ctx) => {
  const { config, log, registry, lifecycle } = ctx;
  const pool = await openPostgres(ctx, { migrations: [eventStoreMigrations, relayMigrations, processorMigrations, cartMigrations] });
  const kafka = await openKafka(ctx, {
    topics: [
      ...cartTopics(config.CART_EVENTS_TOPIC, config.CART_DLQ_TOPIC),
      // Consumed, and owned by the user and order services.
      ...(config.USER_DELETIONS_ENABLED ? [eventTopic(config.USER_EVENTS_TOPIC)] : []),
      ...(config.CHECKOUT_COMPLETION_ENABLED ? [eventTopic(config.ORDER_EVENTS_TOPIC)] : []),
    ],
  });
  // Each append rings the relay, which then publishes at once instead of at its next poll.
  const doorbell = new Doorbell();
  const events = await openCartEventStore(ctx, pool, { onAppended: () => doorbell.ring() });
  if (config.RELAY === 'builtin') {
    lifecycle.own('relay', await startRelay({ ...events.relay, name: 'cart', kafka, streamTypes: [CART_STREAM_TYPE], topicFor: () => config.CART_EVENTS_TOPIC, log, registry, doorbell }));
  }

  const carts = cartCommandHandler(events.store, config.COMMAND_MAX_RETRIES);
  if (config.USER_DELETIONS_ENABLED) {
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
    lifecycle.own('user-deletions', deletions);
  }
  if (config.CHECKOUT_COMPLETION_ENABLED) {
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
    lifecycle.own('checkout-completions', completions);
  }

  const productClient = new ProductServiceClient(config.PRODUCT_GRPC_ADDR, insecure());
  lifecycle.onShutdown('product-client', () => productClient.close());

  await serveGrpc(ctx, [
    cartCommandService({
      carts,
      products: grpcProductLookup(promiseClient(productClient, config.PRODUCT_TIMEOUT_MS)),
      newId,
    }),
  ]);
});
