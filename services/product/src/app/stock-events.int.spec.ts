import test from 'ava';
import type { Kafka, KafkaMessage } from 'kafkajs';
import { relayMigrations, startRelay, type Relay } from '@shop/eventsourcing/kafka';
import { createMetrics } from '@shop/platform/metrics';
import { outboxMigrations } from '@shop/platform/outbox';
import { createPool, type Pool } from '@shop/platform/postgres/pool';
import { migrate } from '@shop/platform/postgres/migrate';
import { newId } from '@shop/platform/ids';
import { consumeTopic, createTestDatabase, createTestTopics, testKafka, testLogger, type TestDatabase } from '@shop/testing';
import { postgresProducts, postgresReservations, productMigrations } from '../index.js';
import { Catalog } from './catalog.js';
import { Reservations } from './reservations.js';
import { startReservationSweeper } from './reservation-sweeper.js';

/**
 * Stock changes as other services see them: the catalog over a real Postgres, the outbox
 * relay (as main.ts runs it) publishing to a Kafka topic of this test's own.
 */
let db: TestDatabase;
let pool: Pool;
let kafka: Kafka;
let topic: string;
let relay: Relay;
let catalog: Catalog;
let reservations: Reservations;
let now = new Date('2030-01-01T12:00:00.000Z');
const meta = { correlationId: 'stock-events-test' };

test.before(async () => {
  const { log } = testLogger();
  db = await createTestDatabase('product_events');
  pool = createPool({ url: db.url, log });
  await migrate(pool, [outboxMigrations, relayMigrations, productMigrations], log);
  kafka = testKafka(log, 'product-events-test');
  ({ topic } = await createTestTopics(kafka, 'product'));
  relay = await startRelay({ pool, name: 'product-outbox', table: 'outbox', kafka, topicFor: () => topic, log, registry: createMetrics('product-test'), idleMs: 10 });
  catalog = new Catalog(pool, postgresProducts, () => now, newId);
  reservations = new Reservations(pool, postgresProducts, postgresReservations, () => now);
});

test.after.always(async () => {
  await relay?.stop();
  await pool?.end();
  await db?.drop();
});

const envelope = (m: KafkaMessage) => ({
  key: m.key?.toString(),
  type: m.headers?.type?.toString(),
  ...(JSON.parse(m.value!.toString()) as { streamType: string; streamId: string; version: number; data: unknown }),
});

test.serial('restock and a reservation that expires reach Kafka as ProductRestocked and StockReleased (reason "expired")', async (t) => {
  const product = await catalog.create({ name: 'Desk lamp', description: '', category: 'home', sku: null, priceCents: 2599, currency: 'USD', quantityOnHand: 2, active: true }, meta);
  await catalog.restock(product.id, 8, 1, meta);
  const orderId = newId();
  const lines = [{ productId: product.id, quantity: 4 }];
  t.true((await reservations.reserve(orderId, lines, new Date(now.getTime() + 60_000), meta)).reserved);
  now = new Date(now.getTime() + 120_000);
  const sweeper = startReservationSweeper({ expireNext: (m) => reservations.expireNext(m), intervalMs: 60_000, log: testLogger().log });
  t.is(await sweeper.sweep(), 1);
  await sweeper.stop();

  // ProductCreated, ProductRestocked, StockReserved, StockReleased.
  const messages = (await consumeTopic(kafka, topic, 4)).map(envelope);
  const restocked = messages.find((m) => m.type === 'shop.product.v1.ProductRestocked');
  t.like(restocked, { key: product.id, streamType: 'product', streamId: product.id, version: 2, data: { productId: product.id, quantity: 8, quantityOnHand: 10 } });
  const expired = messages.find((m) => m.type === 'shop.product.v1.StockReleased');
  t.like(expired, { key: orderId, streamType: 'stock-reservation', streamId: orderId, version: 2 });
  t.deepEqual(expired?.data, { orderId, lines, reason: 'expired' });
  t.like(await catalog.get(product.id), { quantityOnHand: 10, quantityReserved: 0 });
});
