import test from 'ava';
import {
  CartDiscarded,
  CartReset,
  CheckedOut,
  CustomerAssigned,
  ItemAdded,
  ItemRemoved,
  QuantityChanged,
} from '@shop/contracts/shop/cart/v1/events';
import { event, type RecordedEvent } from '@shop/eventsourcing';
import { cartEventCodec, type CartEvent } from '../domain/events.js';
import { evolveCartView, totalCents, type CartView } from './cart-view.js';

/** The view as the projector builds it: events as they arrive from Kafka (proto3 JSON), folded in order. */
const cartId = '0196a3c0-0000-7000-8000-0000000000c1';
const at = (version: number) => `2025-01-01T00:00:${String(version).padStart(2, '0')}.000Z`;
const recorded = (events: Array<CartEvent | RecordedEvent>): RecordedEvent[] =>
  events.map((e, i) =>
    'streamId' in e
      ? e
      : {
          ...cartEventCodec.encode(e),
          id: `e${i + 1}`,
          streamId: cartId,
          streamType: 'cart',
          version: i + 1,
          position: 100 + i,
          occurredAt: at(i + 1),
          metadata: {},
        },
  );
const project = (events: Array<CartEvent | RecordedEvent>) => recorded(events).reduce<CartView | null>(evolveCartView, null);

const added = (productId: string, quantity: number, cents: number, productName = productId) =>
  event(ItemAdded, { cartId, productId, productName, quantity, unitPrice: { amountCents: cents, currency: 'EUR' }, requestId: '' });

test('the first item creates the cart view, with the price snapshot and totals', (t) => {
  const view = project([added('p1', 2, 1250, 'Lamp')]);
  t.deepEqual(view, {
    id: cartId,
    customerId: null,
    status: 'active',
    currency: 'EUR',
    lines: [{ productId: 'p1', productName: 'Lamp', quantity: 2, unitPriceCents: 1250 }],
    version: 1,
    updatedAt: at(1),
  });
  t.is(totalCents(view!), 2500);
});

test('adding a product again adds units to its line, keeps its place, and takes the new price', (t) => {
  const view = project([added('p1', 1, 1000), added('p2', 1, 300), added('p1', 2, 1100, 'p1 v2')]);
  t.deepEqual(view?.lines, [
    { productId: 'p1', productName: 'p1 v2', quantity: 3, unitPriceCents: 1100 },
    { productId: 'p2', productName: 'p2', quantity: 1, unitPriceCents: 300 },
  ]);
  t.is(totalCents(view!), 3600);
  t.is(view?.version, 3);
});

test('quantity changes and removals', (t) => {
  const view = project([
    added('p1', 1, 1000),
    added('p2', 1, 300),
    event(QuantityChanged, { cartId, productId: 'p2', quantity: 4 }),
    event(ItemRemoved, { cartId, productId: 'p1' }),
  ]);
  t.deepEqual(view?.lines, [{ productId: 'p2', productName: 'p2', quantity: 4, unitPriceCents: 300 }]);
  t.is(totalCents(view!), 1200);
  t.is(view?.updatedAt, at(4));
});

test('reset empties the cart; it stays active', (t) => {
  const view = project([added('p1', 1, 1000), event(CartReset, { cartId })]);
  t.is(view?.status, 'active');
  t.deepEqual(view?.lines, []);
  t.is(totalCents(view!), 0);
});

test('checkout empties the cart and marks it checked out; adding after a reset makes it active again', (t) => {
  const history: CartEvent[] = [
    event(CustomerAssigned, { cartId, customerId: 'u1' }),
    added('p1', 2, 1000),
    event(CheckedOut, { cartId, checkoutId: 'co1', customerId: 'u1', lines: [], total: { amountCents: 2000, currency: 'EUR' } }),
  ];
  const checkedOut = project(history);
  t.like(checkedOut, { status: 'checked_out', customerId: 'u1', lines: [], version: 3 });
  const again = project([...history, event(CartReset, { cartId }), added('p2', 1, 500)]);
  t.like(again, { status: 'active', customerId: 'u1', version: 5 });
  t.deepEqual(again?.lines.map((l) => l.productId), ['p2']);
});

test('a discarded cart stays as a tombstone: no customer, no lines, its version; later events (an old reused id) change nothing else', (t) => {
  const history: CartEvent[] = [event(CustomerAssigned, { cartId, customerId: 'u1' }), added('p1', 1, 1000), event(CartDiscarded, { cartId, customerId: 'u1' })];
  const tombstone = { id: cartId, customerId: null, status: 'discarded', currency: 'USD', lines: [], version: 3, updatedAt: at(3) };
  t.deepEqual(project(history), tombstone);
  t.deepEqual(project([...history, added('p2', 1, 100), event(CustomerAssigned, { cartId, customerId: 'u2' })]), { ...tombstone, version: 5, updatedAt: at(5) });
});

test('an event type this code does not know moves the version on and changes nothing else', (t) => {
  const [first] = recorded([added('p1', 1, 1000)]);
  const unknown: RecordedEvent = { ...first!, id: 'e2', type: 'shop.cart.v1.GiftWrapped', data: {}, version: 2, occurredAt: at(2) };
  const view = project([first!, unknown]);
  t.is(view?.version, 2);
  t.is(view?.updatedAt, at(2));
  t.deepEqual(view?.lines, [{ productId: 'p1', productName: 'p1', quantity: 1, unitPriceCents: 1000 }]);
});
