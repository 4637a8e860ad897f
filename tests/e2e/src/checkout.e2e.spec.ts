import test from 'ava';
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { subjects } from '@shop/platform/subjects';
import { paymentDeclineAmountCents } from '@shop/tools/apps';
import { gql } from './graphql.js';
import { admin, bearer, checkOut, fillCart, newProduct, settled, signUp, stockOf } from './shop.js';
import { natsSubscribed, subscribe } from './sse.js';

/**
 * Buying, end to end through the Envoy edge: cart → checkOut → the order service places
 * the order → stock reserved (product) → charged (payment, over Kafka) → paid, stock
 * committed → CONFIRMED; and every way out: shortage, decline, cancellation. With the
 * reports, the live order status, and who may see what. Requires the stack (`npm test`).
 */
test('a checkout becomes a confirmed order: stock committed, cart empty again, in the history and in `orders`', async (t) => {
  const alice = await signUp();
  const mug = await newProduct('E2E mug', 1250, 10);
  const lamp = await newProduct('E2E lamp', 3999, 3);
  const cartId = await fillCart(alice.token, [[mug, 2], [lamp, 1]]);
  const me = await gql(`{ me { cart { id itemCount total } } }`, {}, bearer(alice.token));
  t.deepEqual(me.data.me.cart, { id: cartId, itemCount: 3, total: 6499 }, 'a cart started while signed in is the customer\'s');

  // Asking for `order` waits (bounded) for the order service to place it.
  const res = await gql(`mutation ($c: ID!) { checkOut(cartId: $c, expectedTotal: 6499) { checkoutId orderId total currency order { id total } } }`, { c: cartId }, bearer(alice.token));
  t.is(res.errors, undefined, JSON.stringify(res.errors));
  const checkout = res.data.checkOut;
  t.like(checkout, { orderId: checkout.checkoutId, total: 6499, currency: 'USD' });
  t.like(checkout.order, { id: checkout.orderId, total: 6499 });

  const done = await settled(alice.token, checkout.orderId);
  t.like(done, { id: checkout.orderId, _id: checkout.orderId, userId: alice.id, status: 'CONFIRMED', statusReason: null, total: 6499, cartId, checkoutId: checkout.checkoutId });
  t.deepEqual(done.statusHistory.map((h: { status: string }) => h.status), ['PENDING', 'STOCK_RESERVED', 'PAID', 'CONFIRMED']);
  t.deepEqual(done.lines, [
    { productId: mug, productName: 'E2E mug', quantity: 2, unitPrice: 1250, lineTotal: 2500 },
    { productId: lamp, productName: 'E2E lamp', quantity: 1, unitPrice: 3999, lineTotal: 3999 },
  ]);
  t.deepEqual(done.products, [{ _id: mug, quantity: 2 }, { _id: lamp, quantity: 1 }]);
  t.deepEqual(await stockOf(mug), { quantity: 8, available: 8 });
  t.deepEqual(await stockOf(lamp), { quantity: 2, available: 2 });

  // The cart is open and empty again, and still hers.
  const cart = await gql(`query ($id: ID!) { cart(id: $id) { status itemCount customerId } }`, { id: cartId }, bearer(alice.token));
  t.deepEqual(cart.data.cart, { status: 'ACTIVE', itemCount: 0, customerId: alice.id });
  const orders = await gql(`{ orders { id status } }`, {}, bearer(alice.token));
  t.deepEqual(orders.data.orders, [{ id: checkout.orderId, status: 'CONFIRMED' }]);
});

test("the earlier clients' placeOrder returns the order at once; order(id) then shows the outcome", async (t) => {
  const bob = await signUp();
  const pen = await newProduct('E2E pen', 199, 50);
  const res = await gql(`mutation ($p: [OrderProductInput]) { placeOrder(products: $p) { _id userId products { _id quantity } } }`, { p: [{ _id: pen, quantity: 3 }] }, bearer(bob.token));
  t.is(res.errors, undefined, JSON.stringify(res.errors));
  t.deepEqual(res.data.placeOrder.userId, bob.id);
  t.deepEqual(res.data.placeOrder.products, [{ _id: pen, quantity: 3 }]);
  const done = await settled(bob.token, res.data.placeOrder._id);
  t.is(done.status, 'CONFIRMED');
  t.is(done.total, 597);
  t.deepEqual(await stockOf(pen), { quantity: 47, available: 47 });

  const bad = await gql(`mutation ($p: [OrderProductInput]) { placeOrder(products: $p) { _id } }`, { p: [{ _id: pen, quantity: 0 }] }, bearer(bob.token));
  t.is(bad.errors?.[0]?.extensions?.code, 'BAD_USER_INPUT');
  t.is(bad.errors?.[0]?.extensions?.field, 'products[0].quantity');
  const unknown = await gql(`mutation ($p: [OrderProductInput]) { placeOrder(products: $p) { _id } }`, { p: [{ _id: randomUUID(), quantity: 1 }] }, bearer(bob.token));
  t.is(unknown.errors?.[0]?.extensions?.code, 'FAILED_PRECONDITION');
});

test('compensation: a declined payment and a cancelled order each give their stock back', async (t) => {
  const carol = await signUp();
  // The local stack's payment gateway declines this amount (a "test card").
  const pricey = await newProduct('E2E declined', paymentDeclineAmountCents, 5);
  const declinedOrder = (await checkOut(carol.token, await fillCart(carol.token, [[pricey, 1]]))).data.checkOut.orderId;
  const failed = await settled(carol.token, declinedOrder);
  t.is(failed.status, 'FAILED');
  t.is(failed.statusReason, 'payment declined: card declined (test amount)');
  t.deepEqual(failed.statusHistory.map((h: { status: string }) => h.status), ['PENDING', 'STOCK_RESERVED', 'FAILED']);
  t.deepEqual(await stockOf(pricey), { quantity: 5, available: 5 });

  const vase = await newProduct('E2E vase', 2200, 4);
  const placed = await gql(`mutation ($p: [OrderProductInput]) { placeOrder(products: $p) { _id } }`, { p: [{ _id: vase, quantity: 2 }] }, bearer(carol.token));
  const id = placed.data.placeOrder._id;
  const cancel = await gql(`mutation ($id: ID!) { cancelOrder(id: $id, reason: "changed my mind") { status statusReason } }`, { id }, bearer(carol.token));
  if (cancel.errors) {
    // Too late: it was confirmed before the cancellation came (a fast machine). That is the rule too.
    t.is(cancel.errors[0]?.extensions?.code, 'FAILED_PRECONDITION');
    t.is((await settled(carol.token, id)).status, 'CONFIRMED');
    return;
  }
  t.deepEqual(cancel.data.cancelOrder, { status: 'CANCELLED', statusReason: 'changed my mind' });
  const until = Date.now() + 20_000;
  while ((await stockOf(vase)).available !== 4 && Date.now() < until) await sleep(100);
  t.deepEqual(await stockOf(vase), { quantity: 4, available: 4 });
  const again = await gql(`mutation ($id: ID!) { cancelOrder(id: $id) { status } }`, { id }, bearer(carol.token));
  t.is(again.data.cancelOrder.status, 'CANCELLED');
});

test('checkout refuses, with the product named and nothing changed: anonymous, price changed, product gone', async (t) => {
  const dave = await signUp();
  const lamp = await newProduct('E2E reprice', 1000, 5);
  const anonymousCart = randomUUID();
  await gql(`mutation ($c: ID!, $p: ID!) { addToCart(cartId: $c, productId: $p) { version } }`, { c: anonymousCart, p: lamp });
  const anonymous = await checkOut(undefined, anonymousCart);
  t.is(anonymous.errors?.[0]?.extensions?.code, 'UNAUTHENTICATED');

  const cartId = await fillCart(dave.token, [[lamp, 2]]);
  await gql(`mutation ($id: ID!) { updateProduct(id: $id, input: { price: 1100 }) { price } }`, { id: lamp }, admin);
  const stale = await checkOut(dave.token, cartId, 2000);
  t.is(stale.errors?.[0]?.extensions?.code, 'FAILED_PRECONDITION');
  t.regex(stale.errors?.[0]?.message ?? '', /total at current prices is 2200 USD cents, not the expected 2000/);
  await gql(`mutation ($id: ID!) { deleteProduct(id: $id) }`, { id: lamp }, admin);
  const gone = await checkOut(dave.token, cartId);
  t.is(gone.errors?.[0]?.extensions?.code, 'FAILED_PRECONDITION');
  t.regex(gone.errors?.[0]?.message ?? '', new RegExp(`E2E reprice \\(product ${lamp}\\) is no longer sold`));
  const cart = await gql(`query ($id: ID!) { cart(id: $id) { status itemCount } }`, { id: cartId }, bearer(dave.token));
  t.deepEqual(cart.data.cart, { status: 'ACTIVE', itemCount: 2 });
});

test("another customer's order is FORBIDDEN through every operation; an anonymous caller is UNAUTHENTICATED", async (t) => {
  const erin = await signUp();
  const mallory = await signUp();
  const sock = await newProduct('E2E sock', 300, 10);
  const id = (await gql(`mutation ($p: [OrderProductInput]) { placeOrder(products: $p) { _id } }`, { p: [{ _id: sock, quantity: 1 }] }, bearer(erin.token))).data.placeOrder._id;
  const read = await gql(`query ($id: ID!) { order(id: $id) { id } }`, { id }, bearer(mallory.token));
  t.is(read.errors?.[0]?.extensions?.code, 'FORBIDDEN');
  const cancel = await gql(`mutation ($id: ID!) { cancelOrder(id: $id) { id } }`, { id }, bearer(mallory.token));
  t.is(cancel.errors?.[0]?.extensions?.code, 'FORBIDDEN');
  const watch = await subscribe(`subscription ($id: ID) { orderStatusChanged(orderId: $id) { status } }`, { id }, bearer(mallory.token));
  t.is((await watch.next()).errors?.[0]?.extensions?.code, 'FORBIDDEN');
  watch.close();
  const list = await gql(`{ orders { id } }`, {}, bearer(mallory.token));
  t.deepEqual(list.data.orders, []);
  for (const query of [`{ orders { id } }`, `query ($id: ID!) { order(id: $id) { id } }`, `mutation ($id: ID!) { cancelOrder(id: $id) { id } }`]) {
    const res = await gql(query, { id });
    t.is(res.errors?.[0]?.extensions?.code, 'UNAUTHENTICATED', query);
  }
  const anonymousWatch = await subscribe(`subscription { orderStatusChanged { status } }`);
  t.is((await anonymousWatch.next()).errors?.[0]?.extensions?.code, 'UNAUTHENTICATED');
  anonymousWatch.close();
  const report = await gql(`{ salesReport(from: "2026-01-01", to: "2026-01-02") { totals { revenue } } }`, {}, bearer(erin.token));
  t.is(report.errors?.[0]?.extensions?.code, 'UNAUTHENTICATED', 'the report needs the admin key, not a customer token');
});

test('orderStatusChanged delivers every status of the caller\'s order, in order', async (t) => {
  const frank = await signUp();
  const cup = await newProduct('E2E live cup', 800, 5);
  const cartId = await fillCart(frank.token, [[cup, 1]]);
  const watch = await subscribe(`subscription { orderStatusChanged { orderId status version reason } }`, {}, bearer(frank.token));
  // The subscription sees changes once the BFF has subscribed on NATS.
  await natsSubscribed(subjects.orderStatus(frank.id));
  const orderId = (await checkOut(frank.token, cartId)).data.checkOut.orderId;
  const seen = [];
  for (let i = 0; i < 4; i++) {
    const e = await watch.next(30_000);
    t.is(e.errors, undefined, JSON.stringify(e.errors));
    seen.push(e.data.orderStatusChanged);
  }
  watch.close();
  t.deepEqual(
    seen.map((n) => [n.orderId, n.status, n.version]),
    [
      [orderId, 'PENDING', 1],
      [orderId, 'STOCK_RESERVED', 2],
      [orderId, 'PAID', 3],
      [orderId, 'CONFIRMED', 4],
    ],
  );
});

test('the sales report adds up exactly to the confirmed orders', async (t) => {
  const grace = await signUp();
  const a = await newProduct('E2E report A', 1234, 20);
  const b = await newProduct('E2E report B', 5678, 20);
  const ids = [];
  for (const lines of [[[a, 2], [b, 1]], [[a, 1]], [[b, 3]]] as Array<Array<[string, number]>>) {
    ids.push((await checkOut(grace.token, await fillCart(grace.token, lines))).data.checkOut.orderId);
  }
  // One that fails (declined) must not count.
  const declined = await newProduct('E2E report declined', paymentDeclineAmountCents, 5);
  ids.push((await checkOut(grace.token, await fillCart(grace.token, [[declined, 1]]))).data.checkOut.orderId);
  const outcomes = await Promise.all(ids.map((id) => settled(grace.token, id)));
  const confirmed = outcomes.filter((o) => o.status === 'CONFIRMED');
  t.is(confirmed.length, 3);
  const day = new Date().toISOString().slice(0, 10);
  const query = `query ($d: String!) { salesReport(from: $d, to: $d, top: 100) { days { date orders units revenue currency } products { productId units revenue } customers { customerId orders revenue } totals { orders units revenue currency } } }`;
  const expectRevenue = confirmed.reduce((s, o) => s + o.total, 0);
  const report = await (async () => {
    const until = Date.now() + 30_000;
    for (;;) {
      const r = await gql(query, { d: day }, admin);
      if (r.errors) throw new Error(JSON.stringify(r.errors));
      const mine = r.data.salesReport.customers.find((c: { customerId: string }) => c.customerId === grace.id);
      if (mine?.revenue === expectRevenue || Date.now() > until) return r.data.salesReport;
      await sleep(200);
    }
  })();
  t.deepEqual(report.customers.find((c: { customerId: string }) => c.customerId === grace.id), { customerId: grace.id, orders: 3, revenue: 2 * 1234 + 5678 + 1234 + 3 * 5678 });
  t.deepEqual(report.products.find((p: { productId: string }) => p.productId === a), { productId: a, units: 3, revenue: 3 * 1234 });
  t.deepEqual(report.products.find((p: { productId: string }) => p.productId === b), { productId: b, units: 4, revenue: 4 * 5678 });
  t.is(report.products.find((p: { productId: string }) => p.productId === declined), undefined);
  // The report agrees with itself: days, products and customers all sum to the totals.
  const sum = (xs: Array<{ revenue: number }>) => xs.reduce((s, x) => s + x.revenue, 0);
  const total = report.totals.find((x: { currency: string }) => x.currency === 'USD');
  t.is(sum(report.days.filter((d: { currency: string }) => d.currency === 'USD')), total.revenue);
  t.is(report.days[0].date, day);
  const bad = await gql(`{ salesReport(from: "2026-02-30", to: "2026-03-01") { totals { revenue } } }`, {}, admin);
  t.is(bad.errors?.[0]?.extensions?.code, 'BAD_USER_INPUT');
  t.is(bad.errors?.[0]?.extensions?.field, 'from');
});

test('the catalog list never shows stock older than the change that made it: restock, then an order', async (t) => {
  const category = `e2e-cache-${randomUUID().slice(0, 8)}`;
  const created = await gql(`mutation ($i: CreateProductInput) { createProduct(input: $i) { id } }`, { i: { name: 'E2E cached', price: 700, quantity: 5, category } }, admin);
  const id = created.data.createProduct.id;
  const listed = async () => (await gql(`query ($c: String) { products(filter: { category: $c }) { id quantity available } }`, { c: category })).data.products;
  t.deepEqual(await listed(), [{ id, quantity: 5, available: 5 }]);
  t.deepEqual(await listed(), [{ id, quantity: 5, available: 5 }], 'served again (from the cache)');

  // The earlier clients' admin header works as well as x-api-key.
  const restocked = await gql(`mutation ($id: ID!) { restock(productId: $id, quantity: 3) { quantity } }`, { id }, { 'x-api-token': admin['x-api-key'] });
  t.is(restocked.errors, undefined, JSON.stringify(restocked.errors));
  t.deepEqual(await listed(), [{ id, quantity: 8, available: 8 }], 'a restock shows at once');

  const buyer = await signUp();
  const placed = await gql(`mutation ($p: [OrderProductInput]) { placeOrder(products: $p) { _id } }`, { p: [{ _id: id, quantity: 2 }] }, bearer(buyer.token));
  t.is((await settled(buyer.token, placed.data.placeOrder._id)).status, 'CONFIRMED');
  t.deepEqual(await listed(), [{ id, quantity: 6, available: 6 }], 'the sale shows as soon as the order is confirmed');

  const wrong = await gql(`mutation ($id: ID!) { restock(productId: $id, quantity: 3) { quantity } }`, { id }, { 'x-api-token': 'not-the-admin-key' });
  t.is(wrong.errors?.[0]?.extensions?.code, 'FORBIDDEN');
  const none = await gql(`mutation ($id: ID!) { restock(productId: $id, quantity: 3) { quantity } }`, { id });
  t.is(none.errors?.[0]?.extensions?.code, 'UNAUTHENTICATED');
  const bad = await gql(`mutation ($id: ID!) { restock(productId: $id, quantity: 0) { quantity } }`, { id }, admin);
  t.like(bad.errors?.[0]?.extensions, { code: 'BAD_USER_INPUT', field: 'quantity' });
  t.deepEqual(await listed(), [{ id, quantity: 6, available: 6 }]);
});
