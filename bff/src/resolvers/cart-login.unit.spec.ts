import test from 'ava';
import { CartStatus, type Cart } from '@shop/contracts/shop/cart/v1/cart';
import { ConcurrencyError, IllegalStateError, NotFoundError, UnavailableError, ValidationError } from '@shop/platform/errors';
import type { Clients } from '../clients/index.js';
import { gql, testApp } from '../test-fixtures.js';

/**
 * Login with the anonymous cart the client was using (cart-login.ts), through createApp
 * with an in-memory cart service that keeps the cart service's own rule (a line holds 1 to
 * 99), its optimistic concurrency (resetCart at an expected version) and its idempotency
 * keys (an addItem under a request id the cart has recorded is not applied again).
 */
const alice = '0196a3c0-0000-7000-8000-00000000a11c';
const bob = '0196a3c0-0000-7000-8000-0000000000b0';
const anonymousId = '0196a3c0-0000-7000-8000-0000000000c1';
const alicesCartId = '0196a3c0-0000-7000-8000-0000000000c2';
const [p1, p2, p3] = ['0196a3c0-0000-7000-8000-0000000000d1', '0196a3c0-0000-7000-8000-0000000000d2', '0196a3c0-0000-7000-8000-0000000000d3'];
const accessToken = `token-of-${alice}`;

interface StoredCart {
  customerId: string;
  lines: Map<string, number>;
  version: number;
  requestIds: Set<string>;
}

/** The cart services (command and query) over one map; every call is recorded with its metadata. */
function cartService(initial: Record<string, { customerId?: string; lines: Record<string, number> }>) {
  const carts = new Map<string, StoredCart>(
    Object.entries(initial).map(([id, c]) => [id, { customerId: c.customerId ?? '', lines: new Map(Object.entries(c.lines)), version: Object.keys(c.lines).length, requestIds: new Set() }]),
  );
  const calls: Array<{ method: string; request: Record<string, unknown>; authorization: string | undefined }> = [];
  /** Fails the addItem of this product; `afterCommit` fails it once it is applied (a timeout on the answer). */
  const failAddItem: { productId?: string; error?: Error; afterCommit?: boolean } = {};
  /** Runs while an addItem is being merged (another tab of the same shopper, say). */
  const duringMerge: { run?: () => void } = {};
  const record = (method: string, request: Record<string, unknown>, options?: { metadata?: Record<string, string> }) =>
    calls.push({ method, request, authorization: options?.metadata?.authorization });
  const view = (id: string, c: StoredCart): Cart => ({
    id,
    customerId: c.customerId,
    status: CartStatus.CART_STATUS_ACTIVE,
    lines: [...c.lines].map(([productId, quantity]) => ({ productId, productName: `product ${productId.slice(-2)}`, quantity, unitPrice: { amountCents: 100, currency: 'USD' } })),
    total: { amountCents: [...c.lines.values()].reduce((n, q) => n + 100 * q, 0), currency: 'USD' },
    version: c.version,
  });
  const stored = (cartId: string) => {
    const c = carts.get(cartId);
    if (!c) throw new NotFoundError('cart', cartId);
    return c;
  };
  const cartQuery = {
    getCart: async (req: { cartId: string }, options?: { metadata?: Record<string, string> }) => {
      record('getCart', req, options);
      const c = stored(req.cartId);
      return { cart: view(req.cartId, c), version: c.version, stale: false };
    },
    getCustomerCart: async (req: { customerId: string }, options?: { metadata?: Record<string, string> }) => {
      record('getCustomerCart', req, options);
      const found = [...carts].find(([, c]) => c.customerId === req.customerId);
      if (!found) throw new NotFoundError('cart of customer', req.customerId);
      return { cart: view(...found) };
    },
  } as unknown as Clients['cartQuery'];
  const cartCommand = {
    addItem: async (req: { cartId: string; productId: string; quantity: number; requestId?: string }, options?: { metadata?: Record<string, string> }) => {
      record('addItem', req, options);
      duringMerge.run?.();
      const failing = failAddItem.productId === req.productId;
      if (failing && !failAddItem.afterCommit) throw failAddItem.error;
      const c = stored(req.cartId);
      if (req.requestId !== undefined && c.requestIds.has(req.requestId)) return { result: { version: c.version, position: '0' } };
      const quantity = (c.lines.get(req.productId) ?? 0) + req.quantity;
      if (req.quantity < 1 || quantity > 99) throw new ValidationError('quantity', 'a line holds 1 to 99');
      c.lines.set(req.productId, quantity);
      if (req.requestId !== undefined) c.requestIds.add(req.requestId);
      c.version++;
      if (failing) throw failAddItem.error;
      return { result: { version: c.version, position: '0' } };
    },
    assignCustomer: async (req: { cartId: string; customerId: string }, options?: { metadata?: Record<string, string> }) => {
      record('assignCustomer', req, options);
      const c = stored(req.cartId);
      c.customerId = req.customerId;
      return { result: { version: ++c.version, position: '0' } };
    },
    resetCart: async (req: { cartId: string; expectedVersion?: number }, options?: { metadata?: Record<string, string> }) => {
      record('resetCart', req, options);
      const c = stored(req.cartId);
      if (req.expectedVersion !== undefined && req.expectedVersion !== c.version) throw new ConcurrencyError(`cart ${req.cartId} is at version ${c.version}`);
      c.lines.clear();
      return { result: { version: ++c.version, position: '0' } };
    },
  } as unknown as Clients['cartCommand'];
  const userCommand = {
    authenticate: async () => ({ accessToken, refreshToken: 'refresh', expiresIn: 900, userId: alice }),
  } as unknown as Clients['userCommand'];
  const userQuery = {
    getUser: async () => ({ user: { id: alice, username: 'alice', email: '', emailVerified: false, displayName: '' }, version: 1, stale: false }),
  } as unknown as Clients['userQuery'];
  const app = testApp({ cartQuery, cartCommand, userCommand, userQuery });
  const lines = (cartId: string) => Object.fromEntries(carts.get(cartId)?.lines ?? []);
  const writes = () => calls.filter((c) => ['addItem', 'assignCustomer', 'resetCart'].includes(c.method));
  return { app, carts, calls, writes, lines, failAddItem, duringMerge };
}

const login = `mutation ($cartId: ID) { login(login: "alice", password: "correct horse battery", cartId: $cartId) {
  accessToken user { id } cart { id customerId itemCount lines { productId quantity } } } }`;

test('a customer without a cart of their own gets the anonymous cart, assigned to them', async (t) => {
  const shop = cartService({ [anonymousId]: { lines: { [p1]: 2 } } });
  const res = await gql(shop.app, login, { cartId: anonymousId });
  t.deepEqual(res.data?.login.cart, { id: anonymousId, customerId: alice, itemCount: 2, lines: [{ productId: p1, quantity: 2 }] });
  t.deepEqual(shop.writes().map((c) => [c.method, c.request]), [['assignCustomer', { cartId: anonymousId, customerId: alice }]]);
});

test('a customer with a cart gets the anonymous lines merged into it (quantities summed) and the anonymous cart emptied', async (t) => {
  const shop = cartService({ [alicesCartId]: { customerId: alice, lines: { [p1]: 2 } }, [anonymousId]: { lines: { [p1]: 3, [p2]: 1 } } });
  const res = await gql(shop.app, login, { cartId: anonymousId });
  t.is(res.data?.login.cart.id, alicesCartId);
  t.deepEqual(res.data?.login.cart.lines, [{ productId: p1, quantity: 5 }, { productId: p2, quantity: 1 }]);
  t.deepEqual(shop.lines(anonymousId), {}, 'the anonymous cart is emptied');
  t.deepEqual(shop.lines(alicesCartId), { [p1]: 5, [p2]: 1 });
});

test('a merged line stops at 99, the most a line holds; a line already full is left alone', async (t) => {
  const shop = cartService({ [alicesCartId]: { customerId: alice, lines: { [p1]: 60, [p2]: 99 } }, [anonymousId]: { lines: { [p1]: 50, [p2]: 5, [p3]: 99 } } });
  const res = await gql(shop.app, login, { cartId: anonymousId });
  t.deepEqual(res.data?.login.cart.lines, [{ productId: p1, quantity: 99 }, { productId: p2, quantity: 99 }, { productId: p3, quantity: 99 }]);
  t.deepEqual(
    shop.calls.filter((c) => c.method === 'addItem').map((c) => c.request),
    [
      { cartId: alicesCartId, productId: p1, quantity: 39, requestId: `merge:${anonymousId}@3:${p1}` },
      { cartId: alicesCartId, productId: p3, quantity: 99, requestId: `merge:${anonymousId}@3:${p3}` },
    ],
    'only what fits is added; nothing is asked for the full line',
  );
  t.deepEqual(shop.lines(anonymousId), {});
});

test('every cart call of the merge goes with the access token the login just issued', async (t) => {
  const shop = cartService({ [alicesCartId]: { customerId: alice, lines: { [p1]: 1 } }, [anonymousId]: { lines: { [p2]: 1 } } });
  await gql(shop.app, login, { cartId: anonymousId });
  t.true(shop.calls.length >= 4);
  t.deepEqual(new Set(shop.calls.map((c) => c.authorization)), new Set([`Bearer ${accessToken}`]));
});

test('a line that cannot be merged fails the login with its code, and the anonymous cart keeps every line', async (t) => {
  const shop = cartService({ [alicesCartId]: { customerId: alice, lines: { [p1]: 1 } }, [anonymousId]: { lines: { [p1]: 1, [p2]: 2, [p3]: 3 } } });
  shop.failAddItem.productId = p2;
  shop.failAddItem.error = new IllegalStateError(`product ${p2} is not for sale`);
  const res = await gql(shop.app, login, { cartId: anonymousId });
  t.like(res.errors?.[0], { message: `product ${p2} is not for sale`, extensions: { code: 'FAILED_PRECONDITION' } });
  t.deepEqual(shop.lines(anonymousId), { [p1]: 1, [p2]: 2, [p3]: 3 }, 'nothing of the anonymous cart is lost');
  t.false(shop.calls.some((c) => c.method === 'resetCart'));
});

test('a login that failed after some lines were merged (a timeout on an answer) and is retried merges each line once', async (t) => {
  const shop = cartService({ [alicesCartId]: { customerId: alice, lines: { [p1]: 1 } }, [anonymousId]: { lines: { [p1]: 2, [p2]: 3, [p3]: 4 } } });
  Object.assign(shop.failAddItem, { productId: p2, afterCommit: true, error: new UnavailableError('deadline exceeded') });
  const failed = await gql(shop.app, login, { cartId: anonymousId });
  t.is(failed.errors?.[0]?.extensions?.code, 'SERVICE_UNAVAILABLE');
  t.deepEqual(shop.lines(alicesCartId), { [p1]: 3, [p2]: 3 }, 'p1 and p2 were merged before the failure');
  shop.failAddItem.productId = undefined;
  const retried = await gql(shop.app, login, { cartId: anonymousId });
  t.is(retried.errors, undefined, JSON.stringify(retried.errors));
  t.deepEqual(retried.data?.login.cart.lines, [{ productId: p1, quantity: 3 }, { productId: p2, quantity: 3 }, { productId: p3, quantity: 4 }]);
  t.deepEqual(shop.lines(anonymousId), {});
  const keys = shop.calls.filter((c) => c.method === 'addItem').map((c) => c.request.requestId);
  t.deepEqual(keys, [p1, p2, p1, p2, p3].map((p) => `merge:${anonymousId}@3:${p}`), 'the retry sends the same request ids');
});

test('a line added to the anonymous cart during the merge makes the login CONFLICT instead of being lost', async (t) => {
  const shop = cartService({ [alicesCartId]: { customerId: alice, lines: { [p1]: 1 } }, [anonymousId]: { lines: { [p1]: 1 } } });
  shop.duringMerge.run = () => {
    const anonymous = shop.carts.get(anonymousId)!;
    if (!anonymous.lines.has(p3)) {
      anonymous.lines.set(p3, 1);
      anonymous.version++;
    }
  };
  const res = await gql(shop.app, login, { cartId: anonymousId });
  t.is(res.errors?.[0]?.extensions?.code, 'CONFLICT');
  t.is(shop.lines(anonymousId)[p3], 1, 'the line added meanwhile is still there');
});

test("someone else's cart given at login is FORBIDDEN, and neither cart is touched", async (t) => {
  const shop = cartService({ [alicesCartId]: { customerId: alice, lines: { [p1]: 1 } }, [anonymousId]: { customerId: bob, lines: { [p2]: 4 } } });
  const res = await gql(shop.app, login, { cartId: anonymousId });
  t.is(res.errors?.[0]?.extensions?.code, 'FORBIDDEN');
  t.deepEqual(shop.writes(), []);
  t.deepEqual(shop.lines(anonymousId), { [p2]: 4 });
});

test('without a cartId, login answers the cart the customer already had (or null), and writes nothing', async (t) => {
  const shop = cartService({ [alicesCartId]: { customerId: alice, lines: { [p1]: 3 } } });
  const res = await gql(shop.app, login);
  t.like(res.data?.login.cart, { id: alicesCartId, itemCount: 3 });
  const none = await gql(cartService({}).app, login);
  t.is(none.data?.login.cart, null);
  t.truthy(none.data?.login.accessToken);
  t.deepEqual(shop.writes(), []);
});
