import test from 'ava';
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { checkOut, fillCart, inBatches, newProduct, settledAll, signUp, stockOf } from './shop.js';

/**
 * Many shoppers after the last units of one product, at the same moment, through the edge.
 * A burst of 200 requests, so it runs alone after the main suite (ava.solo.config.mjs).
 */
test('200 concurrent checkouts of one unit each, 10 in stock: exactly 10 confirmed, 190 refused or failed out of stock, stock never negative', async (t) => {
  const buyer = await signUp();
  const scarce = await newProduct(`E2E scarce ${randomUUID().slice(0, 6)}`, 500, 10);
  // The carts are filled a few at a time (set-up); the checkouts then all go at once.
  const carts = await inBatches(200, 20, () => fillCart(buyer.token, [[scarce, 1]]));
  let lowest = Number.POSITIVE_INFINITY;
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      const s = await stockOf(scarce);
      lowest = Math.min(lowest, s.quantity, s.available);
      await sleep(50);
    }
  })();
  const results = await Promise.all(carts.map((c) => checkOut(buyer.token, c)));
  // A checkout that comes when the stock is already gone is refused on the spot (availability
  // is checked again at checkout); the others race for it in their reservations.
  const refused = results.filter((r) => r.errors);
  t.true(
    refused.every((r) => r.errors?.[0]?.extensions?.code === 'FAILED_PRECONDITION' && /^only 0 of E2E scarce \w+ \(product [\w-]+\) in stock; the cart has 1$/.test(r.errors[0].message)),
    JSON.stringify(refused[0]?.errors),
  );
  const outcomes = await settledAll(buyer.token, results.filter((r) => !r.errors).map((r) => r.data.checkOut.orderId));
  sampling = false;
  await sampler;
  const by = (status: string) => outcomes.filter((o) => o.status === status);
  t.is(by('CONFIRMED').length, 10);
  t.is(by('FAILED').length + refused.length, 190);
  t.true(by('FAILED').every((o) => /^out of stock: E2E scarce \w+ \(ordered 1, 0 available\)$/.test(o.statusReason)), by('FAILED')[0]?.statusReason);
  t.log(`${by('FAILED').length} orders failed out of stock, ${refused.length} checkouts refused out of stock`);
  t.deepEqual(await stockOf(scarce), { quantity: 0, available: 0 });
  t.true(lowest >= 0, `stock went to ${lowest}`);
});

