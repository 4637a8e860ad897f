import test from 'ava';
import * as grpc from '@grpc/grpc-js';
import { ProductServiceClient } from '@shop/contracts/shop/product/v1/service';
import { loadDescriptorSet } from '@shop/contracts/descriptors';
import { createMetrics } from '@shop/platform/metrics';
import { createPool, type Pool } from '@shop/platform/postgres/pool';
import { migrate } from '@shop/platform/postgres/migrate';
import { outboxMigrations } from '@shop/platform/outbox';
import { startGrpcServer, type GrpcServer } from '@shop/platform/grpc/server';
import { promiseClient, type PromiseClient } from '@shop/platform/grpc/client';
import { newId, systemClock } from '@shop/platform/ids';
import { createTestDatabase, testLogger, type TestDatabase } from '@shop/testing';
import { Catalog, productMigrations, productService } from '../../index.js';

/**
 * The product service as a client sees it: the real gRPC server over a real Postgres
 * database of its own, called with the generated client.
 */
let db: TestDatabase;
let pool: Pool;
let server: GrpcServer;
let raw: ProductServiceClient;

let c: PromiseClient<ProductServiceClient>;

const lamp = (over: Record<string, unknown> = {}) => ({
  name: 'Desk lamp',
  description: 'Warm light',
  category: 'home-office',
  price: { amountCents: 2599, currency: 'USD' },
  quantityOnHand: 10,
  ...over,
});

const counts = async () => {
  const { rows } = await pool.query<{ products: number; outbox: number }>(
    'SELECT (SELECT count(*) FROM products)::int AS products, (SELECT count(*) FROM outbox)::int AS outbox',
  );
  return rows[0]!;
};

test.before(async () => {
  const { log } = testLogger();
  db = await createTestDatabase('product');
  pool = createPool({ url: db.url, log });
  await migrate(pool, [outboxMigrations, productMigrations], log);
  server = await startGrpcServer({
    port: 0,
    host: '127.0.0.1',
    services: [productService(new Catalog(pool, systemClock, newId))],
    descriptorSet: loadDescriptorSet(),
    log,
    registry: createMetrics('product-test'),
  });
  raw = new ProductServiceClient(`127.0.0.1:${server.port}`, grpc.credentials.createInsecure());
  c = promiseClient(raw, 10_000, false);
});

test.after.always(async () => {
  raw?.close();
  await server?.shutdown();
  await pool?.end();
  await db?.drop();
});

test.serial('create then get returns the product, and one ProductCreated event is in the outbox', async (t) => {
  const before = await counts();
  const { product } = await c.createProduct(lamp());
  t.truthy(product?.id);
  t.is(product?.revision, 1);
  t.deepEqual(product?.price, { amountCents: 2599, currency: 'USD' });
  t.true(product?.active);

  const { product: fetched } = await c.getProduct({ id: product!.id });
  t.deepEqual(fetched, product);

  const after = await counts();
  t.is(after.products, before.products + 1);
  t.is(after.outbox, before.outbox + 1);
  const { rows } = await pool.query('SELECT * FROM outbox WHERE stream_id = $1', [product!.id]);
  t.is(rows[0].type, 'shop.product.v1.ProductCreated');
  t.is(rows[0].stream_type, 'product');
  t.is(rows[0].version, 1);
  t.is(rows[0].data.product.name, 'Desk lamp');
  t.is(rows[0].data.product.price.amountCents, 2599);
});

const invalid: Array<[string, Record<string, unknown>, string]> = [
  ['empty name', { name: '  ' }, 'name'],
  ['negative price', { price: { amountCents: -1, currency: 'USD' } }, 'price.amount_cents'],
  ['missing price', { price: undefined }, 'price'],
  ['bad currency', { price: { amountCents: 1, currency: 'usd' } }, 'price.currency'],
  ['negative stock', { quantityOnHand: -5 }, 'quantity_on_hand'],
  ['bad category', { category: 'Home Office!' }, 'category'],
];
for (const [what, over, field] of invalid) {
  test.serial(`create with ${what} is INVALID_ARGUMENT naming ${field}, and stores nothing`, async (t) => {
    const before = await counts();
    const err = await t.throwsAsync<grpc.ServiceError>(c.createProduct(lamp(over) as never));
    t.is(err?.code, grpc.status.INVALID_ARGUMENT);
    t.true(err?.details.startsWith(`${field}:`), err?.details);
    t.deepEqual(err?.metadata.get('shop-error-field'), [field]);
    t.deepEqual(await counts(), before);
  });
}

test.serial('a duplicate sku is ALREADY_EXISTS and stores nothing', async (t) => {
  await c.createProduct(lamp({ sku: 'LAMP-1' }));
  const before = await counts();
  const err = await t.throwsAsync<grpc.ServiceError>(c.createProduct(lamp({ sku: 'LAMP-1' })));
  t.is(err?.code, grpc.status.ALREADY_EXISTS);
  t.regex(err?.details ?? '', /sku/);
  t.deepEqual(await counts(), before);
});

test.serial('unknown and malformed ids', async (t) => {
  const missing = await t.throwsAsync<grpc.ServiceError>(c.getProduct({ id: newId() }));
  t.is(missing?.code, grpc.status.NOT_FOUND);
  const malformed = await t.throwsAsync<grpc.ServiceError>(c.getProduct({ id: '42' }));
  t.is(malformed?.code, grpc.status.INVALID_ARGUMENT);
  t.is(malformed?.details, 'id: must be a UUID');
});

test.serial('list filters by category, name and price, and pages with a cursor', async (t) => {
  const cat = `cat-${Date.now()}`;
  for (let i = 0; i < 5; i++) await c.createProduct(lamp({ name: `Chair ${i}`, category: cat, price: { amountCents: 1000 * (i + 1), currency: 'USD' } }));
  await c.createProduct(lamp({ name: 'Table', category: cat, price: { amountCents: 99_999, currency: 'USD' } }));

  const first = await c.listProducts({ category: cat, search: 'chair', page: { pageSize: 2, pageToken: '' }, activeOnly: false });
  t.deepEqual(first.products.map((p) => p.name), ['Chair 0', 'Chair 1']);
  t.truthy(first.page?.nextPageToken);
  const second = await c.listProducts({ category: cat, search: 'chair', page: { pageSize: 2, pageToken: first.page!.nextPageToken }, activeOnly: false });
  t.deepEqual(second.products.map((p) => p.name), ['Chair 2', 'Chair 3']);
  const third = await c.listProducts({ category: cat, search: 'chair', page: { pageSize: 2, pageToken: second.page!.nextPageToken }, activeOnly: false });
  t.deepEqual(third.products.map((p) => p.name), ['Chair 4']);
  t.is(third.page?.nextPageToken, '');

  const priced = await c.listProducts({ category: cat, search: '', minPriceCents: 2000, maxPriceCents: 3000, activeOnly: false });
  t.deepEqual(priced.products.map((p) => p.name), ['Chair 1', 'Chair 2']);

  const err = await t.throwsAsync<grpc.ServiceError>(
    c.listProducts({ category: 'other', search: '', page: { pageSize: 2, pageToken: first.page!.nextPageToken }, activeOnly: false }),
  );
  t.is(err?.code, grpc.status.INVALID_ARGUMENT);
  t.regex(err?.details ?? '', /^page\.page_token/);
});

test.serial('update changes only the masked fields; a stale revision is ABORTED', async (t) => {
  const { product } = await c.createProduct(lamp());
  const { product: updated } = await c.updateProduct({
    id: product!.id,
    product: { ...product!, name: 'Floor lamp', description: 'ignored' },
    updateMask: ['name'],
    expectedRevision: 1,
  });
  t.is(updated?.name, 'Floor lamp');
  t.is(updated?.description, 'Warm light');
  t.is(updated?.revision, 2);

  const stale = await t.throwsAsync<grpc.ServiceError>(
    c.updateProduct({ id: product!.id, product: { ...product!, name: 'X' }, updateMask: ['name'], expectedRevision: 1 }),
  );
  t.is(stale?.code, grpc.status.ABORTED);
  t.is((await c.getProduct({ id: product!.id })).product?.name, 'Floor lamp');

  const badMask = await t.throwsAsync<grpc.ServiceError>(
    c.updateProduct({ id: product!.id, product: product!, updateMask: ['revision'] }),
  );
  t.is(badMask?.code, grpc.status.INVALID_ARGUMENT);
  t.regex(badMask?.details ?? '', /^update_mask/);

  const { rows } = await pool.query('SELECT type, version FROM outbox WHERE stream_id = $1 ORDER BY position', [product!.id]);
  t.deepEqual(rows, [
    { type: 'shop.product.v1.ProductCreated', version: 1 },
    { type: 'shop.product.v1.ProductUpdated', version: 2 },
  ]);
});

test.serial('concurrent reservations never oversell', async (t) => {
  const { product } = await c.createProduct(lamp({ quantityOnHand: 10 }));
  const orders = Array.from({ length: 25 }, () => newId());
  const results = await Promise.all(orders.map((orderId) => c.reserveStock({ orderId, lines: [{ productId: product!.id, quantity: 1 }] })));
  t.is(results.filter((r) => r.reserved).length, 10);
  t.is(results.filter((r) => !r.reserved).length, 15);
  const { product: after } = await c.getProduct({ id: product!.id });
  t.is(after?.quantityReserved, 10);
  t.is(after?.quantityOnHand, 10);
});

test.serial('reserve is idempotent per order; commit and release settle it once', async (t) => {
  const { product } = await c.createProduct(lamp({ quantityOnHand: 5 }));
  const sold = newId();
  const line = [{ productId: product!.id, quantity: 2 }];
  t.true((await c.reserveStock({ orderId: sold, lines: line })).reserved);
  t.true((await c.reserveStock({ orderId: sold, lines: line })).reserved);
  t.is((await c.getProduct({ id: product!.id })).product?.quantityReserved, 2);

  await c.commitStock({ orderId: sold });
  await c.commitStock({ orderId: sold });
  let p = (await c.getProduct({ id: product!.id })).product!;
  t.is(p.quantityOnHand, 3);
  t.is(p.quantityReserved, 0);
  const err = await t.throwsAsync<grpc.ServiceError>(c.releaseStock({ orderId: sold }));
  t.is(err?.code, grpc.status.FAILED_PRECONDITION);

  const cancelled = newId();
  await c.reserveStock({ orderId: cancelled, lines: [{ productId: product!.id, quantity: 3 }] });
  const short = await c.reserveStock({ orderId: newId(), lines: [{ productId: product!.id, quantity: 1 }] });
  t.false(short.reserved);
  t.deepEqual(short.shortages, [{ productId: product!.id, requested: 1, available: 0 }]);
  await c.releaseStock({ orderId: cancelled });
  p = (await c.getProduct({ id: product!.id })).product!;
  t.is(p.quantityOnHand, 3);
  t.is(p.quantityReserved, 0);
});

test.serial('a product with reserved stock cannot be deleted; once free, delete hides it', async (t) => {
  const { product } = await c.createProduct(lamp());
  const orderId = newId();
  await c.reserveStock({ orderId, lines: [{ productId: product!.id, quantity: 1 }] });
  const err = await t.throwsAsync<grpc.ServiceError>(c.deleteProduct({ id: product!.id }));
  t.is(err?.code, grpc.status.FAILED_PRECONDITION);
  await c.releaseStock({ orderId: orderId });
  await c.deleteProduct({ id: product!.id });
  const gone = await t.throwsAsync<grpc.ServiceError>(c.getProduct({ id: product!.id }));
  t.is(gone?.code, grpc.status.NOT_FOUND);
});
