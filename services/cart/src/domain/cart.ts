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
import type { Money } from '@shop/contracts/shop/common/v1/money';
import { ForbiddenError, IllegalStateError, ValidationError } from '@shop/platform/errors';
import { event, type Decider } from '@shop/eventsourcing';
import type { CartEvent } from './events.js';

/** Most units of one product a cart line may hold. */
export const MAX_LINE_QUANTITY = 99;
/** Most products a cart may hold: what one order may hold (services/order). */
export const MAX_LINES = 50;
/**
 * Request ids of keyed ItemAdded events a cart remembers: enough for a retried login merge
 * (at most MAX_LINES lines) or a client's retry, bounded so that the state stays small.
 */
export const REMEMBERED_REQUESTS = 100;

/** An amount in minor units (cents) of a currency: money is never a float. */
export interface Price {
  cents: number;
  currency: string;
}

export interface CartLine {
  productId: string;
  /** Snapshot of the product's name when it was last added. */
  productName: string;
  quantity: number;
  /** Snapshot of the product's unit price when it was last added. */
  unitPrice: Price;
}

/** A product as the catalog has it at checkout (looked up by the caller, so that `decide` stays pure). */
export interface CatalogEntry {
  name: string;
  unitPrice: Price;
  /** Offered for sale. */
  active: boolean;
  /** Units on hand (reserved ones included: the reservation is the order's real check). */
  onHand: number;
}

/**
 * The cart as the command side sees it. `empty` is both a cart that never had a line
 * and one whose lines were all removed or reset; `checked_out` accepts no change
 * until its order is placed (it is then empty again) or it is reset; `discarded` (its
 * customer deleted their account) is final: no command changes it, and its id never
 * starts another cart, so that whoever else holds the id finds nothing. The customer is
 * optional until checkout: a cart starts anonymous, and an order needs a customer.
 */
export type Cart = (
  | { status: 'empty'; customerId?: string }
  /** `lines` is never empty; Map order is the order the products were first added. */
  | { status: 'active'; customerId?: string; lines: ReadonlyMap<string, CartLine> }
  | { status: 'checked_out'; customerId?: string; checkoutId: string }
  | { status: 'discarded'; customerId?: undefined }
) & {
  /**
   * The request ids of the last REMEMBERED_REQUESTS keyed ItemAdded events, oldest first,
   * whatever happened since (a reset, a checkout): an AddItem under one of them was applied.
   */
  requestIds?: readonly string[];
};

/**
 * Who asks for a change, as the cart service verified it (never as a request claims it):
 * a signed-in customer, an anonymous shopper (who holds only the cart's id), or the shop
 * itself (another service, e.g. the BFF for an administrator or a reactor).
 */
export type Shopper = { kind: 'customer'; customerId: string } | { kind: 'anonymous' } | { kind: 'shop' };

export const SHOP: Shopper = { kind: 'shop' };
export const ANONYMOUS_SHOPPER: Shopper = { kind: 'anonymous' };
export const customer = (customerId: string): Shopper => ({ kind: 'customer', customerId });

export type CartCommand =
  | {
      type: 'AddItem';
      cartId: string;
      productId: string;
      /** Resolved from the product catalog by the caller, so that `decide` stays pure. */
      productName: string;
      unitPrice: Price;
      quantity: number;
      /** A customer who adds to an anonymous cart makes it theirs. */
      by: Shopper;
      /** The client's idempotency key: a call already applied under it is not applied again. */
      requestId?: string;
    }
  | { type: 'RemoveItem'; cartId: string; productId: string; by: Shopper }
  /** Quantity 0 removes the line. */
  | { type: 'ChangeQuantity'; cartId: string; productId: string; quantity: number; by: Shopper }
  | { type: 'ResetCart'; cartId: string; by: Shopper }
  /**
   * The checkout id is injected by the caller (the domain generates no ids), and so is
   * the catalog's current view of every product in the cart (absent = no longer sold).
   */
  | { type: 'CheckOut'; cartId: string; checkoutId: string; catalog: ReadonlyMap<string, CatalogEntry>; expectedTotal?: Price; by: Shopper }
  /** The order of a checkout was placed: the cart opens again, empty. */
  | { type: 'CompleteCheckout'; cartId: string; checkoutId: string; orderId: string }
  /** Login: an anonymous cart becomes the customer's (never another customer's cart). */
  | { type: 'AssignCustomer'; cartId: string; customerId: string; by: Shopper }
  /** The customer deleted their account: their cart disappears. */
  | { type: 'Discard'; cartId: string; customerId: string };

export const CHECKED_OUT_MESSAGE = 'cart is checked out; reset it first';

export const initialState = (): Cart => ({ status: 'empty' });

export function evolve(cart: Cart, e: CartEvent): Cart {
  const next = evolveStatus(cart, e);
  const requestId = e.type === ItemAdded.$type ? e.data.requestId : '';
  const requestIds = requestId ? [...(cart.requestIds ?? []), requestId].slice(-REMEMBERED_REQUESTS) : cart.requestIds;
  return requestIds === undefined ? next : { ...next, requestIds };
}

function evolveStatus(cart: Cart, e: CartEvent): Cart {
  // Final. `decide` appends nothing after a discard; a stream written before that rule
  // may hold later events, and they change nothing (as in the read model).
  if (cart.status === 'discarded') return cart;
  const owner = cart.customerId === undefined ? {} : { customerId: cart.customerId };
  switch (e.type) {
    case ItemAdded.$type: {
      const lines = new Map(cart.status === 'active' ? cart.lines : []);
      const existing = lines.get(e.data.productId);
      lines.set(e.data.productId, {
        productId: e.data.productId,
        productName: e.data.productName,
        quantity: (existing?.quantity ?? 0) + e.data.quantity,
        // The latest snapshot is the line's price from now on (events.proto).
        unitPrice: priceOf(e.data.unitPrice),
      });
      return { status: 'active', ...owner, lines };
    }
    case ItemRemoved.$type: {
      if (cart.status !== 'active') return cart;
      const lines = new Map(cart.lines);
      lines.delete(e.data.productId);
      return lines.size === 0 ? { status: 'empty', ...owner } : { status: 'active', ...owner, lines };
    }
    case QuantityChanged.$type: {
      const line = cart.status === 'active' ? cart.lines.get(e.data.productId) : undefined;
      if (cart.status !== 'active' || !line) return cart;
      return { status: 'active', ...owner, lines: new Map(cart.lines).set(line.productId, { ...line, quantity: e.data.quantity }) };
    }
    case CartReset.$type:
      return { status: 'empty', ...owner };
    case CheckedOut.$type:
      return { status: 'checked_out', ...(e.data.customerId ? { customerId: e.data.customerId } : {}), checkoutId: e.data.checkoutId };
    case CheckoutCompleted.$type:
      return { status: 'empty', ...owner };
    case CustomerAssigned.$type:
      return { ...cart, customerId: e.data.customerId };
    case CartDiscarded.$type:
      return { status: 'discarded' };
    default:
      return exhaustive(e);
  }
}

export function decide(command: CartCommand, cart: Cart): CartEvent[] {
  if (cart.status === 'discarded') return afterDiscard(command);
  switch (command.type) {
    case 'AddItem': {
      checkQuantityToAdd(command.quantity);
      allowed(command.by, cart);
      // A retried call (a timeout after the commit, a login merge run again) was applied once.
      if (command.requestId !== undefined && cart.requestIds?.includes(command.requestId)) return [];
      if (cart.status === 'checked_out') throw new IllegalStateError(CHECKED_OUT_MESSAGE);
      const lines = cart.status === 'active' ? cart.lines : new Map<string, CartLine>();
      const inCart = lines.get(command.productId)?.quantity ?? 0;
      if (inCart + command.quantity > MAX_LINE_QUANTITY) {
        throw new ValidationError(
          'quantity',
          `a cart line holds at most ${MAX_LINE_QUANTITY} units; the cart already has ${inCart} of this product, so at most ${MAX_LINE_QUANTITY - inCart} more can be added`,
        );
      }
      const currency = cartCurrency(cart);
      if (currency !== undefined && currency !== command.unitPrice.currency) {
        // One total per cart needs one currency per cart.
        throw new IllegalStateError(`cart is priced in ${currency}; product ${command.productId} is priced in ${command.unitPrice.currency}`);
      }
      if (!lines.has(command.productId) && lines.size >= MAX_LINES) {
        throw new ValidationError('product_id', `a cart holds at most ${MAX_LINES} products; remove one first`);
      }
      // A cart a signed-in customer starts (or picks up while anonymous) is theirs.
      const claim =
        command.by.kind === 'customer' && cart.customerId === undefined ? [event(CustomerAssigned, { cartId: command.cartId, customerId: command.by.customerId })] : [];
      return [
        ...claim,
        event(ItemAdded, {
          cartId: command.cartId,
          productId: command.productId,
          productName: command.productName,
          quantity: command.quantity,
          unitPrice: moneyOf(command.unitPrice),
          requestId: command.requestId ?? '',
        }),
      ];
    }
    case 'RemoveItem': {
      allowed(command.by, cart);
      requireLine(mutable(cart), command.productId);
      return [event(ItemRemoved, { cartId: command.cartId, productId: command.productId })];
    }
    case 'ChangeQuantity': {
      if (!Number.isInteger(command.quantity) || command.quantity < 0 || command.quantity > MAX_LINE_QUANTITY) {
        throw new ValidationError('quantity', `must be a whole number from 0 to ${MAX_LINE_QUANTITY} (0 removes the line)`);
      }
      allowed(command.by, cart);
      const line = requireLine(mutable(cart), command.productId);
      if (command.quantity === 0) return [event(ItemRemoved, { cartId: command.cartId, productId: command.productId })];
      if (command.quantity === line.quantity) return [];
      return [event(QuantityChanged, { cartId: command.cartId, productId: command.productId, quantity: command.quantity })];
    }
    case 'ResetCart':
      allowed(command.by, cart);
      // Resetting a checked-out cart starts a new shopping session; an empty cart has nothing to reset.
      return cart.status === 'empty' ? [] : [event(CartReset, { cartId: command.cartId })];
    case 'CheckOut': {
      if (cart.status === 'checked_out') throw new IllegalStateError(CHECKED_OUT_MESSAGE);
      if (cart.status === 'empty') throw new IllegalStateError('cart is empty: nothing to check out');
      if (cart.customerId === undefined) throw new IllegalStateError('sign in to check out: an order needs a customer');
      allowed(command.by, cart);
      const currency = cartCurrency(cart)!;
      const lines = [...cart.lines.values()].map((l) => {
        const now = command.catalog.get(l.productId);
        if (!now) throw new IllegalStateError(`${l.productName} (product ${l.productId}) is no longer sold: remove it from the cart`);
        if (!now.active) throw new IllegalStateError(`${now.name} (product ${l.productId}) is not for sale at the moment: remove it from the cart`);
        if (now.onHand < l.quantity) {
          throw new IllegalStateError(`only ${now.onHand} of ${now.name} (product ${l.productId}) in stock; the cart has ${l.quantity}`);
        }
        if (now.unitPrice.currency !== currency) {
          throw new IllegalStateError(`${now.name} (product ${l.productId}) is now priced in ${now.unitPrice.currency}, the cart in ${currency}`);
        }
        // The current price: what the order will charge.
        const line: CartLine = { ...l, productName: now.name, unitPrice: now.unitPrice };
        return { productId: l.productId, productName: now.name, quantity: l.quantity, unitPrice: moneyOf(now.unitPrice), lineTotal: moneyOf(lineTotal(line)) };
      });
      const total = lines.reduce((sum, l) => sum + l.lineTotal.amountCents, 0);
      const expected = command.expectedTotal;
      // An expected total without a currency is in the cart's.
      if (expected && (expected.cents !== total || (expected.currency !== '' && expected.currency !== currency))) {
        throw new IllegalStateError(`the total at current prices is ${total} ${currency} cents, not the expected ${expected.cents} ${expected.currency}`);
      }
      return [
        event(CheckedOut, {
          cartId: command.cartId,
          checkoutId: command.checkoutId,
          customerId: cart.customerId,
          lines,
          total: { amountCents: total, currency },
        }),
      ];
    }
    case 'CompleteCheckout':
      // Only the checkout it names, once: a redelivered "order placed" changes nothing.
      return cart.status === 'checked_out' && cart.checkoutId === command.checkoutId
        ? [event(CheckoutCompleted, { cartId: command.cartId, checkoutId: command.checkoutId, orderId: command.orderId })]
        : [];
    case 'AssignCustomer': {
      if (command.by.kind === 'anonymous' || (command.by.kind === 'customer' && command.by.customerId !== command.customerId)) {
        throw new ForbiddenError('only the customer themselves can take a cart over');
      }
      if (cart.customerId === command.customerId) return [];
      if (cart.customerId !== undefined) throw new ForbiddenError('this cart belongs to another customer');
      mutable(cart);
      return [event(CustomerAssigned, { cartId: command.cartId, customerId: command.customerId })];
    }
    case 'Discard': {
      if (cart.customerId !== command.customerId) throw new IllegalStateError(`cart does not belong to customer ${command.customerId}`);
      // Allowed in every state, checked out included: the account is gone.
      return [event(CartDiscarded, { cartId: command.cartId, customerId: command.customerId })];
    }
    default:
      return exhaustive(command);
  }
}

/**
 * A discarded cart refuses every change, whoever asks. The reactions' commands find
 * nothing to do instead: a redelivered "customer deleted", or the order of a checkout
 * placed after its cart was discarded (the order stands; there is no cart to reopen).
 */
function afterDiscard(command: CartCommand): CartEvent[] {
  if (command.type === 'Discard' || command.type === 'CompleteCheckout') return [];
  throw new IllegalStateError(`cart ${command.cartId} was discarded`);
}

/** The rule for units added at once; exported so that the transport can refuse early, before a product lookup. */
export function checkQuantityToAdd(quantity: number): void {
  if (!Number.isInteger(quantity) || quantity < 1) throw new ValidationError('quantity', 'must be at least 1');
  if (quantity > MAX_LINE_QUANTITY) throw new ValidationError('quantity', `a cart line holds at most ${MAX_LINE_QUANTITY} units`);
}

export const lineTotal = (line: CartLine): Price => ({ cents: line.unitPrice.cents * line.quantity, currency: line.unitPrice.currency });

export const cartDecider: Decider<Cart, CartCommand, CartEvent> = { initialState, evolve, decide };

/**
 * Ownership, decided on the cart's own history (not on a read model a moment behind): a
 * customer's cart is theirs alone; an anonymous cart is anyone's who holds its id; the
 * shop may do anything.
 */
function allowed(by: Shopper, cart: Cart): void {
  if (by.kind === 'shop' || cart.customerId === undefined) return;
  if (by.kind === 'anonymous') throw new ForbiddenError("this cart belongs to a customer: sign in as them to change it");
  if (by.customerId !== cart.customerId) throw new ForbiddenError('this cart belongs to another customer');
}

/** Refuses any change to a checked-out cart. */
function mutable(cart: Cart): Exclude<Cart, { status: 'checked_out' }> {
  if (cart.status === 'checked_out') throw new IllegalStateError(CHECKED_OUT_MESSAGE);
  return cart;
}

/**
 * A line that is not in the cart is a precondition failure of the cart's state, not a
 * missing resource (the contract says FAILED_PRECONDITION).
 */
function requireLine(cart: Exclude<Cart, { status: 'checked_out' }>, productId: string): CartLine {
  const line = cart.status === 'active' ? cart.lines.get(productId) : undefined;
  if (!line) throw new IllegalStateError(`product ${productId} is not in the cart`);
  return line;
}

function cartCurrency(cart: Cart): string | undefined {
  return cart.status === 'active' ? cart.lines.values().next().value?.unitPrice.currency : undefined;
}

/** A contract's Money as a price; proto3: an empty currency means USD (shop/common/v1/money.proto). */
export const priceOf = (m: Money | undefined): Price => ({ cents: m?.amountCents ?? 0, currency: m?.currency || 'USD' });
const moneyOf = (p: Price) => ({ amountCents: p.cents, currency: p.currency });

function exhaustive(value: never): never {
  throw new Error(`unhandled: ${JSON.stringify(value)}`);
}
