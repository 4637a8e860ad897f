import test from 'ava';
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import fc from 'fast-check';
import { urls } from '@shop/tools/topology';
import { admin, bearer } from './shop.js';
import { anyText, badEmail, badPassword, badUsername, blank, hugeUpTo, int32Above, int32Below, longerThan, notASlug, notCountry, notCurrency, notUuid, withNul } from './fuzz/arbitraries.js';
import { fuzzFixtures, hex, userUntouched, victimUntouched, type Ctx } from './fuzz/fixtures.js';
import { setPath } from './fuzz/paths.js';
import { caseTitle, coverage, limiter, runCase, type Case as FuzzCase, type Spec } from './fuzz/runner.js';
import { cartEvents, ordersOf, productsMarked, usernameClaims } from './fuzz/stores.js';
import { asCustomer } from './fuzz/tokens.js';
import { brief, clip, internals, within } from './fuzz/verdicts.js';

/**
 * Property-based input fuzzing of every GraphQL mutation of the BFF, through the Envoy
 * edge as any client sends it (issue 10, part E): each malformed argument is answered
 * BAD_USER_INPUT naming it (`extensions.field` and the message's first word; or, for a
 * value GraphQL itself refuses, a message naming the variable and the field), nothing is
 * stored for it, nothing answers INTERNAL_SERVER_ERROR, and no answer shows a stack
 * trace, SQL or a file of the server.
 *
 * The mutations and their arguments come from the running schema (introspection is on in
 * the local stack): a mutation or an argument without a fuzz case fails the first test,
 * and every required argument and required input field, null or missing, is tried from
 * the schema itself. Where an input is well-formed but refers to nothing, the case says
 * which code is right instead (`expect`, `why`). Request bodies stay under the edge's
 * 64 KiB, and the file keeps a few requests in flight at a time (the edge's per-client
 * bucket is shared by the whole suite); a 429 is waited out, never judged.
 */

type Vars = Record<string, any>;

interface Case extends FuzzCase<Vars> {
  /** Headers of the request instead of the mutation's, from the value (malformed credentials). */
  headers?: (value: any) => Record<string, string>;
  /** Another document, from the value (an argument the mutation does not have). */
  document?: (value: any) => string;
}

interface MutationFuzz extends Spec<Vars, Case> {
  /** The mutation, its variables named as its arguments. */
  document: string;
  headers: (ctx: Ctx) => Promise<Record<string, string>> | Record<string, string>;
}

// ---------------------------------------------------------------- the edge

interface Answer {
  status: number;
  text: string;
  body: { data?: Record<string, unknown> | null; errors?: Array<{ message: string; path?: unknown[]; extensions?: { code?: string; field?: string } }> } | undefined;
}

const pace = limiter(3);

/**
 * A POST to the edge. The edge's rate limit (429) is waited out, as a client would; so is
 * a service that is not there (SERVICE_UNAVAILABLE, 503: a process the stack is restarting),
 * for up to a minute: neither is an answer to the input.
 */
async function post(query: string, variables: Vars, headers: Record<string, string>): Promise<Answer> {
  const until = Date.now() + 60_000;
  for (let attempt = 0; ; attempt++) {
    const res = await fetch(urls.graphql, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify({ query, variables }) });
    const text = await res.text();
    let body: Answer['body'];
    try {
      body = JSON.parse(text);
    } catch {
      body = undefined;
    }
    const away = res.status === 429 || res.status === 503 || (body?.errors ?? []).some((e) => e.extensions?.code === 'SERVICE_UNAVAILABLE');
    if (away && Date.now() < until) {
      await sleep(Math.min(250 * (attempt + 1), 2_000));
      continue;
    }
    return { status: res.status, text, body };
  }
}

const show = (a: Answer) => clip(`HTTP ${a.status} ${a.text}`, 400);

/**
 * Does `message` name `field` (`input.price`): as its first word, as GraphQL names a
 * variable (`"$input"` … `price`), or as it names an argument (`Unknown argument "foo"`)?
 */
function names(message: string, field: string): boolean {
  if (message.startsWith(`${field}: `)) return true;
  if (/^\w+$/.test(field) && message.includes(`"${field}"`)) return true;
  const root = field.split(/[.[]/)[0]!;
  const leaf = field.replace(/\[\d+\]/g, '').split('.').pop()!;
  return message.includes(`"$${root}"`) && message.includes(leaf);
}

/** Why an answer to a malformed request is wrong, or undefined when it is right. */
function judge(a: Answer, mutation: string, expected: readonly string[], field: string): string | undefined {
  if (a.status >= 500) return `HTTP ${a.status}`;
  if (internals.test(a.text) || /"stack"|stacktrace/i.test(a.text)) return 'the answer shows server internals (a stack frame, SQL, a file of the server)';
  const errors = a.body?.errors ?? [];
  if (!a.body) return `not a GraphQL answer (HTTP ${a.status})`;
  if (errors.length === 0) return expected.includes('OK') ? undefined : `no error: the mutation answered ${clip(JSON.stringify(a.body.data))}`;
  if (a.body.data?.[mutation] != null) return 'an error, and data of the mutation too';
  for (const e of errors) {
    const code = e.extensions?.code ?? '(no code)';
    if (code === 'INTERNAL_SERVER_ERROR') return `INTERNAL_SERVER_ERROR: "${e.message}"`;
    if (!expected.includes(code)) return `${code} ("${clip(e.message, 200)}"), expected ${expected.join(' or ')}`;
    if (code === 'UNAUTHENTICATED' && a.status !== 200 && a.status !== 401) return `UNAUTHENTICATED with HTTP ${a.status}`;
    if (code === 'BAD_USER_INPUT' || code === 'GRAPHQL_VALIDATION_FAILED') {
      const named = e.extensions?.field;
      if (named !== undefined && !within(named, field)) return `${code} names the field "${named}", expected "${field}"`;
      if (!names(e.message, named ?? field)) return `${code} does not name "${field}": "${clip(e.message, 200)}"`;
    }
  }
  return undefined;
}

// ---------------------------------------------------------------- fixtures

const fixtures = fuzzFixtures(test);

/** A product or user a mutation made (wrongly, for a malformed request): to be removed at the end. */
const leftBehind = (data: Record<string, any> | null | undefined) =>
  fixtures.leftBehind({ product: data?.createProduct?.id, user: data?.register?.user?.id ?? data?.registerUser?.user?._id });

/** A signed-in customer nobody else is (a token of the local stack for a fresh user id). */
const someCustomer = () => asCustomer(randomUUID());
const customerOf = (userId: string) => asCustomer(userId);
const anonymous = () => ({});

// ---------------------------------------------------------------- malformed values

/** The edge takes 64 KiB bodies: long text stays below. */
const tooLong = (max: number) => longerThan(max, 20_001);
const uuidCase = (field: string): Case => ({ what: `${field} not a UUID`, field, values: notUuid.filter((s) => s.length < 20_000) });
/** Int arguments: GraphQL refuses non-integers and values beyond 32 bits itself (naming the variable), the services the rest. */
/** Not a whole number of cents (the Cents scalar: 0 to 2^53 − 1, a JSON number). */
const notCents = fc.oneof(
  fc.double({ noNaN: true, noDefaultInfinity: true }).filter((d) => !Number.isInteger(d)),
  fc.constantFrom(2 ** 53, 1e300, '1', 'one', true, [1], { n: 1 }),
);
const notAnInt = fc.oneof(fc.double({ noNaN: true, noDefaultInfinity: true }).filter((d) => !Number.isInteger(d)), fc.constantFrom(2 ** 31, -(2 ** 31) - 1, 1e15, '1', 'one', true, [1], { n: 1 }));
const goodAddress = () => ({ recipient: 'Ada Lovelace', line1: '1 Analytical St', city: 'London', postalCode: 'N1', countryCode: 'GB' });
/** Printable junk for an Authorization header, JWT-shaped or not. */
const badToken = fc.oneof(
  fc.string({ minLength: 1, maxLength: 60 }).filter((s) => s.trim() !== ''),
  fc.tuple(fc.base64String({ maxLength: 40 }), fc.base64String({ maxLength: 80 }), fc.base64String({ maxLength: 80 })).map((p) => p.join('.').replaceAll('=', '')),
  fc.constantFrom('eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.', 'a.b.c', '...'),
);
/** A GraphQL name (not `__`-prefixed: those are the schema's own). */
const graphqlName = fc.stringMatching(/^[A-Za-z][_0-9A-Za-z]{0,20}$/);
const productLines = (n: number, productId: string) => Array.from({ length: n }, (_, i) => ({ _id: i === 0 ? productId : randomUUID(), quantity: 1 }));

/** The cases of an argument-less mutation: credentials that do not verify, and arguments it has not. */
const noArguments = (mutation: string): Case[] => [
  {
    what: 'an Authorization that is no access token',
    field: '',
    values: badToken,
    headers: (token) => bearer(token),
    at: () => undefined,
    expect: ['UNAUTHENTICATED'],
    why: 'no argument to break: the credentials are the only input (the edge refuses them, 401)',
  },
  {
    what: 'an argument it does not have',
    field: (name) => name,
    values: graphqlName,
    document: (name) => `mutation { ${mutation}(${name}: 1) }`,
    at: () => undefined,
    expect: ['GRAPHQL_VALIDATION_FAILED', 'BAD_USER_INPUT'],
    why: 'a document error, refused before anything runs',
  },
];

// ---------------------------------------------------------------- every mutation

const specs: Record<string, MutationFuzz> = {
  // ---- catalog (admin key)
  createProduct: {
    document: 'mutation ($input: CreateProductInput) { createProduct(input: $input) { id } }',
    headers: () => admin,
    base: (ctx) => ({ input: { name: `Fuzz ${ctx.marker}`, price: 1_500, quantity: 5, category: `fuzz-${ctx.marker}`, description: `fuzz ${ctx.marker}` } }),
    cases: [
      { what: 'input missing', field: 'input', values: fc.constantFrom(null, undefined) },
      { what: 'input.name blank or longer than 200', field: 'input.name', values: fc.oneof(blank, tooLong(200)) },
      { what: 'input.name with a NUL character', field: 'input.name', values: withNul },
      { what: 'input.price negative or not a whole number of cents', field: 'input.price', values: fc.oneof(int32Below(0), notCents) },
      { what: 'input.quantity negative or not an Int', field: 'input.quantity', values: fc.oneof(int32Below(0), notAnInt) },
      { what: 'input.category not a slug', field: 'input.category', values: notASlug.filter((s) => s !== '') },
      { what: 'input.sku blank (not empty) or longer than 64', field: 'input.sku', values: fc.oneof(blank.filter((s) => s !== ''), tooLong(64)) },
      { what: 'input.currency not an ISO 4217 code', field: 'input.currency', values: notCurrency },
      { what: 'input.description longer than 5000', field: 'input.description', values: tooLong(5_000) },
      { what: 'input.description with a NUL character', field: 'input.description', values: withNul },
      { what: 'input with a field CreateProductInput has not', field: (v) => `input.${v}`, values: graphqlName.filter((n) => !['name', 'price', 'quantity', 'description', 'category', 'sku', 'currency'].includes(n)), at: (vars, v) => (vars.input[v] = 1) },
    ],
    stored: (_, ctx) => productsMarked(ctx.marker),
  },
  updateProduct: {
    document: 'mutation ($id: ID!, $input: UpdateProductInput!, $expectedRevision: Int) { updateProduct(id: $id, input: $input, expectedRevision: $expectedRevision) { id revision } }',
    headers: () => admin,
    base: async (ctx) => ({ id: await ctx.victim(), input: { name: 'Renamed by fuzz' } }),
    cases: [
      uuidCase('id'),
      { what: 'input names no field to change', field: 'input', values: fc.constantFrom({}, { name: null }, { price: null, active: null }) },
      { what: 'input.name blank or longer than 200', field: 'input.name', values: fc.oneof(blank, tooLong(200)), at: (v, name) => (v.input = { name }) },
      { what: 'input.name with a NUL character', field: 'input.name', values: withNul, at: (v, name) => (v.input = { name }) },
      { what: 'input.price negative', field: 'input.price', values: int32Below(0), at: (v, price) => (v.input = { price }) },
      { what: 'input.currency not an ISO 4217 code', field: 'input.currency', values: notCurrency, at: (v, currency) => (v.input = { currency }) },
      { what: 'input.category not a slug', field: 'input.category', values: notASlug.filter((s) => s !== ''), at: (v, category) => (v.input = { category }) },
      { what: 'input.sku longer than 64', field: 'input.sku', values: tooLong(64), at: (v, sku) => (v.input = { sku }) },
      { what: 'input.description longer than 5000', field: 'input.description', values: tooLong(5_000), at: (v, description) => (v.input = { description }) },
      { what: 'expectedRevision negative', field: 'expectedRevision', values: int32Below(0), why: 'revisions start at 1: malformed, not a conflict' },
    ],
    unfuzzed: {},
    stored: (_, ctx) => victimUntouched(ctx),
  },
  deleteProduct: {
    document: 'mutation ($id: ID!, $expectedRevision: Int) { deleteProduct(id: $id, expectedRevision: $expectedRevision) }',
    headers: () => admin,
    base: async (ctx) => ({ id: await ctx.victim() }),
    cases: [uuidCase('id'), { what: 'expectedRevision negative', field: 'expectedRevision', values: int32Below(0), why: 'revisions start at 1: malformed, not a conflict' }],
    stored: (_, ctx) => victimUntouched(ctx),
  },
  restock: {
    document: 'mutation ($productId: ID!, $quantity: Int!, $expectedRevision: Int) { restock(productId: $productId, quantity: $quantity, expectedRevision: $expectedRevision) { id revision } }',
    headers: () => admin,
    base: async (ctx) => ({ productId: await ctx.victim(), quantity: 5 }),
    cases: [
      uuidCase('productId'),
      { what: 'quantity below 1, above 10^6 or not an Int', field: 'quantity', values: fc.oneof(int32Below(1), int32Above(1_000_000), notAnInt) },
      { what: 'expectedRevision negative', field: 'expectedRevision', values: int32Below(0), why: 'revisions start at 1: malformed, not a conflict' },
    ],
    stored: (_, ctx) => victimUntouched(ctx),
  },

  // ---- the cart (anyone holding the id of an anonymous cart)
  addToCart: {
    document: 'mutation ($cartId: ID!, $productId: ID!, $quantity: Int) { addToCart(cartId: $cartId, productId: $productId, quantity: $quantity) { version } }',
    headers: anonymous,
    base: (ctx) => ({ cartId: randomUUID(), productId: ctx.product, quantity: 1 }),
    cases: [uuidCase('cartId'), uuidCase('productId'), { what: 'quantity below 1, above 99, null or not an Int', field: 'quantity', values: fc.oneof(int32Below(1), int32Above(99), fc.constant(null), notAnInt) }],
    stored: (sent) => cartEvents(sent.map((v) => v.cartId)),
  },
  removeFromCart: {
    document: 'mutation ($cartId: ID!, $productId: ID!) { removeFromCart(cartId: $cartId, productId: $productId) { version } }',
    headers: anonymous,
    base: () => ({ cartId: randomUUID(), productId: randomUUID() }),
    cases: [uuidCase('cartId'), uuidCase('productId')],
    stored: (sent) => cartEvents(sent.map((v) => v.cartId)),
  },
  changeCartItemQuantity: {
    document: 'mutation ($cartId: ID!, $productId: ID!, $quantity: Int!) { changeCartItemQuantity(cartId: $cartId, productId: $productId, quantity: $quantity) { version } }',
    headers: anonymous,
    base: () => ({ cartId: randomUUID(), productId: randomUUID(), quantity: 2 }),
    cases: [uuidCase('cartId'), uuidCase('productId'), { what: 'quantity below 0, above 99 or not an Int', field: 'quantity', values: fc.oneof(int32Below(0), int32Above(99), notAnInt) }],
    stored: (sent) => cartEvents(sent.map((v) => v.cartId)),
  },
  resetCart: {
    document: 'mutation ($cartId: ID!) { resetCart(cartId: $cartId) { version } }',
    headers: anonymous,
    base: () => ({ cartId: randomUUID() }),
    cases: [uuidCase('cartId')],
    stored: (sent) => cartEvents(sent.map((v) => v.cartId)),
  },
  checkOut: {
    document: 'mutation ($cartId: ID!, $expectedTotal: Cents) { checkOut(cartId: $cartId, expectedTotal: $expectedTotal) { orderId } }',
    headers: () => someCustomer(),
    base: () => ({ cartId: randomUUID() }),
    cases: [
      uuidCase('cartId'),
      {
        what: 'expectedTotal negative, fractional, beyond 2^53 or not a number',
        field: 'expectedTotal',
        values: fc.oneof(fc.integer({ max: -1 }), fc.double({ min: 0, max: 1e6, noNaN: true }).filter((d) => !Number.isInteger(d)), fc.constantFrom(2 ** 53, 1e300, -0.5, '12', true, [1])),
      },
    ],
    stored: (sent) => cartEvents(sent.map((v) => v.cartId)),
  },

  // ---- users
  register: {
    document: 'mutation ($input: RegisterInput!) { register(input: $input) { accessToken user { id } } }',
    headers: anonymous,
    base: () => {
      const username = `fz${hex(6)}`;
      return { input: { username, email: `${username}@example.com`, password: 'correct horse battery staple' } };
    },
    cases: [
      { what: 'input.username not 3-32 of [a-z0-9_.-]', field: 'input.username', values: badUsername },
      { what: 'input.email not an address or longer than 254', field: 'input.email', values: badEmail },
      { what: 'input.password shorter than 10 or longer than 128', field: 'input.password', values: badPassword },
      { what: 'input.displayName longer than 100', field: 'input.displayName', values: tooLong(100) },
      { what: 'input.email with a NUL character', field: 'input.email', values: withNul.map((s) => `${s.replaceAll('@', '').replaceAll(/\s/g, '')}@example.com`), why: 'not an address; stored, it fails verification later' },
      { what: 'input.displayName with a NUL character', field: 'input.displayName', values: withNul, why: 'the user read model (Postgres text) cannot hold it' },
    ],
    stored: (sent) => usernameClaims(sent.map((v) => v.input?.username)),
  },
  registerUser: {
    document: 'mutation ($input: RegisterUserInput) { registerUser(input: $input) { access_token user { _id } } }',
    headers: anonymous,
    base: () => ({ input: { username: `fz${hex(6)}`, password: 'correct horse battery staple' } }),
    cases: [
      { what: 'input missing', field: 'input', values: fc.constantFrom(null, undefined) },
      { what: 'input.username not 3-32 of [a-z0-9_.-]', field: 'input.username', values: badUsername },
      { what: 'input.password shorter than 10 or longer than 128', field: 'input.password', values: badPassword },
    ],
    stored: (sent) => usernameClaims(sent.map((v) => v.input?.username)),
  },
  login: {
    document: 'mutation ($login: String!, $password: String!, $cartId: ID) { login(login: $login, password: $password, cartId: $cartId) { accessToken } }',
    headers: anonymous,
    base: () => ({ login: `fz${hex(6)}`, password: 'not the password at all' }),
    cases: [
      { what: 'login empty', field: 'login', values: fc.constant('') },
      { what: 'password empty', field: 'password', values: fc.constant('') },
      { what: 'cartId given but not a UUID', field: 'cartId', values: notUuid.filter((s) => s.length < 20_000) },
      { what: 'login with a NUL character', field: 'login', values: withNul, expect: ['UNAUTHENTICATED', 'BAD_USER_INPUT'], why: 'no account has it: refused or a failed sign-in', runs: 8 },
    ],
  },
  refreshToken: {
    document: 'mutation ($refreshToken: String!) { refreshToken(refreshToken: $refreshToken) { accessToken } }',
    headers: anonymous,
    base: () => ({ refreshToken: hex(16) }),
    cases: [
      { what: 'refreshToken empty', field: 'refreshToken', values: fc.constant('') },
      { what: 'refreshToken garbage', field: 'refreshToken', values: fc.oneof(anyText(60).filter((s) => s !== ''), hugeUpTo(20_001), withNul), expect: ['UNAUTHENTICATED', 'BAD_USER_INPUT'], why: 'an opaque token that does not work is UNAUTHENTICATED' },
    ],
  },
  updateProfile: {
    document: 'mutation ($input: UpdateProfileInput!) { updateProfile(input: $input) { version } }',
    headers: async (ctx) => customerOf((await ctx.user()).id),
    base: () => ({ input: { displayName: 'Ada L.' } }),
    cases: [
      { what: 'input.displayName blank or longer than 100', field: 'input.displayName', values: fc.oneof(blank, tooLong(100)) },
      { what: 'input.displayName with a NUL character', field: 'input.displayName', values: withNul, why: 'the user read model (Postgres text) cannot hold it' },
      {
        what: 'an input.shippingAddress field missing, too long or (countryCode) not ISO 3166-1',
        field: (v) => `input.shippingAddress.${v.field}`,
        values: fc.oneof(
          fc.record({ field: fc.constantFrom('recipient', 'line1', 'city', 'postalCode'), value: blank }),
          fc.record({ field: fc.constantFrom('recipient', 'line1', 'line2', 'city', 'region', 'postalCode', 'countryCode'), value: tooLong(200) }),
          fc.record({ field: fc.constant('countryCode'), value: notCountry }),
        ),
        at: (vars, v) => {
          vars.input = { shippingAddress: { ...goodAddress(), [v.field]: v.value } };
        },
      },
      {
        what: 'an input.shippingAddress field with a NUL character',
        field: (v) => `input.shippingAddress.${v.field}`,
        values: fc.record({ field: fc.constantFrom('recipient', 'line1', 'line2', 'city', 'region', 'postalCode'), value: withNul }),
        at: (vars, v) => {
          vars.input = { shippingAddress: { ...goodAddress(), [v.field]: v.value } };
        },
        why: 'the user read model (Postgres text) cannot hold it',
      },
    ],
    stored: (_, ctx) => userUntouched(ctx),
  },
  changePassword: {
    document: 'mutation ($currentPassword: String!, $newPassword: String!) { changePassword(currentPassword: $currentPassword, newPassword: $newPassword) }',
    headers: async (ctx) => customerOf((await ctx.user()).id),
    base: async (ctx) => ({ currentPassword: (await ctx.user()).password, newPassword: 'another good password' }),
    cases: [
      { what: 'currentPassword empty', field: 'currentPassword', values: fc.constant('') },
      { what: 'newPassword shorter than 10 or longer than 128', field: 'newPassword', values: badPassword },
    ],
    stored: (_, ctx) => userUntouched(ctx),
  },
  requestEmailVerification: {
    document: 'mutation { requestEmailVerification }',
    headers: () => someCustomer(),
    base: () => ({}),
    cases: noArguments('requestEmailVerification'),
  },
  verifyEmail: {
    document: 'mutation ($token: String!) { verifyEmail(token: $token) { version } }',
    headers: async (ctx) => customerOf((await ctx.user()).id),
    base: () => ({ token: hex(16) }),
    cases: [
      { what: 'token empty', field: 'token', values: fc.constant('') },
      {
        what: 'token garbage',
        field: 'token',
        values: fc.oneof(anyText(60).filter((s) => s !== ''), hugeUpTo(20_001), withNul),
        expect: ['FAILED_PRECONDITION', 'BAD_USER_INPUT'],
        why: 'a token that does not match is FAILED_PRECONDITION (the contract), one answer for every wrong token',
        runs: 10,
      },
    ],
    stored: (_, ctx) => userUntouched(ctx),
  },
  deleteAccount: {
    document: 'mutation { deleteAccount }',
    // Never a valid token here: a well-formed request would delete the account.
    headers: () => ({}),
    base: () => ({}),
    cases: noArguments('deleteAccount'),
  },

  // ---- orders (a signed-in customer)
  placeOrder: {
    document: 'mutation ($products: [OrderProductInput]) { placeOrder(products: $products) { id } }',
    headers: (ctx) => customerOf(ctx.customer),
    base: (ctx) => ({ products: productLines(1, ctx.product) }),
    cases: [
      { what: 'products missing or empty', field: 'products', values: fc.constantFrom(null, undefined, []) },
      { what: 'more than 50 products', field: 'products', values: fc.integer({ min: 51, max: 70 }), at: (v, n) => (v.products = productLines(n, randomUUID())) },
      { what: 'a product null', field: (v) => `products[${v}]`, values: fc.nat({ max: 3 }), at: (v, i) => ((v.products = productLines(4, v.products[0]._id)), (v.products[i] = null)) },
      { what: 'a product’s _id not a UUID', field: (v) => `products[${v.i}]._id`, values: fc.record({ i: fc.nat({ max: 3 }), id: notUuid.filter((s) => s.length < 20_000) }), at: (v, x) => ((v.products = productLines(4, v.products[0]._id)), (v.products[x.i]._id = x.id)) },
      {
        what: 'a product’s quantity below 1, above 99 or not an Int',
        field: (v) => `products[${v.i}].quantity`,
        values: fc.record({ i: fc.nat({ max: 3 }), q: fc.oneof(int32Below(1), int32Above(99), notAnInt) }),
        at: (v, x) => ((v.products = productLines(4, v.products[0]._id)), (v.products[x.i].quantity = x.q)),
      },
      {
        what: 'a product twice',
        field: (v) => `products[${v.n}]._id`,
        values: fc.record({ n: fc.integer({ min: 1, max: 3 }), from: fc.nat(), upper: fc.boolean() }),
        at: (v, x) => {
          const ps = productLines(x.n, v.products[0]._id);
          const again = ps[x.from % x.n]!._id;
          v.products = [...ps, { _id: x.upper ? again.toUpperCase() : again, quantity: 1 }];
        },
      },
    ],
    stored: (_, ctx) => ordersOf([], [ctx.customer]),
  },
  cancelOrder: {
    document: 'mutation ($id: ID!, $reason: String) { cancelOrder(id: $id, reason: $reason) { id } }',
    headers: () => someCustomer(),
    base: () => ({ id: randomUUID() }),
    cases: [uuidCase('id'), { what: 'reason longer than 200', field: 'reason', values: tooLong(200) }],
    stored: (sent) => ordersOf(sent.map((v) => v.id)),
  },
};

// ---------------------------------------------------------------- the schema

interface TypeRef {
  kind: string;
  name: string | null;
  ofType: TypeRef | null;
}
interface InputValue {
  name: string;
  type: TypeRef;
}
interface Schema {
  mutations: Array<{ name: string; args: InputValue[]; type: TypeRef }>;
  inputs: Map<string, InputValue[]>;
}

const typeRef = 'kind name ofType { kind name ofType { kind name ofType { kind name } } }';
let schema: Promise<Schema> | undefined;

/** The running schema's mutations and input types (introspection, on in the local stack). */
function introspect(): Promise<Schema> {
  schema ??= post(
    `{ __schema { mutationType { fields { name type { ${typeRef} } args { name type { ${typeRef} } } } }
       types { kind name inputFields { name type { ${typeRef} } } } } }`,
    {},
    {},
  ).then((a) => {
    const s = (a.body?.data as any)?.__schema;
    if (!s) throw new Error(`introspection failed: ${show(a)}`);
    return {
      mutations: s.mutationType.fields,
      inputs: new Map((s.types as Array<{ kind: string; name: string; inputFields: InputValue[] }>).filter((t) => t.kind === 'INPUT_OBJECT').map((t) => [t.name, t.inputFields])),
    };
  });
  return schema;
}

const named = (t: TypeRef): TypeRef => (t.ofType ? named(t.ofType) : t);
const typeString = (t: TypeRef): string => (t.kind === 'NON_NULL' ? `${typeString(t.ofType!)}!` : t.kind === 'LIST' ? `[${typeString(t.ofType!)}]` : t.name!);

// ---------------------------------------------------------------- the tests

test('every mutation of the schema, and every argument, has fuzz cases', async (t) => {
  const { mutations } = await introspect();
  const { missing, stale, uncovered } = coverage(specs, new Map(mutations.map((m) => [m.name, m.args.map((a) => a.name)])));
  t.deepEqual(missing, [], 'mutations without a fuzz case: add them to `specs`');
  t.deepEqual(stale, [], 'cases for mutations the schema no longer has');
  t.deepEqual(uncovered.map(([name, arg]) => `${name}(${arg})`), [], 'arguments no case breaks (or lists in `unfuzzed` with a reason)');
});

test('every required argument and required input field, null or missing → BAD_USER_INPUT naming it (from the schema)', async (t) => {
  const { mutations, inputs } = await introspect();
  const tried: string[] = [];
  const wrong: string[] = [];
  for (const m of mutations) {
    const spec = specs[m.name];
    if (!spec || m.args.length === 0) continue;
    const ctx = await fixtures.context();
    const selection = ['OBJECT', 'INTERFACE', 'UNION'].includes(named(m.type).kind) ? ' { __typename }' : '';
    const document = `mutation (${m.args.map((a) => `$${a.name}: ${typeString(a.type)}`).join(', ')}) { ${m.name}(${m.args.map((a) => `${a.name}: $${a.name}`).join(', ')})${selection} }`;
    // Required arguments, and the required fields of input-object arguments (one level: the schema has no deeper required ones).
    const paths = m.args.flatMap((a) => {
      const list = (a.type.kind === 'NON_NULL' ? a.type.ofType! : a.type).kind === 'LIST';
      return [
        ...(a.type.kind === 'NON_NULL' ? [a.name] : []),
        ...(inputs.get(named(a.type).name ?? '') ?? []).filter((f) => f.type.kind === 'NON_NULL').map((f) => `${a.name}${list ? '[0]' : ''}.${f.name}`),
      ];
    });
    for (const path of paths) {
      for (const missing of [null, undefined]) {
        const vars = await spec.base(ctx);
        const root = path.split(/[.[]/)[0]!;
        if (path !== root && vars[root] == null) vars[root] = path.includes('[') ? [{}] : {};
        setPath(vars, path, missing, 'as-is');
        const a = await pace(async () => post(document, vars, await spec.headers(ctx)));
        tried.push(`${m.name}: ${path} ${missing === null ? 'null' : 'missing'}`);
        const why = judge(a, m.name, ['BAD_USER_INPUT'], path);
        if (why) wrong.push(`${m.name}: ${path} ${missing === null ? 'null' : 'missing'}: ${why} — ${show(a)}`);
      }
    }
  }
  t.true(tried.length > 20, `tried ${tried.length}`);
  t.deepEqual(wrong, [], `${wrong.length} of ${tried.length} answers`);
});

for (const [name, spec] of Object.entries(specs)) {
  for (const c of spec.cases) {
    const expected = c.expect ?? ['BAD_USER_INPUT'];
    test(caseTitle(name, c, expected), async (t) => {
      const ctx = await fixtures.context();
      await runCase(t, ctx, spec, c, {
        names: 'as-is',
        attempt: async (vars, value, field) => {
          const document = c.document?.(value) ?? spec.document;
          const a = await pace(async () => post(document, vars, c.headers?.(value) ?? (await spec.headers(ctx))));
          leftBehind(a.body?.data);
          const wrong = judge(a, name, expected, field);
          return wrong && `${wrong}\n    variables: ${brief(vars)}\n    answer:    ${show(a)}`;
        },
      });
    });
  }
}
