import test from 'ava';
import { ValidationError, IllegalStateError } from '@shop/platform/errors';
import { applyUpdate, checkFields, checkStockLines, shortages, type Product, type ProductFields } from './product.js';

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
