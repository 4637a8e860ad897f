import * as grpc from '@grpc/grpc-js';
import type { Kafka } from 'kafkajs';
import { OrderServiceClient } from '@shop/contracts/shop/order/v1/service';
import { ProductServiceClient } from '@shop/contracts/shop/product/v1/service';
import type { RecordedEvent } from '@shop/eventsourcing';
import { eventStoreMigrations, PostgresEventStore } from '@shop/eventsourcing/postgres';
import { relayMigrations, workflowMigrations, type Processor, type Relay, startRelay } from '@shop/eventsourcing/kafka';
import { promiseClient, type PromiseClient } from '@shop/platform/grpc/client';
import type { Logger } from '@shop/platform/log';
import { newId, systemClock } from '@shop/platform/ids';
import { createMetrics } from '@shop/platform/metrics';
import { outboxMigrations } from '@shop/platform/outbox';
import { migrate } from '@shop/platform/postgres/migrate';
import { createPool, type Pool } from '@shop/platform/postgres/pool';
import { startProductService } from '@shop/product/test-fixtures';
import { createTestAuth, createTestDatabase, serveGrpc, waitFor, type TestAuth } from '@shop/testing';
import { randomUUID } from 'node:crypto';
import { OrderStatus, type Order } from '@shop/contracts/shop/order/v1/order';
import { PaymentSucceeded } from '@shop/contracts/shop/payment/v1/events';
import { checkoutRuntime, ORDER_STREAM_TYPE } from './app/checkout-effects.js';
import { Orders, type CheckoutRuntime } from './app/orders.js';
import { grpcInventory, grpcProductCatalog } from './adapters/grpc/product-client.js';
import { orderService } from './adapters/grpc/order-service.js';
import { postgresOrders } from './adapters/postgres/order-repository.js';
import { orderMigrations } from './migrations.js';

/**
 * The order service as its process runs it, in the test's process: its own database, the
 * real product service (its own database too) as the inventory and catalog, gRPC servers
 * on free ports, the checkout workflow with its sweeper. Kafka parts start on demand.
 */
export interface OrderFixture {
  pool: Pool;
  checkout: CheckoutRuntime;
  orders: Orders;
  /**
   * The order service's gRPC API, errors kept as gRPC statuses (mapErrors off), called as
   * a service of the shop; `unauthenticated` sends no token, `auth.asCustomer(id)` a customer's.
   */
  raw: PromiseClient<OrderServiceClient>;
  unauthenticated: PromiseClient<OrderServiceClient>;
  auth: TestAuth;
  products: PromiseClient<ProductServiceClient>;
  /** A product priced `cents` with `onHand` units; its id. */
  product(name: string, cents: number, onHand: number): Promise<string>;
  /** Starts the outbox relay to `topic`. */
  relay(kafka: Kafka, topic: string): Promise<Relay>;
  close(): Promise<void>;
}

export async function startOrderService(log: Logger, opts: { checkoutTimeoutMs: number; sweepIntervalMs?: number }): Promise<OrderFixture> {
  const db = await createTestDatabase('order');
  const pool = createPool({ url: db.url, max: 20, log });
  await migrate(pool, [eventStoreMigrations, relayMigrations, outboxMigrations, workflowMigrations, orderMigrations], log);
  const product = await startProductService(log, 'order');
  const products = product.client;

  const checkout = checkoutRuntime({
    pool,
    store: new PostgresEventStore(pool),
    repo: postgresOrders,
    inventory: grpcInventory(products),
    clock: systemClock,
    log,
    registry: createMetrics('order-test'),
    options: { reservationGraceMs: 60_000 },
    graceMs: 1_000,
  });
  const orders = new Orders({ db: pool, repo: postgresOrders, checkout, catalog: grpcProductCatalog(products), clock: systemClock, checkoutTimeoutMs: opts.checkoutTimeoutMs });
  const sweeper = checkout.startSweeper({ intervalMs: opts.sweepIntervalMs ?? 100 });
  const auth = await createTestAuth();
  const orderServer = await serveGrpc([orderService(orders)], log, 'order-test', auth.authenticate);
  const orderClient = new OrderServiceClient(`127.0.0.1:${orderServer.port}`, grpc.credentials.createInsecure());
  const stoppers: Array<{ stop(): Promise<void> }> = [];

  return {
    pool,
    checkout,
    orders,
    raw: auth.asServiceClient(promiseClient(orderClient, 20_000, false), 'order-test'),
    unauthenticated: promiseClient(orderClient, 20_000, false),
    auth,
    products,
    async product(name, cents, onHand) {
      const res = await products.createProduct({ name, description: '', category: 'order-test', price: { amountCents: cents, currency: 'USD' }, quantityOnHand: onHand, active: true });
      return res.product!.id;
    },
    async relay(kafka, topic) {
      const relay = await startRelay({ pool, name: `order-outbox-${newId()}`, table: 'outbox', kafka, streamTypes: [ORDER_STREAM_TYPE], topicFor: () => topic, log, registry: createMetrics('order-test'), idleMs: 10 });
      stoppers.push(relay);
      return relay;
    },
    async close() {
      for (const s of stoppers) await s.stop().catch(() => undefined);
      await sweeper.stop();
      orderClient.close();
      await orderServer.shutdown();
      await product.close();
      await pool.end();
      await db.drop();
    },
  };
}

/** Keeps a processor stopped at the end of a test file. */
export const stopAll = async (processors: Processor[]) => {
  for (const p of processors) await p.stop().catch(() => undefined);
};

/** The order once it is in `status` (waits, bounded). */
export const untilStatus = (f: OrderFixture, id: string, status: OrderStatus): Promise<Order> =>
  waitFor(
    `order ${id} ${OrderStatus[status]}`,
    async () => {
      const o = (await f.raw.getOrder({ id })).order!;
      return o.status === status ? o : undefined;
    },
    { timeoutMs: 20_000 },
  );

/** A product's stock as the inventory has it now. */
export async function stockOf(f: OrderFixture, productId: string): Promise<{ onHand: number; reserved: number }> {
  const { product } = await f.products.getProduct({ id: productId });
  return { onHand: product!.quantityOnHand, reserved: product!.quantityReserved };
}

/** A payment event envelope as the payment service publishes it. */
export function paymentEvent(type: string, data: unknown, version = 2): RecordedEvent {
  return { id: randomUUID(), type, streamId: randomUUID(), streamType: 'payment', version, position: version, occurredAt: new Date().toISOString(), data, metadata: {} };
}

/** The payment service's "charged" for an order. */
export const paymentSucceeded = (orderId: string, amountCents: number) =>
  paymentEvent(PaymentSucceeded.$type, PaymentSucceeded.toJSON({ paymentId: randomUUID(), orderId, amount: { amountCents, currency: 'USD' } }));
