import test from 'ava';
import {
  CartDiscarded,
  CartReset,
  CheckedOut,
  CheckoutCompleted,
  CustomerAssigned,
  ItemAdded,
  ItemRemoved,
  QuantityChanged,
} from '@shop/contracts/shop/cart/v1/events';
import { ForbiddenError, IllegalStateError } from '@shop/platform/errors';
import { event } from '@shop/eventsourcing';
import { deciderSpec } from '@shop/eventsourcing/testing';
import { ANONYMOUS_SHOPPER, cartDecider, customer, SHOP, type CartCommand, type CatalogEntry, type Shopper } from './cart.js';

/**
 * The cart's rules as specifications: given these past events, when this command,
 * then these new events (or this error).
 */
const given = deciderSpec(cartDecider);

const cartId = 'cart-1';
const usd = (cents: number) => ({ amountCents: cents, currency: 'USD' });

// Events
const itemAdded = (productId: string, quantity: number, cents = 1000, productName = `Product ${productId}`, currency = 'USD') =>
  event(ItemAdded, { cartId, productId, productName, quantity, unitPrice: { amountCents: cents, currency }, requestId: '' });
/** An ItemAdded of 1000 cents recorded under a client's request id. */
const keyedAdded = (productId: string, quantity: number, requestId: string) => ({ ...itemAdded(productId, quantity), data: { ...itemAdded(productId, quantity).data, requestId } });
const itemRemoved = (productId: string) => event(ItemRemoved, { cartId, productId });
const quantityChanged = (productId: string, quantity: number) => event(QuantityChanged, { cartId, productId, quantity });
const cartReset = () => event(CartReset, { cartId });
const customerAssigned = (customerId: string) => event(CustomerAssigned, { cartId, customerId });
const cartDiscarded = (customerId: string) => event(CartDiscarded, { cartId, customerId });
const checkedOut = (checkoutId = 'checkout-1') => event(CheckedOut, { cartId, checkoutId, customerId: 'alice', lines: [], total: usd(0) });

// Commands: by the shop itself unless a rule about who asks is the point (see "Ownership").
const addItem = (productId: string, quantity: number, cents = 1000, productName = `Product ${productId}`, currency = 'USD', customerId?: string): CartCommand => ({
  type: 'AddItem',
  cartId,
  productId,
  productName,
  unitPrice: { cents, currency },
  quantity,
  by: customerId === undefined ? SHOP : customer(customerId),
});
const keyedAdd = (productId: string, quantity: number, requestId: string, by: Shopper = SHOP): CartCommand => ({
  type: 'AddItem',
  cartId,
  productId,
  productName: `Product ${productId}`,
  unitPrice: { cents: 1000, currency: 'USD' },
  quantity,
  by,
  requestId,
});
const removeItem = (productId: string, by: Shopper = SHOP): CartCommand => ({ type: 'RemoveItem', cartId, productId, by });
const changeQuantity = (productId: string, quantity: number, by: Shopper = SHOP): CartCommand => ({ type: 'ChangeQuantity', cartId, productId, quantity, by });
const resetCart = (by: Shopper = SHOP): CartCommand => ({ type: 'ResetCart', cartId, by });
/** The catalog at checkout: each product at the given price (cents), for sale, 50 on hand, unless said otherwise. */
const catalog = (entries: Record<string, number | Partial<CatalogEntry>>) =>
  new Map(
    Object.entries(entries).map(([id, e]) => [
      id,
      { name: `Product ${id}`, unitPrice: { cents: 1000, currency: 'USD' }, active: true, onHand: 50, ...(typeof e === 'number' ? { unitPrice: { cents: e, currency: 'USD' } } : e) },
    ]),
  );
const checkOut = (checkoutId = 'checkout-1', now = catalog({ p1: 1000 }), expectedTotal?: number, by: Shopper = SHOP): CartCommand => ({
  type: 'CheckOut',
  cartId,
  checkoutId,
  catalog: now,
  by,
  ...(expectedTotal === undefined ? {} : { expectedTotal: { cents: expectedTotal, currency: 'USD' } }),
});
const completeCheckout = (checkoutId = 'checkout-1', orderId = checkoutId): CartCommand => ({ type: 'CompleteCheckout', cartId, checkoutId, orderId });
const checkoutCompleted = (checkoutId = 'checkout-1', orderId = checkoutId) => event(CheckoutCompleted, { cartId, checkoutId, orderId });
const assignCustomer = (customerId: string, by: Shopper = customer(customerId)): CartCommand => ({ type: 'AssignCustomer', cartId, customerId, by });
const discard = (customerId: string): CartCommand => ({ type: 'Discard', cartId, customerId });

const CHECKED_OUT = /cart is checked out; reset it first/;

// AddItem

test('adding a product records it with the name and price snapshot', (t) => {
  given(t, []).when(addItem('p1', 2, 1250, 'Desk lamp')).then([itemAdded('p1', 2, 1250, 'Desk lamp')]);
});

test('adding a product already in the cart adds to its line', (t) => {
  given(t, [itemAdded('p1', 2)]).when(addItem('p1', 3)).then([itemAdded('p1', 3)]);
});

test('adding quantity 0 is invalid', (t) => {
  given(t, []).when(addItem('p1', 0)).thenInvalid('quantity', /must be at least 1/);
});

test('adding a negative quantity is invalid', (t) => {
  given(t, []).when(addItem('p1', -2)).thenInvalid('quantity', /must be at least 1/);
});

test('adding more than 99 units at once is invalid', (t) => {
  given(t, []).when(addItem('p1', 100)).thenInvalid('quantity', /at most 99 units/);
});

test('a line may reach exactly 99 units', (t) => {
  given(t, [itemAdded('p1', 98)]).when(addItem('p1', 1)).then([itemAdded('p1', 1)]);
});

test('adding that would take a line over 99 units is invalid, and says how many more fit', (t) => {
  given(t, [itemAdded('p1', 98)]).when(addItem('p1', 2)).thenInvalid('quantity', /at most 99 units; the cart already has 98 .* at most 1 more/);
});

test('adding to a checked-out cart is refused', (t) => {
  given(t, [itemAdded('p1', 1), customerAssigned('alice'), checkedOut()]).when(addItem('p1', 1)).thenThrows(IllegalStateError, CHECKED_OUT);
});

test('a cart holds one currency', (t) => {
  given(t, [itemAdded('p1', 1)]).when(addItem('p2', 1, 900, 'Mug', 'EUR')).thenThrows(IllegalStateError, /priced in USD.*EUR/);
});

test('a cart emptied of its lines takes any currency again', (t) => {
  given(t, [itemAdded('p1', 1), itemRemoved('p1')]).when(addItem('p2', 1, 900, 'Mug', 'EUR')).then([itemAdded('p2', 1, 900, 'Mug', 'EUR')]);
});

// AddItem under a request id (a client's idempotency key)

test('an AddItem under a request id the cart has recorded records nothing: the retry was applied once', (t) => {
  given(t, [keyedAdded('p1', 2, 'merge:c1@3:p1')]).when(keyedAdd('p1', 2, 'merge:c1@3:p1')).then([]);
});

test('an AddItem under another request id adds, and records its id', (t) => {
  given(t, [keyedAdded('p1', 2, 'k1')]).when(keyedAdd('p1', 2, 'k2')).then([keyedAdded('p1', 2, 'k2')]);
});

test('a request id is remembered across a reset', (t) => {
  given(t, [keyedAdded('p1', 2, 'k1'), cartReset()]).when(keyedAdd('p1', 2, 'k1')).then([]);
});

test('only the last 100 request ids are remembered', (t) => {
  // 101 keyed adds, each line reset so that no line reaches its maximum.
  const history = Array.from({ length: 101 }, (_, i) => [keyedAdded('p1', 1, `k${i}`), cartReset()]).flat();
  given(t, history).when(keyedAdd('p1', 1, 'k0')).then([keyedAdded('p1', 1, 'k0')]);
  given(t, history).when(keyedAdd('p1', 1, 'k1')).then([]);
});

test("a request id recorded on another customer's cart answers FORBIDDEN, not its version", (t) => {
  given(t, [customerAssigned('alice'), keyedAdded('p1', 1, 'k1')]).when(keyedAdd('p1', 1, 'k1', customer('mallory'))).thenThrows(ForbiddenError, /another customer/);
});

// RemoveItem

test('removing a line', (t) => {
  given(t, [itemAdded('p1', 1), itemAdded('p2', 1)]).when(removeItem('p1')).then([itemRemoved('p1')]);
});

test('removing a product that is not in the cart is refused', (t) => {
  given(t, [itemAdded('p1', 1)]).when(removeItem('p2')).thenThrows(IllegalStateError, /product p2 is not in the cart/);
});

test('removing from a never used cart is refused', (t) => {
  given(t, []).when(removeItem('p1')).thenThrows(IllegalStateError, /not in the cart/);
});

test('a removed line is gone', (t) => {
  given(t, [itemAdded('p1', 1), itemRemoved('p1')]).when(removeItem('p1')).thenThrows(IllegalStateError, /not in the cart/);
});

test('removing from a checked-out cart is refused', (t) => {
  given(t, [itemAdded('p1', 1), customerAssigned('alice'), checkedOut()]).when(removeItem('p1')).thenThrows(IllegalStateError, CHECKED_OUT);
});

// ChangeQuantity

test('changing a line quantity', (t) => {
  given(t, [itemAdded('p1', 2)]).when(changeQuantity('p1', 5)).then([quantityChanged('p1', 5)]);
});

test('changing quantity to zero removes the line', (t) => {
  given(t, [itemAdded('p1', 2)]).when(changeQuantity('p1', 0)).then([itemRemoved('p1')]);
});

test('changing to the current quantity records nothing', (t) => {
  given(t, [itemAdded('p1', 2), itemAdded('p1', 1)]).when(changeQuantity('p1', 3)).then([]);
});

test('changing quantity above 99 is invalid', (t) => {
  given(t, [itemAdded('p1', 2)]).when(changeQuantity('p1', 100)).thenInvalid('quantity', /from 0 to 99/);
});

test('changing quantity below zero is invalid', (t) => {
  given(t, [itemAdded('p1', 2)]).when(changeQuantity('p1', -1)).thenInvalid('quantity', /from 0 to 99/);
});

test('changing the quantity of a product that is not in the cart is refused', (t) => {
  given(t, [itemAdded('p1', 2)]).when(changeQuantity('p2', 1)).thenThrows(IllegalStateError, /product p2 is not in the cart/);
});

test('changing quantity in a checked-out cart is refused', (t) => {
  given(t, [itemAdded('p1', 1), customerAssigned('alice'), checkedOut()]).when(changeQuantity('p1', 2)).thenThrows(IllegalStateError, CHECKED_OUT);
});

// ResetCart

test('resetting empties the cart', (t) => {
  given(t, [itemAdded('p1', 2)]).when(resetCart()).then([cartReset()]);
});

test('resetting an empty cart records nothing', (t) => {
  given(t, [itemAdded('p1', 2), itemRemoved('p1')]).when(resetCart()).then([]);
});

test('resetting a checked-out cart starts a new shopping session', (t) => {
  const history = [itemAdded('p1', 1), customerAssigned('alice'), checkedOut()];
  given(t, history).when(resetCart()).then([cartReset()]);
  given(t, [...history, cartReset()]).when(addItem('p2', 1)).then([itemAdded('p2', 1)]);
});

test('after a reset the old lines are gone', (t) => {
  given(t, [itemAdded('p1', 2), cartReset()]).when(removeItem('p1')).thenThrows(IllegalStateError, /not in the cart/);
});

// CheckOut

test('checking out freezes the lines at the current catalog prices, with their totals', (t) => {
  given(t, [customerAssigned('alice'), itemAdded('p1', 2, 1000, 'Lamp'), itemAdded('p2', 1, 250, 'Bulb'), itemAdded('p1', 1, 1200, 'Lamp XL')])
    .when(checkOut('co-9', catalog({ p1: { name: 'Lamp XL', unitPrice: { cents: 1200, currency: 'USD' } }, p2: { name: 'Bulb', unitPrice: { cents: 250, currency: 'USD' } } })))
    .then([
      event(CheckedOut, {
        cartId,
        checkoutId: 'co-9',
        customerId: 'alice',
        // First-added order.
        lines: [
          { productId: 'p1', productName: 'Lamp XL', quantity: 3, unitPrice: usd(1200), lineTotal: usd(3600) },
          { productId: 'p2', productName: 'Bulb', quantity: 1, unitPrice: usd(250), lineTotal: usd(250) },
        ],
        total: usd(3850),
      }),
    ]);
});

test('a price that changed since the item was added is charged as it is now', (t) => {
  given(t, [customerAssigned('alice'), itemAdded('p1', 2, 500)])
    .when(checkOut('checkout-1', catalog({ p1: { name: 'Renamed', unitPrice: { cents: 450, currency: 'USD' } } })))
    .then([
      event(CheckedOut, {
        cartId,
        checkoutId: 'checkout-1',
        customerId: 'alice',
        lines: [{ productId: 'p1', productName: 'Renamed', quantity: 2, unitPrice: usd(450), lineTotal: usd(900) }],
        total: usd(900),
      }),
    ]);
});

test('checking out reflects changed quantities', (t) => {
  given(t, [customerAssigned('alice'), itemAdded('p1', 2, 500), quantityChanged('p1', 4)])
    .when(checkOut('checkout-1', catalog({ p1: 500 })))
    .then([
      event(CheckedOut, {
        cartId,
        checkoutId: 'checkout-1',
        customerId: 'alice',
        lines: [{ productId: 'p1', productName: 'Product p1', quantity: 4, unitPrice: usd(500), lineTotal: usd(2000) }],
        total: usd(2000),
      }),
    ]);
});

test('the shopper may insist on the total they saw: another total at current prices is refused', (t) => {
  const history = [customerAssigned('alice'), itemAdded('p1', 2, 500)];
  given(t, history).when(checkOut('checkout-1', catalog({ p1: 600 }), 1000)).thenThrows(IllegalStateError, /total at current prices is 1200 USD cents, not the expected 1000/);
  given(t, history)
    .when(checkOut('checkout-1', catalog({ p1: 500 }), 1000))
    .then([
      event(CheckedOut, {
        cartId,
        checkoutId: 'checkout-1',
        customerId: 'alice',
        lines: [{ productId: 'p1', productName: 'Product p1', quantity: 2, unitPrice: usd(500), lineTotal: usd(1000) }],
        total: usd(1000),
      }),
    ]);
});

test('a product that is gone, not for sale, short on hand or now in another currency stops the checkout, named', (t) => {
  const history = [customerAssigned('alice'), itemAdded('p1', 3, 500, 'Kettle')];
  given(t, history).when(checkOut('checkout-1', catalog({}))).thenThrows(IllegalStateError, /Kettle \(product p1\) is no longer sold/);
  given(t, history).when(checkOut('checkout-1', catalog({ p1: { active: false } }))).thenThrows(IllegalStateError, /product p1\) is not for sale/);
  given(t, history).when(checkOut('checkout-1', catalog({ p1: { onHand: 2 } }))).thenThrows(IllegalStateError, /only 2 of Product p1 \(product p1\) in stock; the cart has 3/);
  given(t, history).when(checkOut('checkout-1', catalog({ p1: { unitPrice: { cents: 500, currency: 'EUR' } } }))).thenThrows(IllegalStateError, /now priced in EUR/);
});

test('checking out an empty cart is refused', (t) => {
  given(t, [customerAssigned('alice')]).when(checkOut()).thenThrows(IllegalStateError, /cart is empty/);
});

test('checking out a cart whose lines were all removed is refused', (t) => {
  given(t, [customerAssigned('alice'), itemAdded('p1', 1), itemRemoved('p1')]).when(checkOut()).thenThrows(IllegalStateError, /cart is empty/);
});

test("checking out someone else's cart is refused to a signed-in shopper", (t) => {
  const history = [customerAssigned('alice'), itemAdded('p1', 1)];
  given(t, history).when(checkOut(undefined, undefined, undefined, customer('mallory'))).thenThrows(ForbiddenError, /belongs to another customer/);
  given(t, history).when(checkOut(undefined, undefined, undefined, ANONYMOUS_SHOPPER)).thenThrows(ForbiddenError, /sign in/);
  given(t, history)
    .when(checkOut(undefined, undefined, undefined, customer('alice')))
    .then([
      event(CheckedOut, {
        cartId,
        checkoutId: 'checkout-1',
        customerId: 'alice',
        lines: [{ productId: 'p1', productName: 'Product p1', quantity: 1, unitPrice: usd(1000), lineTotal: usd(1000) }],
        total: usd(1000),
      }),
    ]);
});

test('a cart holds at most 50 products (what one order holds); more units of one it has are fine', (t) => {
  const fifty = Array.from({ length: 50 }, (_, i) => itemAdded(`p${i}`, 1));
  given(t, fifty).when(addItem('p50', 1)).thenInvalid('product_id', /at most 50 products/);
  given(t, fifty).when(addItem('p7', 2)).then([itemAdded('p7', 2)]);
});

test('an anonymous cart cannot check out: an order needs a customer', (t) => {
  given(t, [itemAdded('p1', 2)]).when(checkOut()).thenThrows(IllegalStateError, /sign in to check out/);
});

test('after an anonymous checkout and reset (history before orders), the cart can still be given to a customer', (t) => {
  const anonymousCheckout = event(CheckedOut, { cartId, checkoutId: 'checkout-1', customerId: '', lines: [], total: usd(0) });
  given(t, [itemAdded('p1', 1), anonymousCheckout, event(CartReset, { cartId })])
    .when(assignCustomer('alice'))
    .then([event(CustomerAssigned, { cartId, customerId: 'alice' })]);
});

test('checking out twice is refused', (t) => {
  given(t, [customerAssigned('alice'), itemAdded('p1', 1), checkedOut()]).when(checkOut('checkout-2')).thenThrows(IllegalStateError, CHECKED_OUT);
});

// CompleteCheckout

test('once its order is placed, the checked-out cart opens again, empty and still the customer\'s', (t) => {
  const history = [customerAssigned('alice'), itemAdded('p1', 1), checkedOut()];
  given(t, history).when(completeCheckout()).then([checkoutCompleted()]);
  given(t, [...history, checkoutCompleted()]).when(addItem('p2', 1)).then([itemAdded('p2', 1)]);
  given(t, [...history, checkoutCompleted()]).when(removeItem('p1')).thenThrows(IllegalStateError, /not in the cart/);
  given(t, [...history, checkoutCompleted()]).when(addItem('p2', 1, 1000, 'Product p2', 'USD', 'bob')).thenThrows(ForbiddenError, /another customer/);
});

test('completing a checkout again, or another one, changes nothing', (t) => {
  const history = [customerAssigned('alice'), itemAdded('p1', 1), checkedOut()];
  given(t, [...history, checkoutCompleted()]).when(completeCheckout()).then([]);
  given(t, history).when(completeCheckout('another-checkout')).then([]);
  given(t, [...history, cartReset()]).when(completeCheckout()).then([]);
});

// A signed-in shopper

test('a cart a signed-in customer starts is theirs', (t) => {
  given(t, []).when(addItem('p1', 1, 1000, 'Product p1', 'USD', 'alice')).then([customerAssigned('alice'), itemAdded('p1', 1)]);
});

test('an anonymous cart a signed-in customer adds to becomes theirs; their own cart just grows', (t) => {
  given(t, [itemAdded('p1', 1)]).when(addItem('p2', 1, 1000, 'Product p2', 'USD', 'alice')).then([customerAssigned('alice'), itemAdded('p2', 1)]);
  given(t, [customerAssigned('alice'), itemAdded('p1', 1)]).when(addItem('p1', 1, 1000, 'Product p1', 'USD', 'alice')).then([itemAdded('p1', 1)]);
});

test("another customer's cart is refused to a signed-in shopper", (t) => {
  given(t, [customerAssigned('alice'), itemAdded('p1', 1)]).when(addItem('p1', 1, 1000, 'Product p1', 'USD', 'bob')).thenThrows(ForbiddenError, /belongs to another customer/);
});

// AssignCustomer

test('an anonymous cart gets its customer', (t) => {
  given(t, [itemAdded('p1', 1)]).when(assignCustomer('alice')).then([customerAssigned('alice')]);
});

test('assigning the same customer again records nothing', (t) => {
  given(t, [customerAssigned('alice')]).when(assignCustomer('alice')).then([]);
});

test("assigning another customer to someone's cart is refused", (t) => {
  given(t, [customerAssigned('alice')]).when(assignCustomer('bob')).thenThrows(ForbiddenError, /belongs to another customer/);
});

test('only the customer themselves (or the shop) takes a cart over: not an anonymous shopper, not another customer', (t) => {
  given(t, [itemAdded('p1', 1)]).when(assignCustomer('alice', ANONYMOUS_SHOPPER)).thenThrows(ForbiddenError, /customer themselves/);
  given(t, [itemAdded('p1', 1)]).when(assignCustomer('alice', customer('mallory'))).thenThrows(ForbiddenError, /customer themselves/);
  given(t, [itemAdded('p1', 1)]).when(assignCustomer('alice', SHOP)).then([customerAssigned('alice')]);
});

// Ownership: decided on the cart's own history, whoever asks.

const alicesCart = [customerAssigned('alice'), itemAdded('p1', 2)];
const changes = (by: Shopper): Array<[string, CartCommand]> => [
  ['adding', { ...addItem('p2', 1), by } as CartCommand],
  ['removing', removeItem('p1', by)],
  ['changing a quantity', changeQuantity('p1', 1, by)],
  ['resetting', resetCart(by)],
  ['checking out', checkOut(undefined, undefined, undefined, by)],
];

for (const [what, command] of changes(customer('mallory'))) {
  test(`${what} on another customer's cart is refused`, (t) => {
    given(t, alicesCart).when(command).thenThrows(ForbiddenError, /belongs to another customer/);
  });
}

for (const [what, command] of changes(ANONYMOUS_SHOPPER)) {
  test(`${what} on a customer's cart is refused to an anonymous shopper who knows its id`, (t) => {
    given(t, alicesCart).when(command).thenThrows(ForbiddenError, /belongs to a customer: sign in/);
  });
}

test("the owner changes their own cart; anyone holding an anonymous cart's id changes it", (t) => {
  given(t, alicesCart).when(changeQuantity('p1', 1, customer('alice'))).then([quantityChanged('p1', 1)]);
  given(t, alicesCart).when(resetCart(customer('alice'))).then([cartReset()]);
  given(t, [itemAdded('p1', 2)]).when(changeQuantity('p1', 1, ANONYMOUS_SHOPPER)).then([quantityChanged('p1', 1)]);
  given(t, [itemAdded('p1', 2)]).when(removeItem('p1', customer('bob'))).then([itemRemoved('p1')]);
});

// Discard

test("a deleted customer's cart is discarded", (t) => {
  given(t, [customerAssigned('alice'), itemAdded('p1', 1)]).when(discard('alice')).then([cartDiscarded('alice')]);
});

test('a checked-out cart is discarded too', (t) => {
  given(t, [customerAssigned('alice'), itemAdded('p1', 1), checkedOut()]).when(discard('alice')).then([cartDiscarded('alice')]);
});

test("discarding for a customer who does not own the cart is refused", (t) => {
  given(t, [customerAssigned('alice'), itemAdded('p1', 1)]).when(discard('bob')).thenThrows(IllegalStateError, /does not belong to customer bob/);
  given(t, [itemAdded('p1', 1)]).when(discard('bob')).thenThrows(IllegalStateError, /does not belong to customer bob/);
});

test('discarding an already discarded cart records nothing', (t) => {
  given(t, [customerAssigned('alice'), itemAdded('p1', 1), cartDiscarded('alice')]).when(discard('alice')).then([]);
});

// A discarded cart is final: its id never starts another cart.

const discardedCart = [customerAssigned('alice'), itemAdded('p1', 1), cartDiscarded('alice')];
const everyChange = (by: Shopper): Array<[string, CartCommand]> => [
  ...changes(by),
  ['taking it over', assignCustomer(by.kind === 'customer' ? by.customerId : 'alice', by)],
];

for (const by of [customer('alice'), customer('mallory'), ANONYMOUS_SHOPPER, SHOP]) {
  for (const [what, command] of everyChange(by)) {
    test(`${what} on a discarded cart is refused to ${by.kind === 'customer' ? by.customerId : by.kind}`, (t) => {
      given(t, discardedCart).when(command).thenThrows(IllegalStateError, /^cart cart-1 was discarded$/);
    });
  }
}

test('adding to a discarded cart does not start a new one, not even for a new customer', (t) => {
  given(t, discardedCart).when(addItem('p2', 1, 1000, 'Product p2', 'USD', 'bob')).thenThrows(IllegalStateError, /was discarded/);
  t.deepEqual(given(t, discardedCart).state(), { status: 'discarded' });
});

test('the reactions find nothing to do on a discarded cart: a redelivered deletion, an order placed after it', (t) => {
  given(t, discardedCart).when(discard('alice')).then([]);
  given(t, [customerAssigned('alice'), itemAdded('p1', 1), checkedOut(), cartDiscarded('alice')]).when(completeCheckout()).then([]);
});

test('events a stream holds after its discard (written before discarding was final) change nothing', (t) => {
  const reused = [...discardedCart, itemAdded('p2', 1), customerAssigned('bob')];
  t.deepEqual(given(t, reused).state(), { status: 'discarded' });
  given(t, reused).when(removeItem('p2', customer('bob'))).thenThrows(IllegalStateError, /was discarded/);
});
