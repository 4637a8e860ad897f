import * as grpc from '@grpc/grpc-js';
import type { Logger } from '@shop/platform/log';
import { CartCommandServiceClient } from '@shop/contracts/shop/cart/v1/command_service';
import { ProductServiceClient } from '@shop/contracts/shop/product/v1/service';
import { randomUUID } from 'node:crypto';
import { MongoClient } from 'mongodb';
import { START } from '@shop/eventsourcing';
import { eventStoreMigrations, PostgresEventStore } from '@shop/eventsourcing/postgres';
import { relayMigrations } from '@shop/eventsourcing/kafka';
import { promiseClient, type PromiseClient } from '@shop/platform/grpc/client';
import type { GrpcServer } from '@shop/platform/grpc/server';
import { newId } from '@shop/platform/ids';
import { migrate } from '@shop/platform/postgres/migrate';
import { createPool, type Pool } from '@shop/platform/postgres/pool';
import { startProductService as startRealProductService } from '@shop/product/test-fixtures';
import { infraPorts } from '@shop/tools/topology';
import { createTestAuth, createTestDatabase, type TestAuth, type TestDatabase } from '@shop/testing';
import { cartCommandHandler } from './command/cart-handler.js';
import { cartCommandService } from './command/cart-command-service.js';
import { grpcProductLookup } from './command/product-lookup.js';
import { cartMigrations } from './migrations.js';
import { mongoCartEventStore, type CartEventStore } from './event-store.js';

/** Integration-test set-ups over the real stack: a database per test file, real gRPC servers on port 0. */

import { serveGrpc as serve } from '@shop/testing';
export { serve };

export interface ProductFixture {
  /** Ids of an active product (price 2599 USD) and of an inactive one. */
  lamp: string;
  retired: string;
  client: PromiseClient<ProductServiceClient>;
  raw: ProductServiceClient;
  close(): Promise<void>;
}

/** The real product service over its own database: the catalog the cart looks products up in. */
export async function startProductService(log: Logger): Promise<ProductFixture> {
  const product = await startRealProductService(log, 'cart');
  const create = async (name: string, active: boolean) =>
    (await product.client.createProduct({ name, description: '', category: 'home', sku: undefined, price: { amountCents: 2599, currency: 'USD' }, quantityOnHand: 10, active })).product!.id;
  const lamp = await create('Desk lamp', true);
  const retired = await create('Retired lamp', false);
  return { ...product, lamp, retired };
}

export interface CartCommandFixture {
  db: TestDatabase;
  pool: Pool;
  /** The cart's event store: Postgres (in `db`), or with EVENT_STORE=mongodb a database of its own on the stack's FerretDB (or MONGODB_URL). */
  store: CartEventStore['store'];
  /** What a relay of the cart's events publishes from (spread into startRelay). */
  relay: CartEventStore['relay'];
  /** Every event in the store now (this file's alone). */
  eventCount(): Promise<number>;
  server: GrpcServer;
  raw: CartCommandServiceClient;
  /** Keeps raw gRPC errors (code, trailers), as a client on the wire sees them. */
  c: PromiseClient<CartCommandServiceClient>;
  /** The server verifies callers with these keys: `auth.asCustomer(id)` gives a customer's call options. */
  auth: TestAuth;
  close(): Promise<void>;
}

/** The cart command service over a fresh cart database, looking products up in `products`. */
export async function startCartCommandService(log: Logger, products: ProductFixture): Promise<CartCommandFixture> {
  const db = await createTestDatabase('cart');
  const pool = createPool({ url: db.url, max: 20, log });
  await migrate(pool, [eventStoreMigrations, relayMigrations, cartMigrations], log);
  const events = await testEventStore(pool);
  const { store } = events;
  const auth = await createTestAuth();
  const server = await serve(
    [cartCommandService({ carts: cartCommandHandler(store), products: grpcProductLookup(products.client), newId })],
    log,
    'cart-command-test',
    auth.authenticate,
  );
  const raw = new CartCommandServiceClient(`127.0.0.1:${server.port}`, grpc.credentials.createInsecure());
  return {
    db,
    pool,
    store,
    relay: events.relay,
    eventCount: events.eventCount,
    server,
    raw,
    c: promiseClient(raw, 10_000, false),
    auth,
    async close() {
      raw.close();
      await server.shutdown();
      await pool.end();
      await db.drop();
      await events.close();
    },
  };
}

/** The event store the cart's integration tests run on: EVENT_STORE=mongodb for MongoDB, Postgres otherwise. */
async function testEventStore(pool: Pool): Promise<CartEventStore & { eventCount(): Promise<number>; close(): Promise<void> }> {
  if (process.env.EVENT_STORE !== 'mongodb') {
    return {
      store: new PostgresEventStore(pool),
      relay: { pool, table: 'events' },
      // Counted in the table: readAll holds back what follows a transaction still open anywhere on the server.
      eventCount: async () => (await pool.query<{ n: number }>('SELECT count(*)::int AS n FROM events')).rows[0]!.n,
      close: async () => {},
    };
  }
  const client = new MongoClient(process.env.MONGODB_URL ?? `mongodb://127.0.0.1:${infraPorts.ferretdb}/`);
  await client.connect();
  const mongo = client.db(`cart_${randomUUID().slice(0, 8)}`);
  const events = await mongoCartEventStore(mongo);
  return {
    ...events,
    // Positions are visible in order as soon as written (MongoEventStore), so readAll sees every commit.
    eventCount: async () => (await events.store.readAll(START, { limit: 1_000_000 })).length,
    async close() {
      await mongo.dropDatabase();
      await client.close();
    },
  };
}
