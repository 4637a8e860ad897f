import test from 'ava';
import { ValidationError, IllegalStateError } from '@shop/platform/errors';
import { applyUpdate, checkFields, checkStockLines, limits, moveStock, restock, shortages, type Product, type ProductFields } from './product.js';

const fields: ProductFields = {
  name: ' Desk lamp ',
  description: '',
  category: 'Home-Office',
  sku: null,
  priceCents: 2599,
  currency: 'USD',
  quantityOnHand: 3,
  active: true,
};
const product = (over: Partial<Product> = {}): Product => ({
  ...checkFields(fields),
  id: 'p1',
  quantityReserved: 0,
  revision: 1,
  createdAt: new Date(0),
  updatedAt: new Date(0),
  ...over,
});
const fieldOf = (fn: () => unknown) => {
  try {
    fn();
  } catch (e) {
    return e instanceof ValidationError ? e.field : `not a validation error: ${String(e)}`;
  }
  return 'no error';
};

test('fields are normalised: trimmed name, lowercase category', (t) => {
  const f = checkFields(fields);
  t.is(f.name, 'Desk lamp');
  t.is(f.category, 'home-office');
});

test('each bad field is named', (t) => {
  t.is(fieldOf(() => checkFields({ ...fields, name: '' })), 'name');
  t.is(fieldOf(() => checkFields({ ...fields, name: 'x'.repeat(201) })), 'name');
  t.is(fieldOf(() => checkFields({ ...fields, priceCents: 1.5 })), 'price.amount_cents');
  t.is(fieldOf(() => checkFields({ ...fields, currency: 'EURO' })), 'price.currency');
  t.is(fieldOf(() => checkFields({ ...fields, quantityOnHand: -1 })), 'quantity_on_hand');
  t.is(fieldOf(() => checkFields({ ...fields, sku: '   ' })), 'sku');
  t.is(fieldOf(() => checkFields({ ...fields, category: 'a b' })), 'category');
});

test('an update touches only the masked fields', (t) => {
  const next = applyUpdate(product(), { name: 'Floor lamp', priceCents: 1 }, ['name']);
  t.is(next.name, 'Floor lamp');
  t.is(next.priceCents, 2599);
});

test('an update needs a mask and cannot drop stock below what is reserved', (t) => {
  t.is(fieldOf(() => applyUpdate(product(), {}, [])), 'update_mask');
  t.throws(() => applyUpdate(product({ quantityReserved: 2 }), { quantityOnHand: 1 }, ['quantity_on_hand']), {
    instanceOf: IllegalStateError,
  });
});

test('reservation lines: each product once, quantities of at least 1', (t) => {
  t.is(fieldOf(() => checkStockLines([])), 'lines');
  t.is(fieldOf(() => checkStockLines([{ productId: 'a', quantity: 0 }])), 'lines[0].quantity');
  t.is(fieldOf(() => checkStockLines([{ productId: 'a', quantity: 1 }, { productId: 'a', quantity: 1 }])), 'lines[1].product_id');
});

test('shortages: unknown, inactive and under-stocked products, nothing when all fit', (t) => {
  const products = new Map([
    ['p1', product({ quantityOnHand: 3, quantityReserved: 1 })],
    ['p2', product({ id: 'p2', active: false })],
  ]);
  t.deepEqual(shortages([{ productId: 'p1', quantity: 2 }], products), []);
  t.deepEqual(
    shortages(
      [
        { productId: 'p1', quantity: 3 },
        { productId: 'p2', quantity: 1 },
        { productId: 'p3', quantity: 1 },
      ],
      products,
    ),
    [
      { productId: 'p1', requested: 3, available: 2 },
      { productId: 'p2', requested: 1, available: 0 },
      { productId: 'p3', requested: 1, available: 0 },
    ],
  );
});

test('restock adds units on hand and moves to the next revision, reservations untouched', (t) => {
  const now = new Date(1_000);
  const next = restock(product({ quantityOnHand: 3, quantityReserved: 2, revision: 4 }), 10, now);
  t.like(next, { quantityOnHand: 13, quantityReserved: 2, revision: 5, updatedAt: now });
});

test('restock quantity: a whole number from 1 to 1,000,000', (t) => {
  for (const bad of [0, -1, 1.5, 1_000_001]) t.is(fieldOf(() => restock(product(), bad, new Date())), 'quantity');
  t.is(restock(product({ quantityOnHand: 0 }), 1_000_000, new Date()).quantityOnHand, 1_000_000);
});

test('restock cannot take stock on hand beyond the limit', (t) => {
  t.throws(() => restock(product({ quantityOnHand: limits.quantityMax }), 1, new Date()), { instanceOf: IllegalStateError, message: /would exceed/ });
});

test('a stock move that would break the counters is a bug, not a user error', (t) => {
  t.like(moveStock(product({ quantityOnHand: 3 }), { reserved: 3, onHand: 0 }, new Date()), { quantityReserved: 3, revision: 2 });
  const err = t.throws(() => moveStock(product({ quantityOnHand: 3 }), { reserved: 4, onHand: 0 }, new Date()));
  t.false(err instanceof ValidationError || err instanceof IllegalStateError);
  t.throws(() => moveStock(product({ quantityReserved: 1 }), { reserved: -2, onHand: 0 }, new Date()));
});
