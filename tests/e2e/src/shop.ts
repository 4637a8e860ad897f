import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { adminApiKey } from '@shop/tools/apps';
import { gql } from './graphql.js';

/** A shopper's and an admin's moves through the GraphQL edge, shared by the buying tests. */
export const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
export const admin = { 'x-api-key': adminApiKey };

export async function signUp(): Promise<{ id: string; token: string }> {
  const username = `b${randomUUID().replaceAll('-', '').slice(0, 12)}`;
  const res = await gql(`mutation ($i: RegisterInput!) { register(input: $i) { accessToken user { id } } }`, { i: { username, password: `pw-${randomUUID()}` } });
  if (res.errors) throw new Error(JSON.stringify(res.errors));
  return { id: res.data.register.user.id, token: res.data.register.accessToken };
}

export async function newProduct(name: string, price: number, quantity: number): Promise<string> {
  const res = await gql(`mutation ($i: CreateProductInput) { createProduct(input: $i) { id } }`, { i: { name, price, quantity, category: 'e2e-checkout' } }, admin);
  if (res.errors) throw new Error(JSON.stringify(res.errors));
  return res.data.createProduct.id;
}

export async function stockOf(id: string): Promise<{ quantity: number; available: number }> {
  const res = await gql(`query ($id: ID!) { product(id: $id) { quantity available } }`, { id });
  return res.data.product;
}

export const orderFields = `id _id userId status statusReason total currency cartId checkoutId revision
  products { _id quantity } lines { productId productName quantity unitPrice lineTotal }
  statusHistory { status at reason }`;

export async function order(token: string, id: string) {
  const res = await gql(`query ($id: ID!) { order(id: $id) { ${orderFields} } }`, { id }, bearer(token));
  if (res.errors) throw new Error(JSON.stringify(res.errors));
  return res.data.order;
}

/** Polls the order until it is CONFIRMED, FAILED or CANCELLED. */
export async function settled(token: string, id: string, timeoutMs = 60_000) {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const o = await order(token, id);
    if (o && ['CONFIRMED', 'FAILED', 'CANCELLED'].includes(o.status)) return o;
    if (Date.now() > until) throw new Error(`order ${id} still ${o?.status ?? 'missing'} after ${timeoutMs} ms`);
    await sleep(100);
  }
}

export async function fillCart(token: string, lines: Array<[string, number]>): Promise<string> {
  const cartId = randomUUID();
  for (const [productId, quantity] of lines) {
    const res = await gql(`mutation ($c: ID!, $p: ID!, $q: Int) { addToCart(cartId: $c, productId: $p, quantity: $q) { version } }`, { c: cartId, p: productId, q: quantity }, bearer(token));
    if (res.errors) throw new Error(JSON.stringify(res.errors));
  }
  return cartId;
}

export const checkOut = (token: string | undefined, cartId: string, expectedTotal?: number) =>
  gql(
    `mutation ($c: ID!, $e: Cents) { checkOut(cartId: $c, expectedTotal: $e) { checkoutId orderId total currency version lines { productId quantity unitPrice } } }`,
    { c: cartId, ...(expectedTotal === undefined ? {} : { e: expectedTotal }) },
    token ? bearer(token) : {},
  );


/**
 * Waits until every one of `ids` (orders of the same customer) is CONFIRMED, FAILED or
 * CANCELLED, reading the customer's order list a page at a time: a handful of requests per
 * round however many orders there are.
 */
export async function settledAll(token: string, ids: string[], timeoutMs = 120_000): Promise<any[]> {
  const wanted = new Set(ids);
  const until = Date.now() + timeoutMs;
  for (;;) {
    const seen = new Map<string, any>();
    let after: string | null = null;
    do {
      const res: any = await gql(`query ($after: String) { orderPage(first: 100, after: $after) { items { ${orderFields} } nextCursor } }`, { after }, bearer(token));
      if (res.errors) throw new Error(JSON.stringify(res.errors));
      for (const o of res.data.orderPage.items) if (wanted.has(o.id)) seen.set(o.id, o);
      after = res.data.orderPage.nextCursor;
    } while (after);
    const open = ids.filter((id) => !['CONFIRMED', 'FAILED', 'CANCELLED'].includes(seen.get(id)?.status));
    if (open.length === 0) return ids.map((id) => seen.get(id));
    if (Date.now() > until) throw new Error(`${open.length} of ${ids.length} orders not settled after ${timeoutMs} ms, e.g. ${open[0]}: ${seen.get(open[0]!)?.status ?? 'missing'}`);
    await sleep(500);
  }
}

/** `count` calls of `fn`, at most `width` at a time, results in order. */
export async function inBatches<T>(count: number, width: number, fn: (i: number) => Promise<T>): Promise<T[]> {
  const out: T[] = [];
  for (let i = 0; i < count; i += width) out.push(...(await Promise.all(Array.from({ length: Math.min(width, count - i) }, (_, j) => fn(i + j)))));
  return out;
}
