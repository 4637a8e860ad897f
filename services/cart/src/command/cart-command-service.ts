import { CartCommandServiceService } from '@shop/contracts/shop/cart/v1/command_service';
import type { Checkout } from '@shop/contracts/shop/cart/v1/cart';
import { CheckedOut } from '@shop/contracts/shop/cart/v1/events';
import type { WriteResult } from '@shop/contracts/shop/common/v1/consistency';
import { ValidationError } from '@shop/platform/errors';
import { bind, type CallContext, type ServiceBinding } from '@shop/platform/grpc/server';
import { actingCustomer } from '@shop/platform/auth/caller';
import type { IdGenerator } from '@shop/platform/ids';
import { ANONYMOUS_SHOPPER, checkQuantityToAdd, customer, SHOP, type CartCommand, type Shopper } from '../domain/cart.js';
import type { CartEvent } from '../domain/events.js';
import { expectedVersion, metadataOf, uuid } from '@shop/platform/grpc/edge';
import type { CartCommandHandler } from './cart-handler.js';
import type { ProductLookup } from './product-lookup.js';
import { checkOut } from './check-out.js';

export const CART_COMMAND_SERVICE = 'shop.cart.v1.CartCommandService';

export interface CartCommandServiceDeps {
  carts: CartCommandHandler;
  products: ProductLookup;
  /** Checkout ids: injected, so that the domain generates none. */
  newId: IdGenerator;
}

/**
 * Transport only: parse each request into a command (naming any bad field), resolve
 * what the decider must be given (who asks, as the server verified it; the product
 * snapshot; a checkout id), run the command handler, answer the stream's new version and
 * position. Whether who asks may change the cart is the decider's rule.
 */
export function cartCommandService({ carts, products, newId }: CartCommandServiceDeps): ServiceBinding {
  const run = async (cartId: string, command: CartCommand, expected: number | undefined, ctx: CallContext) =>
    carts.handle(cartId, command, { metadata: metadataOf(ctx), expectedVersion: expected });

  return bind(CART_COMMAND_SERVICE, CartCommandServiceService, {
    async addItem(req, ctx) {
      const cartId = uuid('cart_id', req.cartId);
      const productId = uuid('product_id', req.productId);
      // The domain enforces it too; checked here first to spare the product lookup.
      checkQuantityToAdd(req.quantity);
      const expected = expectedVersion(req.expectedVersion);
      const by = shopper(ctx, req.customerId ? uuid('customer_id', req.customerId) : undefined);
      const requestId = req.requestId === undefined ? undefined : requestKey(req.requestId);
      const product = await products.find(productId, metadataOf(ctx));
      const result = await run(
        cartId,
        {
          type: 'AddItem',
          cartId,
          productId,
          productName: product.name,
          unitPrice: product.unitPrice,
          quantity: req.quantity,
          by,
          ...(requestId === undefined ? {} : { requestId }),
        },
        expected,
        ctx,
      );
      return { result: writeResult(result) };
    },

    async removeItem(req, ctx) {
      const cartId = uuid('cart_id', req.cartId);
      const productId = uuid('product_id', req.productId);
      const result = await run(cartId, { type: 'RemoveItem', cartId, productId, by: shopper(ctx) }, expectedVersion(req.expectedVersion), ctx);
      return { result: writeResult(result) };
    },

    async changeQuantity(req, ctx) {
      const cartId = uuid('cart_id', req.cartId);
      const productId = uuid('product_id', req.productId);
      const command: CartCommand = { type: 'ChangeQuantity', cartId, productId, quantity: req.quantity, by: shopper(ctx) };
      const result = await run(cartId, command, expectedVersion(req.expectedVersion), ctx);
      return { result: writeResult(result) };
    },

    async resetCart(req, ctx) {
      const cartId = uuid('cart_id', req.cartId);
      const result = await run(cartId, { type: 'ResetCart', cartId, by: shopper(ctx) }, expectedVersion(req.expectedVersion), ctx);
      return { result: writeResult(result) };
    },

    async checkOut(req, ctx) {
      const cartId = uuid('cart_id', req.cartId);
      const expected = expectedVersion(req.expectedVersion);
      const expectedTotal = req.expectedTotal ? money('expected_total', req.expectedTotal) : undefined;
      const by = shopper(ctx, req.customerId ? uuid('customer_id', req.customerId) : undefined);
      // One id per call, kept across the conflict retries.
      const result = await checkOut(
        { carts, products },
        { cartId, checkoutId: newId(), by, ...(expectedTotal ? { expectedTotal } : {}), ...(expected === undefined ? {} : { expectedVersion: expected }) },
        metadataOf(ctx),
      );
      const checkedOut = result.events.find(isCheckedOut);
      if (!checkedOut) throw new Error('CheckOut decided no CheckedOut event');
      return { result: writeResult(result), checkout: toCheckout(checkedOut.data) };
    },

    async assignCustomer(req, ctx) {
      const cartId = uuid('cart_id', req.cartId);
      const customerId = uuid('customer_id', req.customerId);
      const result = await run(cartId, { type: 'AssignCustomer', cartId, customerId, by: shopper(ctx, customerId) }, expectedVersion(req.expectedVersion), ctx);
      return { result: writeResult(result) };
    },
  });
}

/**
 * Who asks, from the caller the server verified and the customer the request names: a
 * customer acts for themselves only, a service for the customer it names (or as the shop),
 * an anonymous caller for nobody.
 */
function shopper(ctx: CallContext, requested?: string): Shopper {
  const acting = actingCustomer(ctx.caller, 'customer_id', requested);
  if (acting !== undefined) return customer(acting);
  return ctx.caller.kind === 'service' ? SHOP : ANONYMOUS_SHOPPER;
}

/** An idempotency key: short and plain, since the cart keeps it in its events and its state. */
function requestKey(value: string): string {
  if (!/^[\x20-\x7e]{1,128}$/.test(value)) throw new ValidationError('request_id', 'must be 1 to 128 printable ASCII characters');
  return value;
}

/** An amount the client states; an empty currency stays empty (the cart's currency). */
function money(field: string, m: { amountCents: number; currency: string }): { cents: number; currency: string } {
  if (!Number.isSafeInteger(m.amountCents) || m.amountCents < 0) throw new ValidationError(`${field}.amount_cents`, 'must be a whole number of cents, 0 or more');
  if (m.currency !== '' && !/^[A-Z]{3}$/.test(m.currency)) throw new ValidationError(`${field}.currency`, 'must be an ISO 4217 code such as USD, or empty (the cart\'s)');
  return { cents: m.amountCents, currency: m.currency };
}

const writeResult = (r: { version: number; position: number }): WriteResult => ({ version: r.version, position: r.position });

const isCheckedOut = (e: CartEvent): e is Extract<CartEvent, { type: typeof CheckedOut.$type }> => e.type === CheckedOut.$type;

/** The event's lines are the same fields as the contract's CartLine (kept apart so each can move alone). */
const toCheckout = (e: CheckedOut): Checkout => ({
  checkoutId: e.checkoutId,
  cartId: e.cartId,
  customerId: e.customerId,
  lines: e.lines.map((l) => ({ productId: l.productId, productName: l.productName, quantity: l.quantity, unitPrice: l.unitPrice, lineTotal: l.lineTotal })),
  total: e.total,
});
