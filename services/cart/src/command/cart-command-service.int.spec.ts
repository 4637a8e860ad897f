import test from 'ava';
import * as grpc from '@grpc/grpc-js';
import type { RecordedEvent } from '@shop/eventsourcing';
import { newId } from '@shop/platform/ids';
import { testLogger } from '@shop/testing';
import { cartCommandHandler } from './cart-handler.js';
import { SHOP } from '../domain/cart.js';
import { startCartCommandService, startProductService, type CartCommandFixture, type ProductFixture } from '../test-fixtures.js';

/**
 * The cart command service as a client sees it: the real gRPC server over a real event
 * store, looking products up in the real product service.
 */
let products: ProductFixture;
let cart: CartCommandFixture;

test.before(async () => {
  const { log } = testLogger();
  products = await startProductService(log);
  cart = await startCartCommandService(log, products);
});

test.after.always(async () => {
  await cart?.close();
  await products?.close();
});

// Through the fixture and the store's port, so that the file runs on either adapter (EVENT_STORE, test-fixtures.ts).
const eventCount = () => cart.eventCount();
const streamOf = async (cartId: string) => (await cart.store.readStream(cartId)) as Array<Omit<RecordedEvent, 'data'> & { data: any }>;

// Tests that count every event of the store run serially; the others look at their own stream.

/** A customer's call options: their access token, as the BFF forwards it. */
type Options = { metadata: Record<string, string> };
const as = (customerId: string): Promise<Options> => cart.auth.asCustomer(customerId);

/** A cart with a customer and `quantity` lamps in it; `owner` are that customer's call options. */
async function cartWithLamps(quantity = 2, customerId = newId()) {
  const cartId = newId();
  const owner = await as(customerId);
  await cart.c.assignCustomer({ cartId, customerId }, owner);
  await cart.c.addItem({ cartId, productId: products.lamp, quantity }, owner);
  return { cartId, customerId, owner };
}

test('adding an item records the product name and price, and answers the new version and position', async (t) => {
  const cartId = newId();
  const correlationId = newId();
  const { result } = await cart.c.addItem({ cartId, productId: products.lamp, quantity: 2 }, { metadata: { 'x-correlation-id': correlationId } });
  t.is(result?.version, 1);
  t.true((result?.position ?? 0) > 0);

  const [added] = await streamOf(cartId);
  t.is(added?.type, 'shop.cart.v1.ItemAdded');
  t.deepEqual(added?.data, { cartId, productId: products.lamp, productName: 'Desk lamp', quantity: 2, unitPrice: { amountCents: 2599, currency: 'USD' } });
  t.is(added?.metadata.correlationId, correlationId);
});

test('add, change, remove and reset each append their event, versions counting up', async (t) => {
  const cartId = newId();
  const v = [];
  v.push((await cart.c.addItem({ cartId, productId: products.lamp, quantity: 1 })).result?.version);
  v.push((await cart.c.addItem({ cartId, productId: products.lamp, quantity: 2 })).result?.version);
  v.push((await cart.c.changeQuantity({ cartId, productId: products.lamp, quantity: 5 })).result?.version);
  v.push((await cart.c.changeQuantity({ cartId, productId: products.lamp, quantity: 0 })).result?.version);
  v.push((await cart.c.addItem({ cartId, productId: products.lamp, quantity: 1 })).result?.version);
  v.push((await cart.c.removeItem({ cartId, productId: products.lamp })).result?.version);
  v.push((await cart.c.addItem({ cartId, productId: products.lamp, quantity: 1 })).result?.version);
  v.push((await cart.c.resetCart({ cartId })).result?.version);
  t.deepEqual(v, [1, 2, 3, 4, 5, 6, 7, 8]);
  t.deepEqual(
    (await streamOf(cartId)).map((e) => e.type.replace('shop.cart.v1.', '')),
    ['ItemAdded', 'ItemAdded', 'QuantityChanged', 'ItemRemoved', 'ItemAdded', 'ItemRemoved', 'ItemAdded', 'CartReset'],
  );
  t.is((await streamOf(cartId))[2]?.data.quantity, 5);
});

test('checkout answers the frozen lines and total; the cart then refuses changes until it is reset', async (t) => {
  const { cartId, customerId, owner } = await cartWithLamps(3);
  const res = await cart.c.checkOut({ cartId }, owner);
  t.is(res.result?.version, 3);
  t.like(res.checkout, { cartId, customerId, total: { amountCents: 7797, currency: 'USD' } });
  t.deepEqual(res.checkout?.lines, [
    { productId: products.lamp, productName: 'Desk lamp', quantity: 3, unitPrice: { amountCents: 2599, currency: 'USD' }, lineTotal: { amountCents: 7797, currency: 'USD' } },
  ]);
  const stored = (await streamOf(cartId))[2];
  t.is(stored?.type, 'shop.cart.v1.CheckedOut');
  t.is(stored?.data.checkoutId, res.checkout?.checkoutId);

  const refused = await t.throwsAsync<grpc.ServiceError>(cart.c.addItem({ cartId, productId: products.lamp, quantity: 1 }, owner));
  t.is(refused?.code, grpc.status.FAILED_PRECONDITION);
  t.is(refused?.details, 'cart is checked out; reset it first');
  t.is((await streamOf(cartId)).length, 3);

  t.is((await cart.c.resetCart({ cartId }, owner)).result?.version, 4);
  t.is((await cart.c.addItem({ cartId, productId: products.lamp, quantity: 1 }, owner)).result?.version, 5);
});

test('a command that changes nothing appends nothing and answers the current version', async (t) => {
  const { cartId, customerId, owner } = await cartWithLamps();
  const { result } = await cart.c.assignCustomer({ cartId, customerId }, owner);
  t.deepEqual(result, { version: 2, position: 0 });
  t.is((await streamOf(cartId)).length, 2);
});

test('an AddItem retried under its request_id is applied once, and the retry answers the same version, also from a process that has not seen the cart', async (t) => {
  const { cartId, owner } = await cartWithLamps(1);
  const requestId = `merge:${newId()}@1:${products.lamp}`;
  const first = await cart.c.addItem({ cartId, productId: products.lamp, quantity: 3, requestId }, owner);
  const retry = await cart.c.addItem({ cartId, productId: products.lamp, quantity: 3, requestId }, owner);
  t.is(first.result?.version, 3);
  t.deepEqual(retry.result, { version: 3, position: 0 });
  // A restarted process (no cached state) folds the key back from the stored event.
  const cold = await cartCommandHandler(cart.store).handle(cartId, {
    type: 'AddItem',
    cartId,
    productId: products.lamp,
    productName: 'Desk lamp',
    unitPrice: { cents: 2599, currency: 'USD' },
    quantity: 3,
    by: SHOP,
    requestId,
  });
  t.deepEqual([cold.version, cold.events], [3, []]);
  const stream = await streamOf(cartId);
  t.deepEqual(stream.map((e) => [e.type.replace('shop.cart.v1.', ''), e.data.quantity, e.data.requestId]), [
    ['CustomerAssigned', undefined, undefined],
    ['ItemAdded', 1, undefined],
    ['ItemAdded', 3, requestId],
  ]);
  const other = await cart.c.addItem({ cartId, productId: products.lamp, quantity: 3, requestId: `${requestId}-2` }, owner);
  t.is(other.result?.version, 4, 'another request id adds');
});

const invalid: Array<[string, (cartId: string, owner: Options) => Promise<unknown>, string]> = [
  ['a malformed cart id', (_, owner) => cart.c.addItem({ cartId: 'cart-1', productId: products.lamp, quantity: 1 }, owner), 'cart_id'],
  ['a missing cart id', (_, owner) => cart.c.resetCart({ cartId: '' }, owner), 'cart_id'],
  ['a malformed product id', (cartId, owner) => cart.c.addItem({ cartId, productId: 'lamp', quantity: 1 }, owner), 'product_id'],
  ['a malformed product id on remove', (cartId, owner) => cart.c.removeItem({ cartId, productId: '42' }, owner), 'product_id'],
  ['quantity 0 on add', (cartId, owner) => cart.c.addItem({ cartId, productId: products.lamp, quantity: 0 }, owner), 'quantity'],
  ['a negative quantity on add', (cartId, owner) => cart.c.addItem({ cartId, productId: products.lamp, quantity: -1 }, owner), 'quantity'],
  ['100 units on add', (cartId, owner) => cart.c.addItem({ cartId, productId: products.lamp, quantity: 100 }, owner), 'quantity'],
  ['a line over 99 units', (cartId, owner) => cart.c.addItem({ cartId, productId: products.lamp, quantity: 98 }, owner), 'quantity'],
  ['quantity 100 on change', (cartId, owner) => cart.c.changeQuantity({ cartId, productId: products.lamp, quantity: 100 }, owner), 'quantity'],
  ['a negative quantity on change', (cartId, owner) => cart.c.changeQuantity({ cartId, productId: products.lamp, quantity: -1 }, owner), 'quantity'],
  ['a malformed customer id', (cartId, owner) => cart.c.assignCustomer({ cartId, customerId: 'alice' }, owner), 'customer_id'],
  ['a negative expected version', (cartId, owner) => cart.c.checkOut({ cartId, expectedVersion: -1 }, owner), 'expected_version'],
  ['a request id of 129 characters', (cartId, owner) => cart.c.addItem({ cartId, productId: products.lamp, quantity: 1, requestId: 'k'.repeat(129) }, owner), 'request_id'],
  ['a request id that is not printable ASCII', (cartId, owner) => cart.c.addItem({ cartId, productId: products.lamp, quantity: 1, requestId: 'café\n' }, owner), 'request_id'],
  ['an empty request id', (cartId, owner) => cart.c.addItem({ cartId, productId: products.lamp, quantity: 1, requestId: '' }, owner), 'request_id'],
];
for (const [what, call, field] of invalid) {
  test.serial(`${what} is INVALID_ARGUMENT naming ${field}, and appends nothing`, async (t) => {
    const { cartId, owner } = await cartWithLamps();
    const before = await eventCount();
    const err = await t.throwsAsync<grpc.ServiceError>(call(cartId, owner) as Promise<unknown>);
    t.is(err?.code, grpc.status.INVALID_ARGUMENT, err?.details);
    t.true(err?.details.startsWith(`${field}: `), err?.details);
    t.deepEqual(err?.metadata.get('shop-error-field'), [field]);
    t.is(await eventCount(), before);
  });
}

test.serial('the 99-unit limit says how many more fit', async (t) => {
  const { cartId, owner } = await cartWithLamps(98);
  const err = await t.throwsAsync<grpc.ServiceError>(cart.c.addItem({ cartId, productId: products.lamp, quantity: 2 }, owner));
  t.is(err?.code, grpc.status.INVALID_ARGUMENT);
  t.regex(err?.details ?? '', /^quantity: a cart line holds at most 99 units; the cart already has 98 .* at most 1 more/);
});

const refused: Array<[string, (cartId: string, owner: Options) => Promise<unknown>, RegExp]> = [
  ['removing a product not in the cart', (cartId, owner) => cart.c.removeItem({ cartId, productId: newId() }, owner), /is not in the cart/],
  ['changing a product not in the cart', (cartId, owner) => cart.c.changeQuantity({ cartId, productId: newId(), quantity: 1 }, owner), /is not in the cart/],
  ['checking out an empty cart', async (cartId, owner) => {
    await cart.c.resetCart({ cartId }, owner);
    return cart.c.checkOut({ cartId }, owner);
  }, /cart is empty/],
  ['adding an inactive product', (cartId, owner) => cart.c.addItem({ cartId, productId: products.retired, quantity: 1 }, owner), /is not available/],
];
for (const [what, call, message] of refused) {
  test.serial(`${what} is FAILED_PRECONDITION and appends nothing`, async (t) => {
    const { cartId, owner } = await cartWithLamps();
    const before = await eventCount();
    const err = await t.throwsAsync<grpc.ServiceError>(call(cartId, owner) as Promise<unknown>);
    t.is(err?.code, grpc.status.FAILED_PRECONDITION, err?.details);
    t.regex(err?.details ?? '', message);
    // The reset of the empty-cart case is the only write allowed.
    t.is(await eventCount(), before + (what === 'checking out an empty cart' ? 1 : 0));
  });
}

test.serial('a signed-in shopper\'s cart checks out at the catalog\'s current price; an anonymous one is refused and records nothing', async (t) => {
  const customerId = newId();
  const owner = await as(customerId);
  const cartId = newId();
  await cart.c.addItem({ cartId, productId: products.lamp, quantity: 2, customerId }, owner);
  const res = await cart.c.checkOut({ cartId }, owner);
  t.is(res.result?.version, 3, 'CustomerAssigned, ItemAdded, CheckedOut');
  t.is(res.checkout?.customerId, customerId);
  t.is(res.checkout?.lines[0]?.quantity, 2);
  t.deepEqual(res.checkout?.total, { amountCents: 2 * 2599, currency: 'USD' });

  const anonymous = newId();
  await cart.c.addItem({ cartId: anonymous, productId: products.lamp, quantity: 1 });
  const before = await eventCount();
  const err = await t.throwsAsync<grpc.ServiceError>(cart.c.checkOut({ cartId: anonymous }, owner));
  t.is(err?.code, grpc.status.FAILED_PRECONDITION);
  t.regex(err?.details ?? '', /sign in to check out/);
  const wrongTotal = newId();
  await cart.c.addItem({ cartId: wrongTotal, productId: products.lamp, quantity: 1 }, owner);
  const mismatch = await t.throwsAsync<grpc.ServiceError>(cart.c.checkOut({ cartId: wrongTotal, expectedTotal: { amountCents: 1, currency: 'USD' } }, owner));
  t.is(mismatch?.code, grpc.status.FAILED_PRECONDITION);
  t.regex(mismatch?.details ?? '', /total at current prices is 2599 USD cents, not the expected 1 USD/);
  const negative = await t.throwsAsync<grpc.ServiceError>(cart.c.checkOut({ cartId: wrongTotal, expectedTotal: { amountCents: -5, currency: 'USD' } }, owner));
  t.is(negative?.code, grpc.status.INVALID_ARGUMENT);
  t.regex(negative?.details ?? '', /^expected_total\.amount_cents:/);
  t.is(await eventCount(), before + 2, 'only the second cart\'s two events: the refused checkouts recorded nothing');
});

test.serial("another customer's cart is PERMISSION_DENIED to a signed-in shopper, and records nothing", async (t) => {
  const { cartId } = await cartWithLamps(1);
  const mallory = newId();
  const asMallory = await as(mallory);
  const before = await eventCount();
  for (const call of [
    () => cart.c.addItem({ cartId, productId: products.lamp, quantity: 1 }, asMallory),
    () => cart.c.changeQuantity({ cartId, productId: products.lamp, quantity: 5 }, asMallory),
    () => cart.c.removeItem({ cartId, productId: products.lamp }, asMallory),
    () => cart.c.resetCart({ cartId }, asMallory),
    () => cart.c.checkOut({ cartId }, asMallory),
    () => cart.c.assignCustomer({ cartId, customerId: mallory }, asMallory),
  ]) {
    const err = await t.throwsAsync<grpc.ServiceError>(call());
    t.is(err?.code, grpc.status.PERMISSION_DENIED, err?.details);
    t.regex(err?.details ?? '', /belongs to another customer/);
  }
  t.is(await eventCount(), before);
});

test.serial("a customer's cart is PERMISSION_DENIED to a caller without a token who knows its id (grpcurl straight to the service), and records nothing", async (t) => {
  const { cartId } = await cartWithLamps(1);
  const before = await eventCount();
  for (const call of [
    () => cart.c.addItem({ cartId, productId: products.lamp, quantity: 1 }),
    () => cart.c.changeQuantity({ cartId, productId: products.lamp, quantity: 5 }),
    () => cart.c.removeItem({ cartId, productId: products.lamp }),
    () => cart.c.resetCart({ cartId }),
  ]) {
    const err = await t.throwsAsync<grpc.ServiceError>(call());
    t.is(err?.code, grpc.status.PERMISSION_DENIED, err?.details);
    t.regex(err?.details ?? '', /belongs to a customer: sign in/);
  }
  t.is(await eventCount(), before);
});

test("a discarded cart (its customer deleted their account) refuses every command, whoever asks: FAILED_PRECONDITION, nothing recorded", async (t) => {
  const { cartId, customerId, owner } = await cartWithLamps(1);
  await cartCommandHandler(cart.store).handle(cartId, { type: 'Discard', cartId, customerId });
  const length = (await streamOf(cartId)).length;
  const someone = newId();
  for (const [who, options] of [['its former customer', owner], ['another customer', await as(someone)], ['a caller without a token', undefined]] as const) {
    for (const call of [
      () => cart.c.addItem({ cartId, productId: products.lamp, quantity: 1 }, options),
      () => cart.c.changeQuantity({ cartId, productId: products.lamp, quantity: 5 }, options),
      () => cart.c.removeItem({ cartId, productId: products.lamp }, options),
      () => cart.c.resetCart({ cartId }, options),
      () => cart.c.checkOut({ cartId }, options),
      () => cart.c.assignCustomer({ cartId, customerId: who === 'another customer' ? someone : customerId }, options ?? owner),
    ]) {
      const err = await t.throwsAsync<grpc.ServiceError>(call());
      t.is(err?.code, grpc.status.FAILED_PRECONDITION, `${who}: ${err?.details}`);
      t.is(err?.details, `cart ${cartId} was discarded`);
    }
  }
  t.is((await streamOf(cartId)).length, length);
});

test.serial('naming a customer takes that customer\'s token: AssignCustomer without one is UNAUTHENTICATED, with another\'s PERMISSION_DENIED, a forged one UNAUTHENTICATED; nothing is recorded', async (t) => {
  // Measured before: grpcurl AssignCustomer straight to cart-command gave a stranger's cart to any customer id.
  const stranger = newId();
  const cartId = newId();
  await cart.c.addItem({ cartId, productId: products.lamp, quantity: 1 });
  const before = await eventCount();
  const anonymous = await t.throwsAsync<grpc.ServiceError>(cart.c.assignCustomer({ cartId, customerId: stranger }));
  t.is(anonymous?.code, grpc.status.UNAUTHENTICATED);
  t.regex(anonymous?.details ?? '', /^customer_id needs the customer's access token/);
  const addAs = await t.throwsAsync<grpc.ServiceError>(cart.c.addItem({ cartId, productId: products.lamp, quantity: 1, customerId: stranger }));
  t.is(addAs?.code, grpc.status.UNAUTHENTICATED);
  const otherToken = await t.throwsAsync<grpc.ServiceError>(cart.c.assignCustomer({ cartId, customerId: stranger }, await as(newId())));
  t.is(otherToken?.code, grpc.status.PERMISSION_DENIED);
  t.regex(otherToken?.details ?? '', /customer_id must be your own/);
  const forged = await t.throwsAsync<grpc.ServiceError>(cart.c.assignCustomer({ cartId, customerId: stranger }, { metadata: { authorization: 'Bearer eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiJ4In0.c2ln' } }));
  t.is(forged?.code, grpc.status.UNAUTHENTICATED);
  t.is(await eventCount(), before);

  // The customer themselves, or a service of the shop, may.
  t.is((await cart.c.assignCustomer({ cartId, customerId: stranger }, await as(stranger))).result?.version, 2);
  const other = newId();
  await cart.c.addItem({ cartId: other, productId: products.lamp, quantity: 1 });
  t.is((await cart.c.assignCustomer({ cartId: other, customerId: stranger }, await cart.auth.asService('bff'))).result?.version, 2);
});

test.serial('an unknown product is NOT_FOUND and appends nothing', async (t) => {
  const before = await eventCount();
  const productId = newId();
  const err = await t.throwsAsync<grpc.ServiceError>(cart.c.addItem({ cartId: newId(), productId, quantity: 1 }));
  t.is(err?.code, grpc.status.NOT_FOUND);
  t.is(err?.details, `product ${productId} not found`);
  t.is(await eventCount(), before);
});

test.serial('expected_version: the current version passes, a stale one is ABORTED and appends nothing', async (t) => {
  const cartId = newId();
  t.is((await cart.c.addItem({ cartId, productId: products.lamp, quantity: 1, expectedVersion: 0 })).result?.version, 1);
  t.is((await cart.c.changeQuantity({ cartId, productId: products.lamp, quantity: 2, expectedVersion: 1 })).result?.version, 2);

  const before = await eventCount();
  const stale = await t.throwsAsync<grpc.ServiceError>(cart.c.changeQuantity({ cartId, productId: products.lamp, quantity: 3, expectedVersion: 1 }));
  t.is(stale?.code, grpc.status.ABORTED);
  t.regex(stale?.details ?? '', /version 2, not 1/);
  const exists = await t.throwsAsync<grpc.ServiceError>(cart.c.addItem({ cartId, productId: products.lamp, quantity: 1, expectedVersion: 0 }));
  t.is(exists?.code, grpc.status.ABORTED);
  t.is(await eventCount(), before);
});

test.serial('concurrent writers without expected_version are all applied (conflicts retried)', async (t) => {
  const cartId = newId();
  // Each conflict round lets at least one writer through, so four writers fit in the default retries.
  const results = await Promise.all(Array.from({ length: 4 }, () => cart.c.addItem({ cartId, productId: products.lamp, quantity: 1 })));
  t.deepEqual(results.map((r) => r.result?.version).sort(), [1, 2, 3, 4]);
  const { result } = await cart.c.changeQuantity({ cartId, productId: products.lamp, quantity: 4 });
  t.deepEqual(result, { version: 4, position: 0 }, 'the line holds the four units: setting 4 is a no-op');
});
