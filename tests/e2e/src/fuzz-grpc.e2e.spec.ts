import test from 'ava';
import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { connect } from 'nats';
import { subjects } from '@shop/platform/subjects';
import { urls } from '@shop/tools/topology';
import { encodePageToken } from '@shop/platform/paging';
import {
  anyText,
  badEmail,
  badPageToken,
  badPassword,
  badUsername,
  blank,
  hugeText,
  hugeUpTo,
  int32Above,
  int32Below,
  longerThan,
  negativeInt64,
  notADay,
  notASlug,
  notCountry,
  notCurrency,
  notUuid,
  unknownEnum,
  unsafeInt64,
  withNul,
} from './fuzz/arbitraries.js';
import { fuzzFixtures, hex, userUntouched, victimUntouched, type Ctx } from './fuzz/fixtures.js';
import { judgeGrpc, ShopGrpc, shopMethods, show } from './fuzz/grpc.js';
import { setPath } from './fuzz/paths.js';
import { caseTitle, coverage, fuzz, limiter, runCase, type Case as FuzzCase, type Spec } from './fuzz/runner.js';
import { cartEvents, ordersOf, productsMarked, reservationsOf, userEvents, usernameClaims } from './fuzz/stores.js';
import { asCustomer, asService } from './fuzz/tokens.js';
import { brief, finding } from './fuzz/verdicts.js';

/**
 * Property-based input fuzzing of every gRPC method of the contract (issue 10, part E):
 * each malformed input is answered INVALID_ARGUMENT naming the field (as the proto names
 * it: `shop-error-field` trailer and the message's first word), nothing is stored for it,
 * and nothing answers INTERNAL or UNKNOWN.
 *
 * The methods come from the descriptor set (packages/contracts/descriptors.binpb): a
 * method, or a request field, without a fuzz case here fails the first test. Each case
 * starts from a well-formed request on fresh ids, breaks one field with fast-check's
 * values, calls the service on its own gRPC port as an allowed caller (a service token of
 * the local stack, a customer's token, or none where anyone may call), and afterwards
 * looks up what was stored for the ids it used (only those: the suite runs in parallel).
 *
 * Where an input is well-formed but refers to nothing, or is opaque to the server (a
 * refresh token), the case says which other answer is right and why (`expect`, `why`).
 * Run alone: npx ava tests/e2e/src/fuzz-grpc.e2e.spec.ts (FUZZ_RUNS, FUZZ_SEED to vary).
 */

type Request = Record<string, any>;

interface Case extends FuzzCase<Request> {
  /** Extra metadata of the call, from the value. */
  metadata?: (value: any) => Record<string, string>;
}

interface MethodFuzz extends Spec<Request, Case> {
  caller: (ctx: Ctx) => Promise<Record<string, string>>;
}

// ---------------------------------------------------------------- callers

const anonymous = async () => ({});
const shop = () => asService();
const fixtures = fuzzFixtures(test);
const methods = shopMethods();
const method = (name: string) => {
  const m = methods.get(name);
  if (!m) throw new Error(`${name} is not in the descriptor set`);
  return m;
};

const lines = (...productIds: string[]) => productIds.map((productId) => ({ productId, quantity: 1 }));

// ---------------------------------------------------------------- malformed values

const uuidCase = (field: string, what = `${field} not a UUID`): Case => ({ what, field, values: notUuid });
/** An optional id: empty means absent (well-formed), anything else must be a UUID. */
const optionalUuidCase = (field: string): Case => ({ what: `${field} given but not a UUID`, field, values: notUuid.filter((s) => s !== '') });
const versionCases = (field: string): Case[] => [
  { what: `${field} negative`, field, values: negativeInt64 },
  { what: `${field} beyond 2^53 (int64 a JavaScript number cannot hold)`, field, values: unsafeInt64 },
];
const updatable = ['name', 'description', 'category', 'sku', 'price', 'quantity_on_hand', 'active'];
const unknownMaskPath = fc
  .oneof(anyText(20), fc.constantFrom('id', 'revision', 'quantity_reserved', 'create_time', 'product.name', 'names', 'NAME', '*'), hugeText)
  .filter((s) => !s.includes(',') && !updatable.includes(s.trim().replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`)) && !s.trim().startsWith('price.'));
type Line = { productId: string; quantity: number };
/** `n` lines, the `bad` one at a random index: [index, lines]. */
const linesWithBad = <T>(bad: fc.Arbitrary<T>, make: (i: number, v: T, good: Line) => Record<string, unknown>) =>
  fc.tuple(fc.integer({ min: 1, max: 4 }), fc.nat(), bad).map(([n, k, v]) => {
    const at = k % n;
    const ls: Line[] = Array.from({ length: n }, () => ({ productId: randomUUID(), quantity: 1 }));
    ls[at] = make(at, v, ls[at]!) as Line;
    return { at, lines: ls };
  });
/** Lines where a product comes back (in another spelling, maybe): [index of the repeat, lines]. */
const linesWithRepeat = fc.tuple(fc.integer({ min: 1, max: 4 }), fc.nat(), fc.boolean()).map(([n, k, upper]) => {
  const ls: Line[] = Array.from({ length: n + 1 }, () => ({ productId: randomUUID(), quantity: 1 }));
  const from = k % n;
  ls[n] = { productId: upper ? ls[from]!.productId.toUpperCase() : ls[from]!.productId, quantity: 1 };
  return { at: n, lines: ls };
});
const manyLines = (min: number, max: number) => fc.integer({ min, max }).map((n) => Array.from({ length: n }, () => ({ productId: randomUUID(), quantity: 1 })));
const day = (offset: number) => new Date(Date.UTC(2026, 0, 1) + offset * 86_400_000).toISOString().slice(0, 10);
const secondsNow = () => BigInt(Math.floor(Date.now() / 1000));
/** Seconds no JavaScript Date holds (beyond ±8.64e15 ms). */
const timestampOutOfRange = fc.oneof(fc.bigInt({ min: 8_640_000_000_001n, max: 2n ** 62n }), fc.bigInt({ min: -(2n ** 62n), max: -8_640_000_000_001n }));
const addressFields = ['recipient', 'line1', 'line2', 'city', 'region', 'postal_code', 'country_code'] as const;
const requiredAddressFields = ['recipient', 'line1', 'city', 'postal_code'] as const;
const goodAddress = () => ({ recipient: 'Ada Lovelace', line1: '1 Analytical St', line2: '', city: 'London', region: '', postalCode: 'N1', countryCode: 'GB' });
/** A page token whose filter fingerprint is right but whose position is odd (a time Postgres may not read). */
const forgedOrderToken = fc
  .tuple(fc.constantFrom('March 7', 'Tue', '2020-01-01T00:00:00+99:00', '1', '-1', '275760-09-13', '2020-13-45', 'Infinity', '0000-00-00'), fc.uuid())
  .filter(([createdAt]) => !Number.isNaN(Date.parse(createdAt)))
  .map(([createdAt, id]) => encodePageToken({ createdAt, id }, {}));
const forgedUserCursor = fc
  .tuple(fc.oneof(withNul, anyText(10), hugeText), fc.uuid())
  .map(([username, id]) => Buffer.from(JSON.stringify([username, id])).toString('base64url'));

/** A request without fields has nothing to break: junk tracing headers must still get `what`. */
const junkHeadersOnly = (what: string, request: string) => ({
  what: `no fields to break: junk tracing headers still get ${what}`,
  field: '',
  values: fc.record({ correlation: fc.string({ maxLength: 200 }), traceparent: fc.string({ maxLength: 80 }) }),
  metadata: (v: { correlation: string; traceparent: string }) => ({ 'x-correlation-id': v.correlation, traceparent: v.traceparent }),
  at: () => undefined,
  expect: ['OK' as const],
  why: `${request} has no fields: every request is well-formed`,
});

// ---------------------------------------------------------------- every method

const specs: Record<string, MethodFuzz> = {
  // ---- cart, command side: events in the cart store, one stream per cart id
  'shop.cart.v1.CartCommandService/AddItem': {
    caller: shop,
    base: (ctx) => ({ cartId: randomUUID(), productId: ctx.product, quantity: 1 }),
    cases: [
      uuidCase('cart_id'),
      uuidCase('product_id'),
      { what: 'quantity below 1 or above 99', field: 'quantity', values: fc.oneof(int32Below(1), int32Above(99)) },
      ...versionCases('expected_version'),
      optionalUuidCase('customer_id'),
      {
        what: 'request_id empty, over 128 characters or not printable ASCII',
        field: 'request_id',
        values: fc.oneof(
          fc.constant(''),
          fc.string({ minLength: 129, maxLength: 400, unit: 'grapheme-ascii' }),
          fc.string({ minLength: 1, maxLength: 40, unit: 'grapheme' }).filter((v) => /[^\x20-\x7e]/.test(v)),
        ),
      },
    ],
    stored: (sent) => cartEvents(sent.map((r) => r.cartId)),
  },
  'shop.cart.v1.CartCommandService/RemoveItem': {
    caller: anonymous,
    base: () => ({ cartId: randomUUID(), productId: randomUUID() }),
    cases: [uuidCase('cart_id'), uuidCase('product_id'), ...versionCases('expected_version')],
    stored: (sent) => cartEvents(sent.map((r) => r.cartId)),
  },
  'shop.cart.v1.CartCommandService/ChangeQuantity': {
    caller: anonymous,
    base: () => ({ cartId: randomUUID(), productId: randomUUID(), quantity: 2 }),
    cases: [
      uuidCase('cart_id'),
      uuidCase('product_id'),
      { what: 'quantity below 0 or above 99', field: 'quantity', values: fc.oneof(int32Below(0), int32Above(99)) },
      ...versionCases('expected_version'),
    ],
    stored: (sent) => cartEvents(sent.map((r) => r.cartId)),
  },
  'shop.cart.v1.CartCommandService/ResetCart': {
    caller: anonymous,
    base: () => ({ cartId: randomUUID() }),
    cases: [uuidCase('cart_id'), ...versionCases('expected_version')],
    stored: (sent) => cartEvents(sent.map((r) => r.cartId)),
  },
  'shop.cart.v1.CartCommandService/CheckOut': {
    caller: shop,
    base: () => ({ cartId: randomUUID(), customerId: randomUUID() }),
    cases: [
      uuidCase('cart_id'),
      ...versionCases('expected_version'),
      { what: 'expected_total.amount_cents negative', field: 'expected_total.amount_cents', values: negativeInt64.map((amountCents) => ({ amountCents, currency: 'USD' })), at: 'expected_total' },
      { what: 'expected_total.amount_cents beyond 2^53', field: 'expected_total.amount_cents', values: unsafeInt64.filter((n) => n > 0n).map((amountCents) => ({ amountCents, currency: 'USD' })), at: 'expected_total' },
      { what: 'expected_total.currency not an ISO 4217 code', field: 'expected_total.currency', values: notCurrency.map((currency) => ({ amountCents: 100n, currency })), at: 'expected_total' },
      optionalUuidCase('customer_id'),
    ],
    stored: (sent) => cartEvents(sent.map((r) => r.cartId)),
  },
  'shop.cart.v1.CartCommandService/AssignCustomer': {
    caller: shop,
    base: () => ({ cartId: randomUUID(), customerId: randomUUID() }),
    cases: [uuidCase('cart_id'), uuidCase('customer_id'), ...versionCases('expected_version')],
    stored: (sent) => cartEvents(sent.map((r) => r.cartId)),
  },

  // ---- cart, query side
  'shop.cart.v1.CartQueryService/GetCart': {
    caller: anonymous,
    base: () => ({ cartId: randomUUID(), minVersion: 0n }),
    cases: [uuidCase('cart_id'), ...versionCases('min_version')],
    unfuzzed: { empty_if_unused: 'a bool: both values are well-formed' },
  },
  'shop.cart.v1.CartQueryService/GetCustomerCart': {
    caller: shop,
    base: () => ({ customerId: randomUUID() }),
    // A service must name the customer: empty is "required".
    cases: [uuidCase('customer_id')],
  },

  // ---- orders
  'shop.order.v1.OrderService/PlaceOrder': {
    caller: shop,
    base: (ctx) => ({ customerId: randomUUID(), checkoutId: randomUUID(), cartId: '', lines: lines(ctx.product) }),
    cases: [
      uuidCase('customer_id'),
      uuidCase('checkout_id'),
      optionalUuidCase('cart_id'),
      { what: 'lines empty', field: 'lines', values: fc.constant([]) },
      { what: 'more than 50 lines', field: 'lines', values: manyLines(51, 80) },
      { what: 'a line’s product_id not a UUID', field: (v) => `lines[${v.at}].product_id`, values: linesWithBad(notUuid, (_, productId) => ({ productId, quantity: 1 })), at: (r, v) => (r.lines = v.lines) },
      {
        what: 'a line’s quantity below 1 or above 99',
        field: (v) => `lines[${v.at}].quantity`,
        values: linesWithBad(fc.oneof(int32Below(1), int32Above(99)), (_, quantity, good) => ({ ...good, quantity })),
        at: (r, v) => (r.lines = v.lines),
      },
      { what: 'a product in two lines', field: (v) => `lines[${v.at}].product_id`, values: linesWithRepeat, at: (r, v) => (r.lines = v.lines) },
    ],
    stored: (sent) => ordersOf(sent.map((r) => r.checkoutId), sent.map((r) => r.customerId)),
  },
  'shop.order.v1.OrderService/GetOrder': {
    caller: shop,
    base: () => ({ id: randomUUID() }),
    cases: [uuidCase('id'), optionalUuidCase('customer_id')],
  },
  'shop.order.v1.OrderService/ListOrders': {
    caller: shop,
    base: () => ({ page: { pageSize: 5 } }),
    cases: [
      optionalUuidCase('customer_id'),
      { what: 'page.page_size negative or above 100', field: 'page.page_size', values: fc.oneof(int32Below(0), int32Above(100)) },
      { what: 'page.page_token not issued by the service', field: 'page.page_token', values: badPageToken },
      {
        what: 'page.page_token forged with the right filter and an odd time',
        field: 'page.page_token',
        values: forgedOrderToken,
        expect: ['INVALID_ARGUMENT', 'OK'],
        why: 'a well-signed position may be read or refused, never fail the server',
      },
      { what: 'status not an OrderStatus', field: 'status', values: unknownEnum([0, 1, 2, 3, 4, 5, 6]) },
    ],
  },
  'shop.order.v1.OrderService/CancelOrder': {
    caller: shop,
    base: () => ({ id: randomUUID(), reason: '' }),
    cases: [uuidCase('id'), { what: 'reason longer than 200 characters', field: 'reason', values: longerThan(200) }, optionalUuidCase('customer_id')],
    stored: (sent) => ordersOf(sent.map((r) => r.id)),
  },

  // ---- payments (read only)
  'shop.payment.v1.PaymentService/GetPayment': {
    caller: shop,
    base: () => ({ orderId: randomUUID() }),
    cases: [uuidCase('order_id'), optionalUuidCase('customer_id')],
  },

  // ---- products: rows in the product database (found by the test's marker or id)
  'shop.product.v1.ProductService/CreateProduct': {
    caller: shop,
    base: (ctx) => ({ name: `Fuzz ${ctx.marker}`, description: `fuzz ${ctx.marker}`, category: `fuzz-${ctx.marker}`, price: { amountCents: 1_500n, currency: 'USD' }, quantityOnHand: 5 }),
    cases: [
      { what: 'name blank', field: 'name', values: blank },
      { what: 'name longer than 200 characters', field: 'name', values: longerThan(200) },
      { what: 'name with a NUL character', field: 'name', values: withNul, why: 'Postgres text cannot hold NUL: refused as bad input' },
      { what: 'description longer than 5000 characters', field: 'description', values: longerThan(5_000) },
      { what: 'description with a NUL character', field: 'description', values: withNul },
      { what: 'category not a slug', field: 'category', values: notASlug },
      { what: 'sku blank or longer than 64 characters', field: 'sku', values: fc.oneof(blank, longerThan(64)) },
      { what: 'sku with a NUL character', field: 'sku', values: withNul },
      { what: 'price missing', field: 'price', values: fc.constant(undefined) },
      { what: 'price.amount_cents negative or above 10^10', field: 'price.amount_cents', values: fc.oneof(negativeInt64, fc.bigInt({ min: 10_000_000_001n, max: 2n ** 53n - 1n })) },
      { what: 'price.amount_cents beyond 2^53', field: 'price.amount_cents', values: unsafeInt64 },
      { what: 'price.currency not an ISO 4217 code', field: 'price.currency', values: notCurrency },
      { what: 'quantity_on_hand negative or above 10^9', field: 'quantity_on_hand', values: fc.oneof(int32Below(0), int32Above(1_000_000_000)) },
    ],
    unfuzzed: { active: 'a bool: both values are well-formed' },
    stored: (_, ctx) => productsMarked(ctx.marker),
  },
  'shop.product.v1.ProductService/GetProduct': {
    caller: anonymous,
    base: () => ({ id: randomUUID() }),
    cases: [uuidCase('id')],
  },
  'shop.product.v1.ProductService/ListProducts': {
    caller: anonymous,
    base: () => ({ page: { pageSize: 5 } }),
    cases: [
      { what: 'page.page_size negative', field: 'page.page_size', values: int32Below(0) },
      { what: 'page.page_token not issued by the service', field: 'page.page_token', values: badPageToken },
      { what: 'min_price_cents negative', field: 'min_price_cents', values: negativeInt64 },
      { what: 'min_price_cents beyond 2^53', field: 'min_price_cents', values: unsafeInt64 },
      { what: 'max_price_cents negative', field: 'max_price_cents', values: negativeInt64, why: 'no price is negative (money.proto), as min_price_cents says' },
      { what: 'max_price_cents beyond 2^53', field: 'max_price_cents', values: unsafeInt64 },
      {
        what: 'max_price_cents below min_price_cents',
        field: 'max_price_cents',
        values: fc.tuple(fc.bigInt({ min: 1n, max: 10n ** 10n }), fc.bigInt({ min: 1n, max: 10n ** 10n })),
        at: (r, [min, d]) => ((r.minPriceCents = min), (r.maxPriceCents = min - d < 0n ? 0n : min - d)),
      },
      { what: 'search with a NUL character', field: 'search', values: withNul, expect: ['INVALID_ARGUMENT', 'OK'], why: 'a filter may match nothing or be refused' },
      { what: 'category with a NUL character', field: 'category', values: withNul, expect: ['INVALID_ARGUMENT', 'OK'], why: 'a filter may match nothing or be refused' },
      {
        what: 'search or category huge',
        field: (v) => v.field,
        // Up to 64 Ki characters: a 1 MB search costs the product service a second and more (no bound on it), which the rest of the suite would feel.
        values: fc.record({ field: fc.constantFrom('search', 'category'), text: hugeUpTo(65_537) }),
        at: (r, v) => (r[v.field] = v.text),
        expect: ['INVALID_ARGUMENT', 'OK'],
        why: 'a filter may match nothing or be refused',
      },
    ],
    unfuzzed: { active_only: 'a bool: both values are well-formed' },
  },
  'shop.product.v1.ProductService/UpdateProduct': {
    caller: shop,
    base: async (ctx) => ({ id: await ctx.victim(), product: { name: 'Renamed by fuzz' }, updateMask: { paths: ['name'] } }),
    cases: [
      uuidCase('id'),
      { what: 'update_mask names a field that cannot change', field: 'update_mask', values: fc.array(unknownMaskPath, { minLength: 1, maxLength: 3 }), at: (r, paths) => (r.updateMask = { paths }) },
      { what: 'update_mask empty', field: 'update_mask', values: fc.constant([]), at: (r, paths) => (r.updateMask = { paths }) },
      { what: 'product missing', field: 'product', values: fc.constant(undefined) },
      {
        what: 'product.name blank or longer than 200 characters (mask: name)',
        field: 'product.name',
        values: fc.oneof(blank, longerThan(200)),
        at: (r, name) => ((r.product = { name }), (r.updateMask = { paths: ['name'] })),
      },
      { what: 'product.name with a NUL character (mask: name)', field: 'product.name', values: withNul, at: (r, name) => ((r.product = { name }), (r.updateMask = { paths: ['name'] })) },
      { what: 'product.description longer than 5000 characters', field: 'product.description', values: longerThan(5_000), at: (r, description) => ((r.product = { description }), (r.updateMask = { paths: ['description'] })) },
      { what: 'product.category not a slug', field: 'product.category', values: notASlug, at: (r, category) => ((r.product = { category }), (r.updateMask = { paths: ['category'] })) },
      { what: 'product.sku longer than 64 characters', field: 'product.sku', values: longerThan(64), at: (r, sku) => ((r.product = { sku }), (r.updateMask = { paths: ['sku'] })) },
      { what: 'product.price missing (mask: price)', field: 'product.price', values: fc.constant({ name: 'x' }), at: (r, product) => ((r.product = product), (r.updateMask = { paths: ['price'] })) },
      {
        what: 'product.price.amount_cents negative',
        field: 'product.price.amount_cents',
        values: negativeInt64,
        at: (r, amountCents) => ((r.product = { price: { amountCents, currency: 'USD' } }), (r.updateMask = { paths: ['price'] })),
      },
      {
        what: 'product.price.currency not an ISO 4217 code',
        field: 'product.price.currency',
        values: notCurrency,
        at: (r, currency) => ((r.product = { price: { amountCents: 100n, currency } }), (r.updateMask = { paths: ['price'] })),
      },
      {
        what: 'product.quantity_on_hand negative',
        field: 'product.quantity_on_hand',
        values: int32Below(0),
        at: (r, quantityOnHand) => ((r.product = { quantityOnHand }), (r.updateMask = { paths: ['quantity_on_hand'] })),
      },
      { ...versionCases('expected_revision')[0]!, why: 'revisions start at 1: a negative one is malformed, not a conflict (ABORTED)' },
      versionCases('expected_revision')[1]!,
    ],
    stored: (_, ctx) => victimUntouched(ctx),
  },
  'shop.product.v1.ProductService/DeleteProduct': {
    caller: shop,
    base: async (ctx) => ({ id: await ctx.victim() }),
    cases: [uuidCase('id'), { ...versionCases('expected_revision')[0]!, why: 'revisions start at 1: a negative one is malformed, not a conflict (ABORTED)' }, versionCases('expected_revision')[1]!],
    stored: (_, ctx) => victimUntouched(ctx),
  },
  'shop.product.v1.ProductService/BatchGetProducts': {
    caller: anonymous,
    base: (ctx) => ({ ids: [ctx.product] }),
    cases: [
      { what: 'more than 500 ids', field: 'ids', values: fc.integer({ min: 501, max: 700 }).map((n) => Array.from({ length: n }, () => randomUUID())) },
      { what: 'an id not a UUID', field: (v) => `ids[${v.at}]`, values: fc.tuple(fc.array(fc.uuid(), { maxLength: 4 }), fc.nat(), notUuid).map(([ids, k, bad]) => { const at = k % (ids.length + 1); ids.splice(at, 0, bad); return { at, ids }; }), at: (r, v) => (r.ids = v.ids) },
    ],
  },
  'shop.product.v1.ProductService/ReserveStock': {
    caller: shop,
    base: (ctx) => ({ orderId: randomUUID(), lines: lines(ctx.product) }),
    cases: [
      uuidCase('order_id'),
      { what: 'lines empty', field: 'lines', values: fc.constant([]) },
      { what: 'a line’s product_id not a UUID', field: (v) => `lines[${v.at}].product_id`, values: linesWithBad(notUuid, (_, productId) => ({ productId, quantity: 1 })), at: (r, v) => (r.lines = v.lines) },
      {
        what: 'a line’s quantity below 1 or above 10^9',
        field: (v) => `lines[${v.at}].quantity`,
        values: linesWithBad(fc.oneof(int32Below(1), int32Above(1_000_000_000)), (_, quantity, good) => ({ ...good, quantity })),
        at: (r, v) => (r.lines = v.lines),
      },
      { what: 'a product in two lines', field: (v) => `lines[${v.at}].product_id`, values: linesWithRepeat, at: (r, v) => (r.lines = v.lines) },
      { what: 'expire_time in the past', field: 'expire_time', values: fc.bigInt({ min: 0n, max: 10n ** 9n }).map((ago) => ({ seconds: secondsNow() - ago })) },
      { what: 'expire_time beyond any date', field: 'expire_time', values: timestampOutOfRange.map((seconds) => ({ seconds })) },
    ],
    stored: (sent) => reservationsOf(sent.map((r) => r.orderId)),
  },
  'shop.product.v1.ProductService/ReleaseStock': {
    caller: shop,
    base: () => ({ orderId: randomUUID() }),
    cases: [uuidCase('order_id')],
    stored: (sent) => reservationsOf(sent.map((r) => r.orderId)),
  },
  'shop.product.v1.ProductService/CommitStock': {
    caller: shop,
    base: () => ({ orderId: randomUUID() }),
    cases: [uuidCase('order_id')],
    stored: (sent) => reservationsOf(sent.map((r) => r.orderId)),
  },
  'shop.product.v1.ProductService/RestockProduct': {
    caller: shop,
    base: async (ctx) => ({ id: await ctx.victim(), quantity: 5 }),
    cases: [
      uuidCase('id'),
      { what: 'quantity below 1 or above 10^6', field: 'quantity', values: fc.oneof(int32Below(1), int32Above(1_000_000)) },
      { ...versionCases('expected_revision')[0]!, why: 'revisions start at 1: a negative one is malformed, not a conflict (ABORTED)' },
      versionCases('expected_revision')[1]!,
    ],
    stored: (_, ctx) => victimUntouched(ctx),
  },

  // ---- reports (read only)
  'shop.reports.v1.ReportService/GetSalesReport': {
    caller: shop,
    base: () => ({ fromDate: day(0), toDate: day(30), top: 0 }),
    cases: [
      { what: 'from_date not a day', field: 'from_date', values: notADay },
      { what: 'to_date not a day', field: 'to_date', values: notADay },
      { what: 'to_date before from_date', field: 'to_date', values: fc.tuple(fc.integer({ min: 0, max: 3_000 }), fc.integer({ min: 1, max: 3_000 })), at: (r, [a, d]) => ((r.fromDate = day(a)), (r.toDate = day(a - d))) },
      { what: 'range longer than 366 days', field: 'to_date', values: fc.tuple(fc.integer({ min: -3_000, max: 3_000 }), fc.integer({ min: 367, max: 5_000 })), at: (r, [a, d]) => ((r.fromDate = day(a)), (r.toDate = day(a + d))) },
      { what: 'top negative or above 100', field: 'top', values: fc.oneof(int32Below(0), int32Above(100)) },
    ],
  },

  // ---- users, command side: claims (user_uniqueness) and the user's event stream
  'shop.user.v1.UserCommandService/RegisterUser': {
    caller: anonymous,
    base: () => {
      const username = `fz${hex(6)}`;
      return { username, email: `${username}@example.com`, password: 'correct horse battery staple', displayName: '' };
    },
    cases: [
      { what: 'username not 3-32 of [a-z0-9_.-]', field: 'username', values: badUsername },
      { what: 'email not an address or longer than 254', field: 'email', values: badEmail },
      { what: 'email with a NUL character', field: 'email', values: withNul.map((s) => `${s.replaceAll('@', '')}@example.com`) },
      { what: 'password shorter than 10 or longer than 128', field: 'password', values: badPassword },
      { what: 'display_name longer than 100 characters', field: 'display_name', values: longerThan(100) },
      { what: 'display_name with a NUL character', field: 'display_name', values: withNul, why: 'the user read model (Postgres text) cannot hold it: refused as bad input' },
    ],
    stored: (sent) => usernameClaims(sent.map((r) => r.username)),
  },
  'shop.user.v1.UserCommandService/Authenticate': {
    caller: anonymous,
    base: () => ({ login: `fz${hex(6)}`, password: 'not the password at all' }),
    cases: [
      { what: 'login empty', field: 'login', values: fc.constant('') },
      { what: 'password empty', field: 'password', values: fc.constant('') },
      { what: 'login only white space', field: 'login', values: blank.filter((s) => s !== ''), expect: ['INVALID_ARGUMENT', 'UNAUTHENTICATED'], why: 'may be refused as empty or be an unknown login', runs: 5 },
      { what: 'login with a NUL character', field: 'login', values: withNul, expect: ['INVALID_ARGUMENT', 'UNAUTHENTICATED'], why: 'no account has it: refused or unknown', runs: 8 },
      { what: 'login huge', field: 'login', values: hugeText, expect: ['INVALID_ARGUMENT', 'UNAUTHENTICATED'], why: 'no account has it: refused or unknown', runs: 5 },
    ],
  },
  'shop.user.v1.UserCommandService/RefreshToken': {
    caller: anonymous,
    base: () => ({ refreshToken: hex(16) }),
    cases: [
      { what: 'refresh_token empty', field: 'refresh_token', values: fc.constant('') },
      { what: 'refresh_token garbage', field: 'refresh_token', values: fc.oneof(anyText(80).filter((s) => s !== ''), hugeText, withNul), expect: ['UNAUTHENTICATED', 'INVALID_ARGUMENT'], why: 'an opaque token: one that does not work is UNAUTHENTICATED (the contract)' },
    ],
  },
  'shop.user.v1.UserCommandService/UpdateProfile': {
    caller: async (ctx) => asCustomer((await ctx.user()).id),
    base: async (ctx) => ({ userId: (await ctx.user()).id, displayName: 'Ada L.' }),
    cases: [
      uuidCase('user_id'),
      { what: 'display_name blank or longer than 100 characters', field: 'display_name', values: fc.oneof(blank, longerThan(100)) },
      { what: 'display_name with a NUL character', field: 'display_name', values: withNul, why: 'the user read model (Postgres text) cannot hold it' },
      {
        what: 'a shipping_address field missing, too long or (country_code) not ISO 3166-1',
        field: (v) => `shipping_address.${v.field}`,
        values: fc.oneof(
          fc.record({ field: fc.constantFrom(...requiredAddressFields), value: blank }),
          fc.record({ field: fc.constantFrom(...addressFields), value: longerThan(200, 20_000) }),
          fc.record({ field: fc.constant('country_code'), value: notCountry }),
        ),
        at: (r, v) => {
          r.shippingAddress = goodAddress();
          setPath(r, `shipping_address.${v.field}`, v.value);
        },
      },
      {
        what: 'a shipping_address field with a NUL character',
        field: (v) => `shipping_address.${v.field}`,
        values: fc.record({ field: fc.constantFrom(...addressFields.filter((f) => f !== 'country_code')), value: withNul }),
        at: (r, v) => {
          r.shippingAddress = goodAddress();
          setPath(r, `shipping_address.${v.field}`, v.value);
        },
        why: 'the user read model (Postgres text) cannot hold it',
      },
      ...versionCases('expected_version'),
    ],
    stored: (_, ctx) => userUntouched(ctx),
  },
  'shop.user.v1.UserCommandService/ChangePassword': {
    caller: async (ctx) => asCustomer((await ctx.user()).id),
    base: async (ctx) => ({ userId: (await ctx.user()).id, currentPassword: (await ctx.user()).password, newPassword: 'another good password' }),
    cases: [
      uuidCase('user_id'),
      { what: 'current_password empty', field: 'current_password', values: fc.constant('') },
      { what: 'new_password shorter than 10 or longer than 128', field: 'new_password', values: badPassword },
    ],
    stored: (_, ctx) => userUntouched(ctx),
  },
  'shop.user.v1.UserCommandService/RequestEmailVerification': {
    caller: shop,
    base: () => ({ userId: randomUUID() }),
    cases: [uuidCase('user_id')],
    stored: (sent) => userEvents(sent.map((r) => r.userId)),
  },
  'shop.user.v1.UserCommandService/VerifyEmail': {
    caller: anonymous,
    base: () => ({ userId: randomUUID(), token: hex(16) }),
    cases: [uuidCase('user_id'), { what: 'token empty', field: 'token', values: fc.constant('') }],
    stored: (sent) => userEvents(sent.map((r) => r.userId)),
  },
  'shop.user.v1.UserCommandService/DeleteAccount': {
    caller: shop,
    base: () => ({ userId: randomUUID() }),
    cases: [uuidCase('user_id')],
    stored: (sent) => userEvents(sent.map((r) => r.userId)),
  },
  'shop.user.v1.UserCommandService/GetJwks': {
    caller: anonymous,
    base: () => ({}),
    cases: [junkHeadersOnly('the keys', 'GetJwksRequest')],
  },
  'shop.user.v1.UserCommandService/ListRevocations': {
    caller: shop,
    base: () => ({}),
    cases: [{ what: 'since beyond any date', field: 'since', values: timestampOutOfRange.map((seconds) => ({ seconds })) }],
  },

  // ---- users, query side
  'shop.user.v1.UserQueryService/GetUser': {
    caller: shop,
    base: () => ({ userId: randomUUID(), minVersion: 0n }),
    cases: [uuidCase('user_id'), ...versionCases('min_version')],
  },
  'shop.user.v1.UserQueryService/GetUserByUsername': {
    caller: shop,
    base: () => ({ username: `fz${hex(6)}` }),
    cases: [
      { what: 'username blank', field: 'username', values: blank },
      { what: 'username with a NUL character', field: 'username', values: withNul, expect: ['INVALID_ARGUMENT', 'NOT_FOUND'], why: 'no user has it: refused or not found' },
      { what: 'username huge', field: 'username', values: hugeText, expect: ['INVALID_ARGUMENT', 'NOT_FOUND'], why: 'no user has it: refused or not found' },
    ],
  },
  'shop.user.v1.UserQueryService/ListUsers': {
    caller: shop,
    base: () => ({ page: { pageSize: 5 } }),
    cases: [
      { what: 'page.page_size negative', field: 'page.page_size', values: int32Below(0) },
      { what: 'page.page_token not issued by the service', field: 'page.page_token', values: badPageToken },
      {
        what: 'page.page_token forged: a username with NUL, odd text or huge, and a UUID',
        field: 'page.page_token',
        values: forgedUserCursor,
        expect: ['INVALID_ARGUMENT', 'OK'],
        why: 'a position the cursor format allows may be read or refused, never fail the server',
      },
    ],
  },
};

// ---------------------------------------------------------------- the tests

const pace = limiter(4);

test('every method of the contract, and every field of its request, has fuzz cases', (t) => {
  const { missing, stale, uncovered } = coverage(specs, new Map([...methods].map(([name, m]) => [name, m.input.fields.map((f) => f.name)])));
  t.deepEqual(missing, [], 'methods without a fuzz case: add them to `specs`');
  t.deepEqual(stale, [], 'cases for methods the contract no longer has');
  t.deepEqual(uncovered.map(([name, field]) => `${name}: ${field}`), [], 'request fields no case breaks (or lists in `unfuzzed` with a reason)');
});

/**
 * What RegisterUser takes in, VerifyEmail must handle later: an email with a control
 * character (NUL) is refused at registration, or it is a working address to the end. The
 * verification token travels by NATS (the local stack's mail), read here as the mailer would.
 */
test('RegisterUser · an email with a NUL character → refused naming email, or verifiable later (never INTERNAL)', async (t) => {
  const calls = new ShopGrpc();
  t.teardown(() => calls.close());
  const nc = await connect({ servers: urls.nats });
  t.teardown(() => nc.close());
  const failure = await fuzz(
    fc.asyncProperty(withNul, async (local) => {
      const username = `fz${hex(6)}`;
      const email = `${local.replaceAll('@', '').replaceAll(/\s/g, '')}@example.com`;
      const registered = await calls.call(method('shop.user.v1.UserCommandService/RegisterUser'), { username, email, password: 'correct horse battery staple' }, {});
      if (!registered.ok) {
        const wrong = judgeGrpc(registered, ['INVALID_ARGUMENT'], 'email');
        if (wrong) throw finding(`RegisterUser: ${wrong}\n    email: ${brief(email)}\n    answer: ${show(registered)}`);
        return;
      }
      const userId = (registered.response as { userId: string }).userId;
      fixtures.leftBehind({ user: userId });
      const mail = nc.subscribe(subjects.email(userId), { max: 1 });
      await nc.flush();
      const requested = await calls.call(method('shop.user.v1.UserCommandService/RequestEmailVerification'), { userId }, await asCustomer(userId));
      if (!requested.ok) throw finding(`RegisterUser accepted ${brief(email)}; RequestEmailVerification answered ${show(requested)}`);
      let token = '';
      for await (const m of mail) token = (m.json() as { token: string }).token;
      const verified = await calls.call(method('shop.user.v1.UserCommandService/VerifyEmail'), { userId, token }, await asCustomer(userId));
      if (!verified.ok) throw finding(`RegisterUser accepted ${brief(email)} (stored in the user's stream); VerifyEmail with the mailed token answered ${show(verified)}`);
    }),
    3,
  ).then(
    () => undefined,
    (err: unknown) => err,
  );
  if (failure) t.fail(failure instanceof Error ? failure.message : String(failure));
  else t.pass();
});

for (const [name, spec] of Object.entries(specs)) {
  for (const c of spec.cases) {
    const expected = c.expect ?? ['INVALID_ARGUMENT'];
    test(caseTitle(name.split('.').pop()!, c, expected), async (t) => {
      const ctx = await fixtures.context();
      const calls = new ShopGrpc();
      t.teardown(() => calls.close());
      await runCase(t, ctx, spec, c, {
        names: 'proto',
        pace,
        attempt: async (request, value, field) => {
          const out = await calls.call(method(name), request, { ...(await spec.caller(ctx)), ...(c.metadata?.(value) ?? {}) });
          if (out.ok) {
            const made = out.response as { product?: { id?: string }; userId?: string };
            fixtures.leftBehind({ product: made.product?.id, user: made.userId });
          }
          const wrong = judgeGrpc(out, expected, field);
          return wrong && `${wrong}\n    request: ${brief(request)}\n    answer:  ${show(out)}`;
        },
      });
    });
  }
}
