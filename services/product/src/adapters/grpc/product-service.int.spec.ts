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
import { newId } from '@shop/platform/ids';
import { subjects } from '@shop/platform/subjects';
import { CatalogChanged } from '@shop/contracts/shop/product/v1/events';
import { urls } from '@shop/tools/topology';
import { connect, type NatsConnection } from 'nats';
import { createTestAuth, createTestDatabase, testLogger, type TestAuth, type TestDatabase } from '@shop/testing';
import { Catalog, postgresProducts, postgresReservations, productMigrations, productService, Reservations } from '../../index.js';
import { catalogChangedPublisher } from '../nats/catalog-changed-publisher.js';

/**
 * The product service as a client sees it: the real gRPC server over a real Postgres
 * database of its own, called with the generated client, announcing its changes on the
 * stack's real NATS.
 */
let db: TestDatabase;
let pool: Pool;
let server: GrpcServer;
let raw: ProductServiceClient;
let publisher: NatsConnection;
let subscriber: NatsConnection;

let c: PromiseClient<ProductServiceClient>;
/** Without a token; `auth.asCustomer(id)` gives a customer's. */
let anonymous: PromiseClient<ProductServiceClient>;
let auth: TestAuth;

/** The service's clock runs this far ahead of the wall clock: tests move it to pass deadlines. */
let skewMs = 0;
const clock = () => new Date(Date.now() + skewMs);
const RESERVATION_TTL_MS = 10 * 60_000;

/** Every CatalogChanged seen on NATS (other processes of the stack publish there too: filter by id). */
const announced: string[][] = [];
/**
 * How many CatalogChanged named the product so far. The subscriber's flush makes it
 * exact: the server answers its PING after delivering what it had received before, and
 * the service flushed its publish before answering the call that made the change.
 */
const announcements = async (productId: string) => {
  await subscriber.flush();
  return announced.filter((ids) => ids.includes(productId)).length;
};

const inAMinute = () => new Date(clock().getTime() + 60_000).toISOString();
const reservationEvents = async (orderId: string) =>
  (await pool.query('SELECT type, version, data FROM outbox WHERE stream_type = $1 AND stream_id = $2 ORDER BY version', ['stock-reservation', orderId])).rows;

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
  auth = await createTestAuth();
  db = await createTestDatabase('product');
  pool = createPool({ url: db.url, log });
  await migrate(pool, [outboxMigrations, productMigrations], log);
  publisher = await connect({ servers: urls.nats, name: 'product-test' });
  subscriber = await connect({ servers: urls.nats, name: 'product-test-cache' });
  // A callback, not an iterator: it runs as the message is read, before the flush's PONG.
  subscriber.subscribe(subjects.catalogChanged, {
    callback: (err, msg) => {
      if (!err) announced.push(CatalogChanged.fromJSON(msg.json()).productIds);
    },
  });
  await subscriber.flush();
  const productsChanged = catalogChangedPublisher(publisher, log);
  const catalog = new Catalog(pool, postgresProducts, clock, newId, { productsChanged });
  const reservations = new Reservations(pool, postgresProducts, postgresReservations, clock, { productsChanged, reservationTtlMs: RESERVATION_TTL_MS });
  server = await startGrpcServer({
    port: 0,
    host: '127.0.0.1',
    services: [productService(catalog, reservations)],
    descriptorSet: loadDescriptorSet(),
    log,
    registry: createMetrics('product-test'),
    authenticate: auth.authenticate,
  });
  raw = new ProductServiceClient(`127.0.0.1:${server.port}`, grpc.credentials.createInsecure());
  // As the shop: the BFF for an administrator, or the order service.
  c = auth.asServiceClient(promiseClient(raw, 10_000, false), 'bff');
  anonymous = promiseClient(raw, 10_000, false);
});

test.after.always(async () => {
  raw?.close();
  await server?.shutdown();
  await publisher?.close();
  await subscriber?.close();
  await pool?.end();
  await db?.drop();
});

test.serial("changing the catalog and moving stock need a service token: a customer's token is PERMISSION_DENIED, none UNAUTHENTICATED; reading is open; nothing is stored", async (t) => {
  const { product } = await c.createProduct(lamp({ quantityOnHand: 5 }));
  const id = product!.id;
  const before = await counts();
  const asCustomer = await auth.asCustomer(newId());
  const orderId = newId();
  const calls: Array<[string, (o?: { metadata: Record<string, string> }) => Promise<unknown>]> = [
    ['CreateProduct', (o) => anonymous.createProduct(lamp(), o)],
    ['UpdateProduct', (o) => anonymous.updateProduct({ id, product: { ...product!, name: 'Mine now' }, updateMask: ['name'] }, o)],
    ['DeleteProduct', (o) => anonymous.deleteProduct({ id } as never, o)],
    ['RestockProduct', (o) => anonymous.restockProduct({ id, quantity: 5 } as never, o)],
    ['ReserveStock', (o) => anonymous.reserveStock({ orderId, lines: [{ productId: id, quantity: 5 }] } as never, o)],
    ['ReleaseStock', (o) => anonymous.releaseStock({ orderId }, o)],
    ['CommitStock', (o) => anonymous.commitStock({ orderId }, o)],
  ];
  for (const [rpc, call] of calls) {
    const none = await t.throwsAsync<grpc.ServiceError>(call(), undefined, rpc);
    t.is(none?.code, grpc.status.UNAUTHENTICATED, `${rpc} without a token: ${none?.details}`);
    const customer = await t.throwsAsync<grpc.ServiceError>(call(asCustomer), undefined, rpc);
    t.is(customer?.code, grpc.status.PERMISSION_DENIED, `${rpc} with a customer's token: ${customer?.details}`);
  }
  t.deepEqual(await counts(), before);
  t.like((await anonymous.getProduct({ id })).product, { id, quantityOnHand: 5, quantityReserved: 0 });
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

// Multi-line orders in opposite product orders, racing commits, releases, restocks and the
// sweeper: reservation-races.int.spec.ts.
test.serial('25 concurrent single-line reservations of one product with 10 in stock: exactly 10 are reserved', async (t) => {
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

test.serial('a reservation retried after a shortage answers the same shortages and writes nothing, even once stock has arrived', async (t) => {
  const { product } = await c.createProduct(lamp({ quantityOnHand: 1 }));
  const id = product!.id;
  const orderId = newId();
  const lines = [{ productId: id, quantity: 2 }];
  const first = await c.reserveStock({ orderId, lines });
  t.deepEqual(first, { reserved: false, shortages: [{ productId: id, requested: 2, available: 1 }], reason: '' });

  const before = await counts();
  t.deepEqual(await c.reserveStock({ orderId, lines }), first);
  t.deepEqual(await counts(), before);

  await c.restockProduct({ id, quantity: 10 });
  t.deepEqual(await c.reserveStock({ orderId, lines }), first, 'an order is reserved at most once: the first outcome stands');
  t.is((await c.getProduct({ id })).product?.quantityReserved, 0);
  t.deepEqual((await reservationEvents(orderId)).map((e) => [e.type, e.version]), [['shop.product.v1.StockReservationFailed', 1]]);
});

test.serial('releasing an order that has no reservation answers no lines; a later reservation of it is refused with a reason and holds nothing', async (t) => {
  const { product } = await c.createProduct(lamp({ quantityOnHand: 5 }));
  const id = product!.id;
  const orderId = newId();
  t.deepEqual(await c.releaseStock({ orderId }), { lines: [] });
  t.deepEqual(await c.releaseStock({ orderId }), { lines: [] });

  const late = await c.reserveStock({ orderId, lines: [{ productId: id, quantity: 1 }] });
  t.false(late.reserved);
  t.deepEqual(late.shortages, []);
  t.regex(late.reason, new RegExp(`^order ${orderId} was released at .+, before its reservation was made: it holds no stock`));
  t.is((await c.getProduct({ id })).product?.quantityReserved, 0);
  t.deepEqual(await reservationEvents(orderId), [], 'nothing was reserved or released: nothing to publish');
  const commit = await t.throwsAsync<grpc.ServiceError>(c.commitStock({ orderId }));
  t.is(commit?.code, grpc.status.FAILED_PRECONDITION);
});

test.serial('release gives the stock back once and answers the same lines again; StockReleased says "released"', async (t) => {
  const { product } = await c.createProduct(lamp({ quantityOnHand: 5 }));
  const id = product!.id;
  const orderId = newId();
  const lines = [{ productId: id, quantity: 2 }];
  t.true((await c.reserveStock({ orderId, lines, expireTime: inAMinute() })).reserved);
  t.deepEqual(await c.releaseStock({ orderId }), { lines });
  t.deepEqual(await c.releaseStock({ orderId }), { lines });
  t.is((await c.getProduct({ id })).product?.quantityReserved, 0);
  t.deepEqual(await reservationEvents(orderId), [
    { type: 'shop.product.v1.StockReserved', version: 1, data: { orderId, lines } },
    { type: 'shop.product.v1.StockReleased', version: 2, data: { orderId, lines, reason: 'released' } },
  ]);

  const commit = await t.throwsAsync<grpc.ServiceError>(c.commitStock({ orderId }));
  t.is(commit?.code, grpc.status.FAILED_PRECONDITION);
  t.regex(commit?.details ?? '', new RegExp(`^reservation of order ${orderId} was released at `));
  const again = await c.reserveStock({ orderId, lines });
  t.false(again.reserved);
  t.regex(again.reason, /was released at .*; an order is reserved at most once/);
});

test.serial('expire_time must be in the future and at most 24 h ahead: INVALID_ARGUMENT naming it, nothing reserved', async (t) => {
  const { product } = await c.createProduct(lamp({ quantityOnHand: 5 }));
  const id = product!.id;
  const hour = 3_600_000;
  for (const expireTime of [new Date(clock().getTime() - 1_000).toISOString(), new Date(clock().getTime() + 25 * hour).toISOString()]) {
    const err = await t.throwsAsync<grpc.ServiceError>(c.reserveStock({ orderId: newId(), lines: [{ productId: id, quantity: 1 }], expireTime }));
    t.is(err?.code, grpc.status.INVALID_ARGUMENT, expireTime);
    t.true(err?.details.startsWith('expire_time:'), err?.details);
    t.deepEqual(err?.metadata.get('shop-error-field'), ['expire_time']);
  }
  t.is((await c.getProduct({ id })).product?.quantityReserved, 0);
  t.true((await c.reserveStock({ orderId: newId(), lines: [{ productId: id, quantity: 1 }], expireTime: new Date(clock().getTime() + 23 * hour).toISOString() })).reserved);
});

test.serial('a reservation past its deadline cannot be committed: FAILED_PRECONDITION saying it expired; its stock is back', async (t) => {
  const { product } = await c.createProduct(lamp({ quantityOnHand: 5 }));
  const id = product!.id;
  const orderId = newId();
  const lines = [{ productId: id, quantity: 2 }];
  const expireTime = inAMinute();
  t.true((await c.reserveStock({ orderId, lines, expireTime })).reserved);
  t.is((await c.getProduct({ id })).product?.quantityReserved, 2);

  skewMs = 2 * 60_000;
  try {
    for (let attempt = 0; attempt < 2; attempt++) {
      const err = await t.throwsAsync<grpc.ServiceError>(c.commitStock({ orderId }));
      t.is(err?.code, grpc.status.FAILED_PRECONDITION);
      t.is(err?.details, `reservation of order ${orderId} expired at ${expireTime} and was released`);
    }
    const p = (await c.getProduct({ id })).product!;
    t.is(p.quantityReserved, 0);
    t.is(p.quantityOnHand, 5);
    t.deepEqual(await reservationEvents(orderId), [
      { type: 'shop.product.v1.StockReserved', version: 1, data: { orderId, lines } },
      { type: 'shop.product.v1.StockReleased', version: 2, data: { orderId, lines, reason: 'expired' } },
    ]);
    t.deepEqual(await c.releaseStock({ orderId }), { lines }, 'releasing it afterwards is harmless');
    const again = await c.reserveStock({ orderId, lines });
    t.false(again.reserved);
    t.regex(again.reason, /expired at .* and was released/);
  } finally {
    skewMs = 0;
  }
});

test.serial('without expire_time a reservation holds its stock for the configured TTL', async (t) => {
  const { product } = await c.createProduct(lamp({ quantityOnHand: 5 }));
  const kept = newId();
  const lapsed = newId();
  const lines = [{ productId: product!.id, quantity: 1 }];
  t.true((await c.reserveStock({ orderId: kept, lines })).reserved);
  t.true((await c.reserveStock({ orderId: lapsed, lines })).reserved);
  skewMs = RESERVATION_TTL_MS - 60_000;
  try {
    t.deepEqual(await c.commitStock({ orderId: kept }), { lines });
    skewMs = RESERVATION_TTL_MS + 60_000;
    const err = await t.throwsAsync<grpc.ServiceError>(c.commitStock({ orderId: lapsed }));
    t.is(err?.code, grpc.status.FAILED_PRECONDITION);
    t.regex(err?.details ?? '', /expired at/);
  } finally {
    skewMs = 0;
  }
});

test.serial('restock adds units on hand and moves the revision; ProductRestocked is in the outbox with it', async (t) => {
  const { product } = await c.createProduct(lamp({ quantityOnHand: 3 }));
  const id = product!.id;
  const { product: restocked } = await c.restockProduct({ id, quantity: 7, expectedRevision: 1 });
  t.is(restocked?.quantityOnHand, 10);
  t.is(restocked?.revision, 2);
  t.deepEqual(restocked, (await c.getProduct({ id })).product);
  const { rows } = await pool.query('SELECT type, stream_type, version, data FROM outbox WHERE stream_id = $1 ORDER BY version', [id]);
  t.deepEqual(rows.at(-1), {
    type: 'shop.product.v1.ProductRestocked',
    stream_type: 'product',
    version: 2,
    data: { productId: id, quantity: 7, quantityOnHand: 10 },
  });
});

test.serial('restock refuses a bad quantity (naming it), a stale revision, an unknown or deleted product, and stores nothing', async (t) => {
  const { product } = await c.createProduct(lamp({ quantityOnHand: 3 }));
  const id = product!.id;
  const before = await counts();
  for (const quantity of [0, -1, 1_000_001]) {
    const err = await t.throwsAsync<grpc.ServiceError>(c.restockProduct({ id, quantity }));
    t.is(err?.code, grpc.status.INVALID_ARGUMENT, String(quantity));
    t.deepEqual(err?.metadata.get('shop-error-field'), ['quantity']);
  }
  const stale = await t.throwsAsync<grpc.ServiceError>(c.restockProduct({ id, quantity: 1, expectedRevision: 7 }));
  t.is(stale?.code, grpc.status.ABORTED);
  const unknown = await t.throwsAsync<grpc.ServiceError>(c.restockProduct({ id: newId(), quantity: 1 }));
  t.is(unknown?.code, grpc.status.NOT_FOUND);
  t.deepEqual(await counts(), before);
  t.is((await c.getProduct({ id })).product?.quantityOnHand, 3);

  await c.deleteProduct({ id });
  const deleted = await t.throwsAsync<grpc.ServiceError>(c.restockProduct({ id, quantity: 1 }));
  t.is(deleted?.code, grpc.status.NOT_FOUND);
  t.true((await c.restockProduct({ id: (await c.createProduct(lamp())).product!.id, quantity: 1_000_000 })).product!.quantityOnHand > 1_000_000);
});

test.serial('every committed change of a product or its stock is announced on NATS before the call answers', async (t) => {
  const { product } = await c.createProduct(lamp({ quantityOnHand: 5 }));
  const id = product!.id;
  t.is(await announcements(id), 1, 'create');
  await c.updateProduct({ id, product: { ...product!, name: 'Floor lamp' }, updateMask: ['name'] });
  t.is(await announcements(id), 2, 'update');
  await c.restockProduct({ id, quantity: 5 });
  t.is(await announcements(id), 3, 'restock');

  const sold = newId();
  const lines = [{ productId: id, quantity: 1 }];
  await c.reserveStock({ orderId: sold, lines });
  t.is(await announcements(id), 4, 'reserve');
  await c.reserveStock({ orderId: sold, lines });
  t.is(await announcements(id), 4, 'a retried reservation changes nothing');
  await c.commitStock({ orderId: sold });
  t.is(await announcements(id), 5, 'commit');

  const cancelled = newId();
  await c.reserveStock({ orderId: cancelled, lines });
  await c.releaseStock({ orderId: cancelled });
  t.is(await announcements(id), 7, 'reserve and release');
  await c.reserveStock({ orderId: newId(), lines: [{ productId: id, quantity: 1_000 }] });
  t.is(await announcements(id), 7, 'a refused reservation changes nothing');

  const lapsed = newId();
  await c.reserveStock({ orderId: lapsed, lines, expireTime: inAMinute() });
  skewMs = 2 * 60_000;
  try {
    await t.throwsAsync(c.commitStock({ orderId: lapsed }));
  } finally {
    skewMs = 0;
  }
  t.is(await announcements(id), 9, 'reserve, and the expiry found by the commit');

  await c.deleteProduct({ id });
  t.is(await announcements(id), 10, 'delete');
});
