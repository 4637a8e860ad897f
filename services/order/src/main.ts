import { eventTopic } from '@shop/platform/topics';
import { CheckedOut } from '@shop/contracts/shop/cart/v1/events';
import { ProductServiceClient } from '@shop/contracts/shop/product/v1/service';
import { Doorbell } from '@shop/eventsourcing';
import { eventStoreMigrations, PostgresEventStore } from '@shop/eventsourcing/postgres';
import { relayMigrations, startRelay, workflowMigrations } from '@shop/eventsourcing/kafka';
import { insecure, promiseClient, withMetadata } from '@shop/platform/grpc/client';
import { createServiceIdentity } from '@shop/platform/auth/caller';
import { serveGrpc } from '@shop/platform/grpc/server';
import { systemClock } from '@shop/platform/ids';
import { openKafka } from '@shop/platform/kafka';
import { outboxMigrations } from '@shop/platform/outbox';
import { openPostgres } from '@shop/platform/postgres/process';
import { runProcess } from '@shop/platform/process';
import { postgresOrders } from './adapters/postgres/order-repository.js';
import { grpcInventory, grpcProductCatalog } from './adapters/grpc/product-client.js';
import { orderService } from './adapters/grpc/order-service.js';
import { checkoutRuntime, ORDER_STREAM_TYPE } from './app/checkout-effects.js';
import { Orders } from './app/orders.js';
import { CHECKOUT_STREAM_TYPE } from './domain/checkout.js';
import { configSchema } from './config.js';
import { orderMigrations } from './migrations.js';
import { orderTopics } from './topics.js';

await runProcess('order', configSchema, async (ctx) => {
  const { config, log, registry, lifecycle } = ctx;
  const pool = await openPostgres(ctx, { migrations: [eventStoreMigrations, relayMigrations, outboxMigrations, workflowMigrations, orderMigrations] });
  const kafka = await openKafka(ctx, {
    topics: [
      ...orderTopics({ events: config.ORDER_EVENTS_TOPIC, checkout: config.CHECKOUT_EVENTS_TOPIC, dlq: config.ORDER_DLQ_TOPIC }),
      // Consumed by the checkout workflow, and owned by the cart and payment services.
      ...(config.CHECKOUT_ENABLED ? [eventTopic(config.CART_EVENTS_TOPIC), eventTopic(config.PAYMENT_EVENTS_TOPIC)] : []),
    ],
  });
  // Each workflow step writes its stream and, through its local commands, the outbox: both relays hear of it at once.
  const outboxBell = new Doorbell();
  const streamBell = new Doorbell();
  // RELAY=off: another process publishes both.
  if (config.RELAY !== 'off') {
    // With RELAY=debezium, Kafka Connect publishes the outbox (tools/stack/debezium/connector.ts);
    // the workflow's stream is an event store table, published here.
    if (config.RELAY === 'builtin') {
      lifecycle.own('outbox-relay', await startRelay({ pool, name: 'order-outbox', table: 'outbox', kafka, streamTypes: [ORDER_STREAM_TYPE], topicFor: () => config.ORDER_EVENTS_TOPIC, log, registry, doorbell: outboxBell, retainPublishedMs: config.OUTBOX_RETENTION_MS }));
    }
    lifecycle.own('checkout-relay', await startRelay({ pool, name: 'checkout', table: 'events', kafka, streamTypes: [CHECKOUT_STREAM_TYPE], topicFor: () => config.CHECKOUT_EVENTS_TOPIC, log, registry, doorbell: streamBell }));
  }

  const productClient = new ProductServiceClient(config.PRODUCT_GRPC_ADDR, insecure());
  lifecycle.onShutdown('product-client', () => productClient.close());
  // Reserving, releasing and committing stock are the shop's own operations: the order service says who it is.
  const identity = createServiceIdentity({ name: 'order', key: config.SERVICE_TOKEN_KEY });
  const products = withMetadata(promiseClient(productClient, config.PRODUCT_TIMEOUT_MS), () => identity.metadata());

  const store = new PostgresEventStore(pool, {
    onAppended: () => {
      outboxBell.ring();
      streamBell.ring();
    },
  });
  const checkout = checkoutRuntime({
    pool,
    store,
    repo: postgresOrders,
    inventory: grpcInventory(products),
    clock: systemClock,
    log,
    registry,
    options: { reservationGraceMs: config.RESERVATION_GRACE_MS },
  });
  const orders = new Orders({ db: pool, repo: postgresOrders, checkout, catalog: grpcProductCatalog(products), clock: systemClock, checkoutTimeoutMs: config.CHECKOUT_TIMEOUT_MS });

  if (config.CHECKOUT_ENABLED) {
    const consumer = await checkout.consume({
      name: 'order.checkout',
      kafka,
      topics: [config.CART_EVENTS_TOPIC, config.PAYMENT_EVENTS_TOPIC],
      dlqTopic: config.ORDER_DLQ_TOPIC,
      translate: (e) => (e.type === CheckedOut.$type ? orders.fromCheckout(e) : Orders.fromPayment(e)),
      // The first time this group runs (the first deployment of orders), the carts' older
      // checkouts are history, not orders to place: start at the end of the topics.
      fromBeginning: false,
    });
    lifecycle.own('checkout-consumer', consumer);
    lifecycle.own('checkout-sweeper', checkout.startSweeper({ intervalMs: config.SWEEP_INTERVAL_MS }));
  }

  await serveGrpc(ctx, [orderService(orders)]);
});
