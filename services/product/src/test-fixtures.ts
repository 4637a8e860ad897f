import * as grpc from '@grpc/grpc-js';
import { ProductServiceClient } from '@shop/contracts/shop/product/v1/service';
import { promiseClient, type PromiseClient } from '@shop/platform/grpc/client';
import { newId, systemClock, type Clock } from '@shop/platform/ids';
import type { Logger } from '@shop/platform/log';
import { outboxMigrations } from '@shop/platform/outbox';
import { migrate } from '@shop/platform/postgres/migrate';
import { createPool, type Pool } from '@shop/platform/postgres/pool';
import { createTestAuth, createTestDatabase, serveGrpc, type TestAuth } from '@shop/testing';
import { productService } from './adapters/grpc/product-handlers.js';
import { postgresProducts } from './adapters/postgres/product-repository.js';
import { postgresReservations } from './adapters/postgres/reservation-repository.js';
import { Catalog } from './app/catalog.js';
import { Reservations } from './app/reservations.js';
import { productMigrations } from './index.js';

/** The real product service for another service's integration tests. */
export interface ProductServiceFixture {
  /** Calls as a service of the shop (catalog changes and stock moves need one). */
  client: PromiseClient<ProductServiceClient>;
  auth: TestAuth;
  raw: ProductServiceClient;
  /** The use cases behind the server, for calls no RPC makes (the sweeper's expiry). */
  reservations: Reservations;
  /** The service's database, to read what the answers do not show. */
  pool: Pool;
  close(): Promise<void>;
}

export interface ProductServiceOptions {
  /** The service's time (default: the wall clock); a test moves it to pass deadlines. */
  clock?: Clock;
  /** Connections of the service's pool (default: the platform's). */
  poolMax?: number;
  /** How long a reservation made without an expire_time holds its stock (default: the domain's). */
  reservationTtlMs?: number;
}

/**
 * The product service as its process runs it (catalog and reservations, over gRPC on a
 * free loopback port), on a database of its own: what a service that calls product talks to
 * in its integration tests.
 */
export async function startProductService(log: Logger, name = 'product', options: ProductServiceOptions = {}): Promise<ProductServiceFixture> {
  const { clock = systemClock, poolMax, reservationTtlMs } = options;
  const db = await createTestDatabase(`${name}_product`);
  const pool = createPool({ url: db.url, log, max: poolMax });
  await migrate(pool, [outboxMigrations, productMigrations], log);
  const catalog = new Catalog(pool, postgresProducts, clock, newId);
  const reservations = new Reservations(pool, postgresProducts, postgresReservations, clock, { reservationTtlMs });
  const auth = await createTestAuth();
  const server = await serveGrpc([productService(catalog, reservations)], log, `${name}-test-product`, auth.authenticate);
  const raw = new ProductServiceClient(`127.0.0.1:${server.port}`, grpc.credentials.createInsecure());
  return {
    client: auth.asServiceClient(promiseClient(raw, 10_000), `${name}-test`),
    auth,
    raw,
    reservations,
    pool,
    async close() {
      raw.close();
      await server.shutdown();
      await pool.end();
      await db.drop();
    },
  };
}
