import * as grpc from '@grpc/grpc-js';
import type { Logger } from '@shop/platform/log';
import { CartCommandServiceClient } from '@shop/contracts/shop/cart/v1/command_service';
import { ProductServiceClient } from '@shop/contracts/shop/product/v1/service';
import { eventStoreMigrations, PostgresEventStore } from '@shop/eventsourcing/postgres';
import { relayMigrations } from '@shop/eventsourcing/kafka';
import { promiseClient, type PromiseClient } from '@shop/platform/grpc/client';
import type { GrpcServer } from '@shop/platform/grpc/server';
import { newId } from '@shop/platform/ids';
import { migrate } from '@shop/platform/postgres/migrate';
import { createPool, type Pool } from '@shop/platform/postgres/pool';
import { startProductService as startRealProductService } from '@shop/product/test-fixtures';
import { createTestAuth, createTestDatabase, type TestAuth, type TestDatabase } from '@shop/testing';
import { cartCommandHandler } from './command/cart-handler.js';
import { cartCommandService } from './command/cart-command-service.js';
import { grpcProductLookup } from './command/product-lookup.js';
import { cartMigrations } from './migrations.js';

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
  store: PostgresEventStore;
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
  const store = new PostgresEventStore(pool);
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
    server,
    raw,
    c: promiseClient(raw, 10_000, false),
    auth,
    async close() {
      raw.close();
      await server.shutdown();
      await pool.end();
      await db.drop();
    },
  };
}
