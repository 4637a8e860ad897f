import test, { type ExecutionContext } from 'ava';
import {
  CartDiscarded,
  CartReset,
  CheckedOut,
  CustomerAssigned,
  ItemAdded,
  ItemRemoved,
  QuantityChanged,
} from '@shop/contracts/shop/cart/v1/events';
import { IllegalStateError, ValidationError } from '@shop/platform/errors';
import { event } from '@shop/eventsourcing';
import { decide, evolve, initialState, type CartCommand } from './cart.js';
import type { CartEvent } from './events.js';

/**
 * The cart's rules as specifications: given these past events, when this command,
 * then these new events (or this error).
 */
function given(t: ExecutionContext, history: CartEvent[]) {
  return {
    when(command: CartCommand) {
      const run = () => decide(command, history.reduce(evolve, initialState()));
      return {
        then: (expected: CartEvent[]) => t.deepEqual(run(), expected),
        thenThrows: (kind: typeof IllegalStateError, message: RegExp) => void t.throws(run, { instanceOf: kind, message }),
        thenInvalid: (field: string, message: RegExp) => {
          const err = t.throws(run, { instanceOf: ValidationError, message });
          t.is(err?.field, field);
        },
      };
    },
  };
}

const cartId = 'cart-1';
const usd = (cents: number) => ({ amountCents: cents, currency: 'USD' });

// Events
const itemAdded = (productId: string, quantity: number, cents = 1000, productName = `Product ${productId}`, currency = 'USD') =>
  event(ItemAdded, { cartId, productId, productName, quantity, unitPrice: { amountCents: cents, currency } });
const itemRemoved = (productId: string) => event(ItemRemoved, { cartId, productId });
const quantityChanged = (productId: string, quantity: number) => event(QuantityChanged, { cartId, productId, quantity });
const cartReset = () => event(CartReset, { cartId });
const customerAssigned = (customerId: string) => event(CustomerAssigned, { cartId, customerId });
const cartDiscarded = (customerId: string) => event(CartDiscarded, { cartId, customerId });
const checkedOut = (checkoutId = 'checkout-1') => event(CheckedOut, { cartId, checkoutId, customerId: 'alice', lines: [], total: usd(0) });

// Commands
const addItem = (productId: string, quantity: number, cents = 1000, productName = `Product ${productId}`, currency = 'USD'): CartCommand => ({
  type: 'AddItem',
  cartId,
  productId,
  productName,
  unitPrice: { cents, currency },
  quantity,
});
const removeItem = (productId: string): CartCommand => ({ type: 'RemoveItem', cartId, productId });
const changeQuantity = (productId: string, quantity: number): CartCommand => ({ type: 'ChangeQuantity', cartId, productId, quantity });
const resetCart = (): CartCommand => ({ type: 'ResetCart', cartId });
const checkOut = (checkoutId = 'checkout-1'): CartCommand => ({ type: 'CheckOut', cartId, checkoutId });
const assignCustomer = (customerId: string): CartCommand => ({ type: 'AssignCustomer', cartId, customerId });
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

test('checking out freezes the lines with their totals', (t) => {
  given(t, [customerAssigned('alice'), itemAdded('p1', 2, 1000, 'Lamp'), itemAdded('p2', 1, 250, 'Bulb'), itemAdded('p1', 1, 1200, 'Lamp XL')])
    .when(checkOut('co-9'))
    .then([
      event(CheckedOut, {
        cartId,
        checkoutId: 'co-9',
        customerId: 'alice',
        // First-added order; the last snapshot of a product is its line's name and price.
        lines: [
          { productId: 'p1', productName: 'Lamp XL', quantity: 3, unitPrice: usd(1200), lineTotal: usd(3600) },
          { productId: 'p2', productName: 'Bulb', quantity: 1, unitPrice: usd(250), lineTotal: usd(250) },
        ],
        total: usd(3850),
      }),
    ]);
});

test('checking out reflects changed quantities', (t) => {
  given(t, [customerAssigned('alice'), itemAdded('p1', 2, 500), quantityChanged('p1', 4)])
    .when(checkOut())
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

test('checking out an empty cart is refused', (t) => {
  given(t, [customerAssigned('alice')]).when(checkOut()).thenThrows(IllegalStateError, /cart is empty/);
});

test('checking out a cart whose lines were all removed is refused', (t) => {
  given(t, [customerAssigned('alice'), itemAdded('p1', 1), itemRemoved('p1')]).when(checkOut()).thenThrows(IllegalStateError, /cart is empty/);
});

test('an anonymous cart checks out too (DESIGN: a cart can exist without a customer)', (t) => {
  given(t, [itemAdded('p1', 2)])
    .when(checkOut())
    .then([
      event(CheckedOut, {
        cartId,
        checkoutId: 'checkout-1',
        customerId: '',
        lines: [{ productId: 'p1', productName: 'Product p1', quantity: 2, unitPrice: usd(1000), lineTotal: usd(2000) }],
        total: usd(2000),
      }),
    ]);
});

test('after an anonymous checkout and reset, the cart can still be given to a customer', (t) => {
  const anonymousCheckout = event(CheckedOut, { cartId, checkoutId: 'checkout-1', customerId: '', lines: [], total: usd(0) });
  given(t, [itemAdded('p1', 1), anonymousCheckout, event(CartReset, { cartId })])
    .when(assignCustomer('alice'))
    .then([event(CustomerAssigned, { cartId, customerId: 'alice' })]);
});

test('checking out twice is refused', (t) => {
  given(t, [customerAssigned('alice'), itemAdded('p1', 1), checkedOut()]).when(checkOut('checkout-2')).thenThrows(IllegalStateError, CHECKED_OUT);
});

// AssignCustomer

test('an anonymous cart gets its customer', (t) => {
  given(t, [itemAdded('p1', 1)]).when(assignCustomer('alice')).then([customerAssigned('alice')]);
});

test('assigning the same customer again records nothing', (t) => {
  given(t, [customerAssigned('alice')]).when(assignCustomer('alice')).then([]);
});

test("assigning another customer to someone's cart is refused", (t) => {
  given(t, [customerAssigned('alice')]).when(assignCustomer('bob')).thenThrows(IllegalStateError, /belongs to another customer/);
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

test('a discarded cart id starts over as a new anonymous cart', (t) => {
  const history = [customerAssigned('alice'), itemAdded('p1', 1), cartDiscarded('alice')];
  given(t, history).when(removeItem('p1')).thenThrows(IllegalStateError, /not in the cart/);
  given(t, [...history, itemAdded('p2', 1), customerAssigned('bob')]).when(assignCustomer('alice')).thenThrows(IllegalStateError, /another customer/);
});
