import test from 'ava';
import { connect, type NatsConnection } from 'nats';
import { CatalogChanged } from '@shop/contracts/shop/product/v1/events';
import { newId } from '@shop/platform/ids';
import { outboxMigrations } from '@shop/platform/outbox';
import { createPool, type Pool } from '@shop/platform/postgres/pool';
import { migrate } from '@shop/platform/postgres/migrate';
import { subjects } from '@shop/platform/subjects';
import { urls } from '@shop/tools/topology';
import { createTestDatabase, testLogger, type TestDatabase } from '@shop/testing';
import { Catalog } from '../../app/catalog.js';
import { productMigrations } from '../../index.js';
import { postgresProducts } from '../postgres/product-repository.js';
import { catalogChangedPublisher } from './catalog-changed-publisher.js';

/** CatalogChanged on the stack's real NATS, and what happens to a change when NATS is away. */
let db: TestDatabase;
let pool: Pool;
let subscriber: NatsConnection;
const received: unknown[] = [];

test.before(async () => {
  const { log } = testLogger();
  db = await createTestDatabase('product_nats');
  pool = createPool({ url: db.url, log });
  await migrate(pool, [outboxMigrations, productMigrations], log);
  subscriber = await connect({ servers: urls.nats });
  subscriber.subscribe(subjects.catalogChanged, { callback: (err, msg) => void (err ?? received.push(msg.json())) });
  await subscriber.flush();
});

test.after.always(async () => {
  await subscriber?.close();
  await pool?.end();
  await db?.drop();
});

test('publishes CatalogChanged in proto3 JSON on shop.catalog.changed, and the server has it when the publish resolves', async (t) => {
  const nc = await connect({ servers: urls.nats });
  try {
    const ids = [newId(), newId()];
    await catalogChangedPublisher(nc, testLogger().log)(ids);
    await subscriber.flush();
    const mine = received.filter((m) => JSON.stringify(m).includes(ids[0]!));
    t.deepEqual(mine, [{ productIds: ids }]);
    t.deepEqual(CatalogChanged.fromJSON(mine[0]), { productIds: ids });
  } finally {
    await nc.close();
  }
});

test('with NATS unreachable a change still commits and answers; the lost notice is logged at warn', async (t) => {
  const { log, lines } = testLogger();
  const nc = await connect({ servers: urls.nats });
  await nc.close();
  const catalog = new Catalog(pool, postgresProducts, () => new Date(), newId, { productsChanged: catalogChangedPublisher(nc, log) });
  const product = await catalog.create(
    { name: 'Desk lamp', description: '', category: 'home', sku: null, priceCents: 2599, currency: 'USD', quantityOnHand: 1, active: true },
    {},
  );
  t.is((await catalog.get(product.id)).name, 'Desk lamp');
  const warning = lines().find((l) => l.level === 40 && String(l.msg).startsWith('CatalogChanged not published'));
  t.deepEqual(warning?.productIds, [product.id]);
});
