/**
 * Shoppers through the public API, at a steady rate (open loop), as the edge sees them:
 *
 *   baseline  GraphQL `products(first: 100) { id name }` (api-path's query: the edge, the BFF
 *             and its product cache, nothing else) at the same rate, from the same shoppers'
 *             addresses, BENCH_MIX_BASELINE_SECONDS (10) → p50/p99
 *   measured  BENCH_MIX_RATE requests/s (40) for BENCH_MIX_SECONDS (30), each operation drawn
 *             from the mix and sent by a shopper free to do it:
 *               browse      40%  productPage(first: 20), a shopper pages on through a category or the whole catalog
 *               search      20%  products(filter: { search }, first: 20), a word of a product name
 *               product     15%  product(id)
 *               addToCart   15%  addToCart, one unit of one of 20 bench products
 *               changeCart   5%  changeCartItemQuantity or removeFromCart of a line in the cart
 *               checkOut     5%  checkOut of a non-empty cart (registered shoppers only)
 *             → p50/p99 and count per operation, errors by operation and code, the ratio of
 *             each operation's p99 to the baseline's, and a chart of p50/p99 per operation
 *             over time (bench/results/shopper-mix.png, .svg beside it).
 *
 * BENCH_MIX_SHOPPERS (100) virtual shoppers, BENCH_MIX_REGISTERED (50) of them registered at
 * setup (the `register` mutation, usernames `bench-mix-<12 hex>`; each deletes its account
 * with `deleteAccount` at the end, best effort, failures counted), the others anonymous: an
 * anonymous cart is any cart id a client picks, which whoever holds the id may change, but
 * `checkOut` needs a customer (UNAUTHENTICATED without a token). Each shopper has its own loopback address and keep-alive
 * connection (graphqlClient): the edge limits requests per client address, and the load must
 * not measure that limit. A shopper has one request in flight at a time, as a person clicking
 * does (and two writes to one cart at once would measure the cart's conflicts); at most
 * BENCH_MIX_MAX_IN_FLIGHT (64) requests are in flight in all: a request due while that many
 * are open is skipped and counted, never queued. Every request gives up after 10 s.
 *
 * The draws (operation, shopper, product, search word, category) come from a generator seeded
 * by BENCH_SEED (fixed by default), so that a mix can be repeated; which shopper is free when
 * still depends on the answers' timing.
 *
 * Also sampled, every 2 s during the mix: the resident memory of every stack process, from
 * its own /metrics (process_resident_memory_bytes), for the peak under a shopper's load.
 *
 * No target (the issue asks for the benchmark only): figures are printed, never judged.
 *
 * Run: node --import tsx bench/shopper-mix.ts (the stack up), or npm run bench -- shopper-mix.
 */
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { adminApiKey } from '@shop/tools/apps';
import { urls } from '@shop/tools/topology';
import { processes } from '../tools/catalog/catalog.js';
import { writeLatencyChart, type LatencySeries } from './lib/chart.js';
import { banner, busyCores, cpuSnapshot, machineInfoSampled, processCores, repoRoot, resultsDir, waitUntilSettled, writeResult, type SummaryRow } from './lib/results.js';
import { graphqlClient, openLoop, scrapeMetrics, waitForReady, type GraphQLAnswer, type GraphQLSend } from './lib/stack.js';
import { distribution, fmtMs, fmtNum, fmtRatio, nowMs, ratio, round, roundDist, type Distribution } from './lib/stats.js';
import { knob, MAX_RATE, MAX_SECONDS } from './lib/knobs.js';
import { mulberry32 } from './lib/random.js';

const RATE = knob('BENCH_MIX_RATE', 40, { min: 1, max: MAX_RATE });
const SECONDS = knob('BENCH_MIX_SECONDS', 30, { min: 1, max: MAX_SECONDS });
const BASELINE_SECONDS = knob('BENCH_MIX_BASELINE_SECONDS', 10, { max: MAX_SECONDS });
/**
 * graphqlClient gives worker w the address 127.0.0.(2 + w % 250): 250 addresses, the first
 * (worker 0) the admin client's. Shopper i is worker i + 1, so 249 shoppers are as many as
 * can each have an address of their own; one more would share the admin's, two more would
 * share one another's (and the edge's per-address limit).
 */
const MAX_SHOPPERS = 249;
const SHOPPERS = knob('BENCH_MIX_SHOPPERS', 100, { min: 1, max: MAX_SHOPPERS, integer: true });
const REGISTERED = knob('BENCH_MIX_REGISTERED', Math.min(50, SHOPPERS), { max: SHOPPERS, integer: true });
const MAX_IN_FLIGHT = knob('BENCH_MIX_MAX_IN_FLIGHT', 64, { min: 1, integer: true });
const WINDOW_SECONDS = knob('BENCH_MIX_WINDOW_SECONDS', 2, { min: 1, max: MAX_SECONDS });
/** Seeds the mix's draws (operations, shoppers, products, words): the same seed, the same sequence of choices. */
const SEED = knob('BENCH_SEED', 20_240_601, { min: 0, max: 2 ** 32 - 1, integer: true });
const REQUEST_TIMEOUT_MS = 10_000;
const RSS_EVERY_MS = 2_000;
const PAGE = 20;
const CART_PRODUCTS = 20;
const MAX_CART_LINES = 10;
/** The bench's own products, for carts: found by this SKU prefix, created once. */
const SKU_PREFIX = 'BENCH-MIX-';
/** The catalog shoppers view, search and browse: its first products, at most this many (5 pages of 100). */
const CATALOG_LIMIT = 500;
/** Pages of 100 read at most for it: a server that answers short pages (or the same cursor again) cannot keep the setup reading. */
const CATALOG_MAX_PAGES = 10;
/** Every registered shopper's username starts with this: recognisable as the bench's, should a deletion fail. */
const USERNAME_PREFIX = 'bench-mix-';
/** Search words: a product name's words of at least this many letters ("of", "and", "for" would match nearly everything). */
const MIN_SEARCH_WORD = 4;
/**
 * Shoppers set up at once: each registration hashes a password (argon2, tens of ms of CPU),
 * and user-command refuses those beyond its queue (PASSWORD_HASH_QUEUE, 64 by default); ten
 * at a time stays far below it and still sets up 100 shoppers in seconds.
 */
const SETUP_BATCH = 10;
/** Every process a shopper's request reaches (checkOut: order, then payment), all ready before anything is sent. */
const PROCESSES = ['bff', 'product', 'cart-command', 'cart-projector', 'cart-query', 'user-command', 'user-query', 'order', 'payment'];

const MIX = [
  ['browse', 0.4],
  ['search', 0.2],
  ['product', 0.15],
  ['addToCart', 0.15],
  ['changeCart', 0.05],
  ['checkOut', 0.05],
] as const;
type Op = (typeof MIX)[number][0];
const OPS: Op[] = MIX.map(([op]) => op);

interface Shopper {
  send: GraphQLSend;
  registered: boolean;
  /** The account registered at setup, until deleted at the end. */
  account?: { username: string };
  headers: Record<string, string>;
  cartId: string;
  /** The cart as this shopper last saw it: product → quantity. */
  lines: Map<string, number>;
  browse: { category: string | null; cursor: string | null };
  busy: boolean;
}

/** One request of the mix (or of the baseline): when it was sent, how long it took, how it failed. */
interface Sample {
  op: Op | 'baseline';
  registered: boolean;
  atSeconds: number;
  ms: number;
  /** GraphQL `extensions.code`, `HTTP <status>`, or the network error's code; absent on success. */
  code?: string;
  /** A cart write answered before the read model had it (`stale: true`). */
  stale?: boolean;
}

const random = mulberry32(SEED);
const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;

/** What failed in an answer: the first GraphQL error's code, else the HTTP status; undefined for a success. */
function failure(answer: GraphQLAnswer): string | undefined {
  const errors = answer.body?.errors;
  if (errors?.length) return errors[0]?.extensions?.code ?? 'GRAPHQL_ERROR_WITHOUT_CODE';
  if (answer.status !== 200) return `HTTP ${answer.status}`;
  if (!answer.body?.data) return 'NO_DATA';
  return undefined;
}

async function must<T>(answer: Promise<GraphQLAnswer>, what: string): Promise<T> {
  const a = await answer;
  const code = failure(a);
  if (code) throw new Error(`${what}: ${code}${describeErrors(a)}`);
  return a.body!.data as T;
}

/**
 * The GraphQL errors of an answer, code and message, for an error text: never its `data` nor
 * its raw body (a `register` answered with data and errors would show its accessToken).
 */
function describeErrors(answer: GraphQLAnswer): string {
  const errors = answer.body?.errors ?? [];
  if (errors.length === 0) return answer.body ? '' : ` (HTTP ${answer.status}, not a GraphQL answer)`;
  const shown = errors.slice(0, 3).map((e) => `${e.extensions?.code ?? 'no code'}: ${(e.message ?? '').slice(0, 200)}`);
  return ` (${shown.join('; ')}${errors.length > shown.length ? `; ${errors.length - shown.length} more` : ''})`;
}

function countBy(keys: string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const k of keys) out[k] = (out[k] ?? 0) + 1;
  return out;
}

/**
 * Samples each named process's resident memory from its own /metrics every RSS_EVERY_MS until
 * the returned function is called, which answers the peaks in MB. The stack's processes
 * report it themselves (prom-client's process_resident_memory_bytes), so the sampling costs
 * one scrape each, and no /proc reading of our own.
 */
function samplePeakRss(names: string[]): () => Promise<Record<string, number>> {
  const peak: Record<string, number> = {};
  const stop = new AbortController();
  const loop = (async () => {
    while (!stop.signal.aborted) {
      await Promise.all(
        names.map(async (name) => {
          const bytes = (await scrapeMetrics(name, ['process_resident_memory_bytes'])).process_resident_memory_bytes;
          if (bytes !== undefined) peak[name] = Math.max(peak[name] ?? 0, Math.round(bytes / 2 ** 20));
        }),
      );
      await sleep(RSS_EVERY_MS, undefined, { signal: stop.signal }).catch((err: unknown) => {
        if (!stop.signal.aborted) throw err;
      });
    }
  })();
  return async () => {
    stop.abort();
    await loop;
    return peak;
  };
}

const started = nowMs();
const machine = await machineInfoSampled();
banner(`shopper-mix: ${SHOPPERS} shoppers (${REGISTERED} registered) through the edge at ${RATE}/s for ${SECONDS}s (nproc ${machine.nproc})`);
console.log(`machine   ${machine.busyCoresBeforeStart ?? '?'} of ${machine.nproc} cores already busy before start (load avg ${machine.loadAverage.join(' ')})`);
await waitForReady(PROCESSES);

// --- setup: the products shoppers put in carts, the catalog they browse, the shoppers ---
const admin = graphqlClient(urls.graphql, 0, { timeoutMs: 30_000 });
const adminHeaders = { 'x-api-key': adminApiKey };
/**
 * Carts hold the bench's own products, found by SKU and created once with stock enough for
 * every run to come: the demo catalog's few units would run out and turn checkouts into
 * FAILED_PRECONDITION, measuring the stock, not the path. Prices are whole dollars ($6 to
 * $25), so every total is too, and never the 1,313 cents the local payment service always
 * declines (paymentDeclineAmountCents, tools/catalog/catalog.ts): a checkout is not failed
 * by its amount.
 */
async function ensureCartProducts(): Promise<string[]> {
  const found = await must<{ products: Array<{ id: string; sku: string | null }> }>(
    admin(`query ($f: ProductFilter) { products(filter: $f, first: 100) { id sku } }`, { f: { category: 'bench', search: 'Shopper mix item', activeOnly: true } }),
    'listing the bench products',
  );
  const bySku = new Map(found.products.flatMap((p) => (p.sku?.startsWith(SKU_PREFIX) ? [[p.sku, p.id] as const] : [])));
  const ids: string[] = [];
  for (let i = 1; i <= CART_PRODUCTS; i++) {
    const sku = `${SKU_PREFIX}${String(i).padStart(2, '0')}`;
    const existing = bySku.get(sku);
    if (existing) {
      ids.push(existing);
      continue;
    }
    const input = { name: `Shopper mix item ${i}`, price: 500 + i * 100, quantity: 1_000_000, category: 'bench', sku, description: 'Created by bench/shopper-mix.ts; safe to ignore.' };
    const created = await must<{ createProduct: { id: string } }>(admin(`mutation ($i: CreateProductInput) { createProduct(input: $i) { id } }`, { i: input }, adminHeaders), `creating ${sku}`);
    ids.push(created.createProduct.id);
  }
  return ids;
}

/** Up to CATALOG_LIMIT products of the catalog: what shoppers view, and the words they search for and categories they browse. */
async function readCatalog(): Promise<{ ids: string[]; words: string[]; categories: string[] }> {
  const ids: string[] = [];
  const words = new Set<string>();
  const categories = new Set<string>();
  let after: string | null = null;
  let pages = 0;
  do {
    const page: { productPage: { items: Array<{ id: string; name: string; category: string }>; nextCursor: string | null } } = await must(
      admin(`query ($a: String) { productPage(first: 100, after: $a, filter: { activeOnly: true }) { items { id name category } nextCursor } }`, { a: after }),
      'reading the catalog',
    );
    for (const p of page.productPage.items) {
      ids.push(p.id);
      categories.add(p.category);
      for (const w of p.name.toLowerCase().split(/[^a-z]+/)) if (w.length >= MIN_SEARCH_WORD) words.add(w);
    }
    after = page.productPage.nextCursor;
  } while (after && ids.length < CATALOG_LIMIT && ++pages < CATALOG_MAX_PAGES);
  return { ids, words: [...words], categories: [...categories] };
}

const cartProducts = await ensureCartProducts();
const catalog = await readCatalog();
console.log(`setup     catalog: ${catalog.ids.length} products read, ${catalog.categories.length} categories, ${catalog.words.length} search words; ${cartProducts.length} bench products for carts`);

const cartFields = 'id version stale itemCount total lines { productId productName quantity lineTotal }';
interface CartAnswer {
  version: number;
  stale: boolean;
  lines: Array<{ productId: string; quantity: number }>;
}

const shoppers: Shopper[] = Array.from({ length: SHOPPERS }, (_, index) => ({
  // Worker index + 1: address .2 is left to the admin client above.
  send: graphqlClient(urls.graphql, index + 1, { timeoutMs: REQUEST_TIMEOUT_MS }),
  registered: index < REGISTERED,
  headers: {},
  cartId: randomUUID(),
  lines: new Map(),
  browse: { category: null, cursor: null },
  busy: false,
}));

const setupStart = nowMs();
/**
 * Each registered shopper registers once, from their own address (user-command caps
 * registrations per client address); then every shopper's cart gets one line, so that
 * changes and checkouts have something to work on from the first second.
 */
/** Set once the registered shoppers' accounts are being deleted (deleteAccounts). */
let accountsCleanup: Promise<AccountCleanup> | undefined;
let signalled = false;
process.on('SIGINT', onSignal);
process.on('SIGTERM', onSignal);
for (let i = 0; i < shoppers.length; i += SETUP_BATCH) {
  // Settled, not all: every registration of the batch has ended, so that none is left out of the deletion.
  const outcomes = await Promise.allSettled(
    shoppers.slice(i, i + SETUP_BATCH).map(async (s) => {
      if (s.registered) {
        const username = `${USERNAME_PREFIX}${randomUUID().replaceAll('-', '').slice(0, 12)}`;
        const reg = await must<{ register: { accessToken: string } }>(
          s.send(`mutation ($i: RegisterInput!) { register(input: $i) { accessToken user { id } } }`, { i: { username, password: `pw-${randomUUID()}` } }),
          'registering a shopper',
        );
        s.headers = { authorization: `Bearer ${reg.register.accessToken}` };
        s.account = { username };
      }
      const productId = pick(cartProducts);
      await must(s.send(`mutation ($c: ID!, $p: ID!) { addToCart(cartId: $c, productId: $p) { version } }`, { c: s.cartId, p: productId }, s.headers), 'filling a cart');
      s.lines.set(productId, 1);
    }),
  );
  const failed = outcomes.find((o): o is PromiseRejectedResult => o.status === 'rejected');
  if (failed) {
    printAccountCleanup(await deleteAccounts());
    throw failed.reason;
  }
}
console.log(`setup     ${REGISTERED} shoppers registered, ${SHOPPERS} carts holding one line, in ${fmtNum((nowMs() - setupStart) / 1000, 1)} s`);
// The setup's writes still flow through relays, Kafka and projectors for a moment: the
// baseline and the mix start once the machine has settled (below half the cores busy, at most 10 s).
await waitUntilSettled();

interface Reactions {
  /** Returns whether the answer was stale (a cart write). */
  onSuccess?: (data: Record<string, unknown>) => boolean | void;
  onFailure?: () => void;
}

/** Sends one request for `s`, records it, and frees the shopper once the reaction to the answer is done. */
async function timed(s: Shopper, op: Sample['op'], t0: number, samples: Sample[], call: () => Promise<GraphQLAnswer>, react: Reactions = {}): Promise<void> {
  s.busy = true;
  const sent = nowMs();
  let code: string | undefined;
  let stale = false;
  try {
    const answer = await call();
    code = failure(answer);
    if (!code) stale = react.onSuccess?.(answer.body!.data!) === true;
  } catch (err) {
    code = (err as { code?: string }).code ?? 'NETWORK';
  }
  if (code) react.onFailure?.();
  s.busy = false;
  samples.push({ op, registered: s.registered, atSeconds: (sent - t0) / 1000, ms: nowMs() - sent, ...(code ? { code } : {}), ...(stale ? { stale } : {}) });
}

/** A free shopper able to do `op` (the baseline's read: anyone free), from a random starting point; undefined when there is none. */
function shopperFor(op: Sample['op']): Shopper | undefined {
  const able = (s: Shopper) => {
    if (s.busy) return false;
    if (op === 'changeCart') return s.lines.size > 0;
    if (op === 'checkOut') return s.registered && s.lines.size > 0;
    if (op === 'addToCart') return s.lines.size < MAX_CART_LINES;
    return true;
  };
  const from = Math.floor(random() * shoppers.length);
  for (let k = 0; k < shoppers.length; k++) {
    const s = shoppers[(from + k) % shoppers.length]!;
    if (able(s)) return s;
  }
  return undefined;
}

/**
 * A cart write's answer is the cart the server holds, which the shopper believes from then on;
 * a stale answer (the read model behind) does not show the write yet, so the shopper keeps
 * what it expects instead. Returns whether the answer was stale.
 */
function seeCart(s: Shopper, cart: CartAnswer): boolean {
  if (!cart.stale) s.lines = new Map(cart.lines.map((l) => [l.productId, l.quantity]));
  return cart.stale;
}

/**
 * A refused cart change leaves the shopper unsure of the cart: they start a new one, as a
 * client would, so that one refusal does not cause the next.
 */
function startOver(s: Shopper): void {
  s.cartId = randomUUID();
  s.lines = new Map();
}

/** Shopper `s` does `op`: builds its request from what the shopper knows, sends it timed, and reacts to the answer. */
function runOperation(op: Op, s: Shopper, t0: number, samples: Sample[]): Promise<void> {
  const request = (query: string, variables: Record<string, unknown>, react?: Reactions) => timed(s, op, t0, samples, () => s.send(query, variables, s.headers), react);
  const cartWrite = (query: string, variables: Record<string, unknown>, field: string, expect: (lines: Map<string, number>) => void) =>
    request(query, variables, {
      onSuccess: (data) => {
        expect(s.lines);
        return seeCart(s, data[field] as CartAnswer);
      },
      onFailure: () => startOver(s),
    });
  switch (op) {
    case 'browse': {
      // A new browsing session: half of them in one category, half through the whole catalog.
      if (s.browse.cursor === null) s.browse.category = random() < 0.5 ? pick(catalog.categories) : null;
      const filter = { activeOnly: true, ...(s.browse.category ? { category: s.browse.category } : {}) };
      return request(
        `query ($f: ProductFilter, $n: Int, $a: String) { productPage(filter: $f, first: $n, after: $a) { items { id name price currency available } nextCursor } }`,
        { f: filter, n: PAGE, a: s.browse.cursor },
        {
          onSuccess: (data) => {
            s.browse.cursor = (data.productPage as { nextCursor: string | null }).nextCursor;
          },
        },
      );
    }
    case 'search':
      return request(`query ($f: ProductFilter, $n: Int) { products(filter: $f, first: $n) { id name price currency available } }`, { f: { search: pick(catalog.words), activeOnly: true }, n: PAGE });
    case 'product':
      return request(`query ($id: ID!) { product(id: $id) { id name description category price currency available active } }`, { id: pick(catalog.ids) });
    case 'addToCart': {
      const productId = pick(cartProducts);
      return cartWrite(`mutation ($c: ID!, $p: ID!) { addToCart(cartId: $c, productId: $p) { ${cartFields} } }`, { c: s.cartId, p: productId }, 'addToCart', (lines) =>
        lines.set(productId, (lines.get(productId) ?? 0) + 1),
      );
    }
    case 'changeCart': {
      const [productId, quantity] = pick([...s.lines]);
      // Half the changes remove the line, half change its quantity (1 → 2 → 3 → 1).
      if (random() < 0.5) {
        return cartWrite(`mutation ($c: ID!, $p: ID!) { removeFromCart(cartId: $c, productId: $p) { ${cartFields} } }`, { c: s.cartId, p: productId }, 'removeFromCart', (lines) => lines.delete(productId));
      }
      const next = quantity >= 3 ? 1 : quantity + 1;
      return cartWrite(
        `mutation ($c: ID!, $p: ID!, $q: Int!) { changeCartItemQuantity(cartId: $c, productId: $p, quantity: $q) { ${cartFields} } }`,
        { c: s.cartId, p: productId, q: next },
        'changeCartItemQuantity',
        (lines) => lines.set(productId, next),
      );
    }
    case 'checkOut':
      // The cart stays checked out until the order is placed (a Kafka hop later): the shopper
      // shops on in a new cart rather than wait for that, as a client does.
      return request(`mutation ($c: ID!) { checkOut(cartId: $c) { orderId total } }`, { c: s.cartId }, { onSuccess: () => startOver(s), onFailure: () => startOver(s) });
  }
}

/** An operation drawn by the mix's weights. */
function drawOp(): Op {
  let r = random();
  for (const [op, weight] of MIX) {
    if ((r -= weight) < 0) return op;
  }
  return MIX[0][0];
}

interface AccountCleanup {
  registered: number;
  deleted: number;
  failed: number;
  /** Failures by GraphQL code, HTTP status or network error. */
  errors: Record<string, number>;
}

/**
 * Each registered shopper deletes their own account (`deleteAccount`, with their token, from
 * their own address), SETUP_BATCH at a time; once. Best effort: a failure is counted by its
 * code and reported, and the run's figures stand without it.
 */
function deleteAccounts(): Promise<AccountCleanup> {
  accountsCleanup ??= (async () => {
    const owners = shoppers.filter((s) => s.account);
    const codes: string[] = [];
    for (let i = 0; i < owners.length; i += SETUP_BATCH) {
      await Promise.all(
        owners.slice(i, i + SETUP_BATCH).map(async (s) => {
          const code = await s.send('mutation { deleteAccount }', undefined, s.headers).then(failure, (err: unknown) => (err as { code?: string }).code ?? 'NETWORK');
          if (code) codes.push(code);
          else s.account = undefined;
        }),
      );
    }
    return { registered: owners.length, deleted: owners.length - codes.length, failed: codes.length, errors: countBy(codes) };
  })();
  return accountsCleanup;
}

function printAccountCleanup(a: AccountCleanup): void {
  console.log(
    `cleanup   ${a.deleted} of ${a.registered} shopper accounts deleted (deleteAccount)` +
      (a.failed ? `; ${a.failed} FAILED ${JSON.stringify(a.errors)}: accounts ${USERNAME_PREFIX}… remain` : ''),
  );
}

/** SIGINT (Ctrl-C) or SIGTERM: the registered shoppers' accounts deleted once (every request gives up after REQUEST_TIMEOUT_MS), then exit 130. */
function onSignal(signal: NodeJS.Signals): void {
  if (signalled) {
    console.error(`cleanup   ${signal} again: still deleting the shopper accounts (each request gives up after ${REQUEST_TIMEOUT_MS / 1000} s)`);
    return;
  }
  signalled = true;
  console.error(`\ncleanup   ${signal}: stopping; deleting the shopper accounts registered so far …`);
  void deleteAccounts()
    .then(printAccountCleanup)
    .finally(() => process.exit(130));
}

// --- baseline: the bare API path (edge, BFF, product cache), same rate, same addresses ---
const baselineSamples: Sample[] = [];
const baselineT0 = nowMs();
// A request due while MAX_IN_FLIGHT are open is skipped, so nothing queues; one due while every
// shopper is busy is not sent (notSent). Every request gives up after REQUEST_TIMEOUT_MS.
const baselineLoop = await openLoop(
  RATE,
  BASELINE_SECONDS * 1000,
  () => {
    const s = shopperFor('baseline');
    return s && timed(s, 'baseline', baselineT0, baselineSamples, () => s.send('{ products(first: 100) { id name } }'));
  },
  { maxInFlight: MAX_IN_FLIGHT },
);
await baselineLoop.ended();
const baselineOk = baselineSamples.filter((b) => !b.code);
const baselineDist = distribution(baselineOk.map((b) => b.ms));
const baselineErrors = countBy(baselineSamples.filter((b) => b.code).map((b) => b.code!));
console.log(
  `baseline  products(first: 100) at ${RATE}/s for ${BASELINE_SECONDS} s: p50 ${fmtMs(baselineDist.p50)}, p99 ${fmtMs(baselineDist.p99)} over ${fmtNum(baselineDist.count)}` +
    ` (${baselineSamples.length - baselineOk.length} errors${Object.keys(baselineErrors).length ? ` ${JSON.stringify(baselineErrors)}` : ''}; skipped: ${baselineLoop.skippedAtCap} at the cap, ${baselineLoop.notSent} with every shopper busy)`,
);

// --- measured: the mix ---
const samples: Sample[] = [];
const drawn: Record<string, number> = Object.fromEntries(OPS.map((op) => [op, 0]));
const noShopper: Record<string, number> = Object.fromEntries(OPS.map((op) => [op, 0]));
const rssNames = processes().map((p) => p.name);
const rss = samplePeakRss(rssNames);
const cpuBefore = cpuSnapshot();
const generatorBefore = process.cpuUsage();
const mixT0 = nowMs();
const mixLoop = await openLoop(
  RATE,
  SECONDS * 1000,
  () => {
    const op = drawOp();
    drawn[op]!++;
    const s = shopperFor(op);
    if (!s) {
      noShopper[op]!++;
      return undefined;
    }
    return runOperation(op, s, mixT0, samples);
  },
  { maxInFlight: MAX_IN_FLIGHT },
);
await mixLoop.ended();
const mixSeconds = (nowMs() - mixT0) / 1000;
const busy = busyCores(cpuBefore, cpuSnapshot());
const generatorCores = processCores(generatorBefore, mixSeconds);
const peakRssMb = await rss();
const accounts = await deleteAccounts();

// --- report ---
interface OpFigures {
  sent: number;
  ok: number;
  latencyMs: Distribution;
  p99Ratio: number;
  errors: Record<string, number>;
  staleAnswers: number;
  byShopper: { registered: Distribution; anonymous: Distribution };
}
const figures = Object.fromEntries(
  OPS.map((op) => {
    const mine = samples.filter((x) => x.op === op);
    const ok = mine.filter((x) => !x.code);
    const d = distribution(ok.map((x) => x.ms));
    const f: OpFigures = {
      sent: mine.length,
      ok: ok.length,
      latencyMs: d,
      p99Ratio: ratio(d.p99, baselineDist.p99),
      errors: countBy(mine.filter((x) => x.code).map((x) => x.code!)),
      staleAnswers: mine.filter((x) => x.stale).length,
      byShopper: { registered: distribution(ok.filter((x) => x.registered).map((x) => x.ms)), anonymous: distribution(ok.filter((x) => !x.registered).map((x) => x.ms)) },
    };
    return [op, f];
  }),
) as Record<Op, OpFigures>;
const completed = samples.filter((x) => !x.code).length;
const errorCount = samples.length - completed;
const rateLimited = samples.filter((x) => x.code === 'TOO_MANY_REQUESTS' || x.code === 'HTTP 429').length + baselineSamples.filter((x) => x.code === 'TOO_MANY_REQUESTS' || x.code === 'HTTP 429').length;
const noShopperTotal = Object.values(noShopper).reduce((a, b) => a + b, 0);

console.log(`measured  mix at ${RATE}/s for ${SECONDS} s: ${fmtNum(mixLoop.due)} due, ${fmtNum(samples.length)} sent, ${fmtNum(completed)} answered with data (${fmtNum(completed / mixSeconds, 1)}/s), ${errorCount} errors`);
console.log(`          ${'operation'.padEnd(11)} ${'sent'.padStart(6)} ${'ok'.padStart(6)} ${'p50'.padStart(10)} ${'p99'.padStart(10)}  p99/baseline  errors`);
for (const op of OPS) {
  const f = figures[op];
  const errors = Object.entries(f.errors).map(([code, n]) => `${code} ${n}`).join(', ');
  console.log(`          ${op.padEnd(11)} ${fmtNum(f.sent).padStart(6)} ${fmtNum(f.ok).padStart(6)} ${fmtMs(f.latencyMs.p50).padStart(10)} ${fmtMs(f.latencyMs.p99).padStart(10)}  ${fmtRatio(f.p99Ratio).padStart(12)}  ${errors || '-'}`);
}
console.log(`          skipped: ${mixLoop.skippedAtCap} at the cap of ${MAX_IN_FLIGHT} in flight; ${noShopperTotal} with no free shopper able to (${JSON.stringify(noShopper)})`);
const staleTotal = samples.filter((x) => x.stale).length;
if (staleTotal > 0) console.log(`          ${staleTotal} cart writes answered stale (read model behind the write after the BFF's bounded wait)`);
if (rateLimited > 0) console.log(`WARNING   ${rateLimited} requests refused as TOO_MANY_REQUESTS (rate limit): the figures include the limit, not only the path`);
console.log(`          machine ${busy ?? '?'} cores busy during the mix; generator ${generatorCores} cores; schedule lag max ${fmtMs(mixLoop.lag.max)}`);
const largest = Object.entries(peakRssMb).sort((a, b) => b[1] - a[1]);
console.log(`          peak resident memory (MB): ${largest.map(([name, mb]) => `${name} ${mb}`).join(', ') || 'not sampled (no /metrics answered)'}`);
printAccountCleanup(accounts);

const chartFile = path.join(resultsDir, 'shopper-mix.png');
// In the result file, paths from the repository's root: an absolute path would carry the user's home directory.
const fromRepo = (file: string) => path.relative(repoRoot, file);
const series: LatencySeries[] = OPS.map((op) => ({ name: op, samples: samples.filter((x) => x.op === op && !x.code).map((x) => ({ atSeconds: x.atSeconds, ms: x.ms })) }));
const chart = await writeLatencyChart(chartFile, series, {
  title: `Shopper mix through the edge: ${RATE} requests/s, ${SHOPPERS} shoppers (${REGISTERED} registered)`,
  subtitle: [
    `p50 and p99 per operation and ${WINDOW_SECONDS} s window, of the requests answered with data`,
    `(a window's p99 over few samples is about its maximum) · baseline: GraphQL products, same rate, just before`,
    `${machine.nproc} cores, ${machine.busyCoresBeforeStart ?? '?'} busy before start, ${busy ?? '?'} during the mix · ${machine.timestamp}`,
  ],
  durationSeconds: SECONDS,
  windowSeconds: WINDOW_SECONDS,
  seriesTitle: 'operation',
  references: [
    { label: `baseline products p99 ${fmtMs(baselineDist.p99)}`, ms: baselineDist.p99 },
    { label: `baseline products p50 ${fmtMs(baselineDist.p50)}`, ms: baselineDist.p50 },
  ].filter((r) => Number.isFinite(r.ms) && r.ms > 0),
});
console.log(`chart     ${path.relative(process.cwd(), chart.png)} (and ${path.basename(chart.svg)})`);

const baselineP99 = { metric: `GraphQL products p99 at ${RATE}/s`, value: round(baselineDist.p99, 1), unit: 'ms' };
const summary: SummaryRow[] = [
  { metric: `mix answered with data (${RATE}/s offered)`, value: round(completed / mixSeconds, 1), unit: 'req/s' },
  ...OPS.map((op): SummaryRow => ({
    metric: `${op} p99 (p50 ${fmtMs(figures[op].latencyMs.p50)}, n ${figures[op].ok})`,
    value: round(figures[op].latencyMs.p99, 1),
    unit: 'ms',
    baseline: baselineP99,
    ratio: figures[op].p99Ratio,
    target: 'printed only',
  })),
  { metric: 'errors (all operations)', value: errorCount, unit: 'requests' },
  { metric: `skipped (cap ${MAX_IN_FLIGHT} in flight, or no free shopper)`, value: mixLoop.skippedAtCap + noShopperTotal, unit: 'requests' },
  ...(largest[0] ? [{ metric: `largest process RSS during the mix (${largest[0][0]})`, value: largest[0][1], unit: 'MB' }] : []),
];
const file = writeResult({
  name: 'shopper-mix',
  title: 'Shopper mix through the public GraphQL API at a steady rate',
  machine,
  startedMs: started,
  summary,
  details: {
    rate: RATE,
    seconds: SECONDS,
    baselineSeconds: BASELINE_SECONDS,
    shoppers: SHOPPERS,
    registered: REGISTERED,
    seed: SEED,
    maxInFlight: MAX_IN_FLIGHT,
    requestTimeoutMs: REQUEST_TIMEOUT_MS,
    mix: Object.fromEntries(MIX),
    drawn,
    offered: mixLoop.due,
    sent: samples.length,
    completed,
    skippedAtCap: mixLoop.skippedAtCap,
    skippedNoShopper: noShopper,
    scheduleLagMaxMs: round(mixLoop.lag.max, 1),
    rateLimited,
    baseline: { query: '{ products(first: 100) { id name } }', latencyMs: roundDist(baselineDist), errors: baselineErrors, skippedAtCap: baselineLoop.skippedAtCap, skippedNoShopper: baselineLoop.notSent },
    operations: Object.fromEntries(
      OPS.map((op) => {
        const f = figures[op];
        return [op, { ...f, latencyMs: roundDist(f.latencyMs), byShopper: { registered: roundDist(f.byShopper.registered), anonymous: roundDist(f.byShopper.anonymous) } }];
      }),
    ),
    busyCoresDuringMix: busy,
    generatorCores,
    peakRssMb,
    accounts,
    chart: { png: fromRepo(chart.png), svg: fromRepo(chart.svg), windowSeconds: WINDOW_SECONDS, points: chart.points },
  },
  notes: [
    `Open loop at ${RATE}/s; each operation's latency is of the requests answered with data (errors counted apart, by GraphQL extensions.code or HTTP status).`,
    `Anonymous shoppers browse, search, view products and add to and change their carts, but never check out: checkOut needs a signed-in customer (UNAUTHENTICATED otherwise). Every checkOut of the mix is a registered shopper's.`,
    `Ratios: each operation's p99 over the baseline's (GraphQL products through the edge, BFF cache, same rate and addresses, measured just before the mix).`,
    'Checkouts reserve and commit stock, and the product service announces every stock change (shop.catalog.changed), which drops the BFF\'s whole product-list cache: the mix\'s list pages and searches can miss the cache that the baseline hits.',
    `Peak RSS is each process's own (process_resident_memory_bytes from its /metrics, every ${RSS_EVERY_MS / 1000} s), without children; details.peakRssMb.`,
    `Chart: ${fromRepo(chart.png)} (and ${fromRepo(chart.svg)}): p50/p99 per operation per ${WINDOW_SECONDS} s window.`,
    `Clean-up: ${accounts.deleted} of ${accounts.registered} shopper accounts (${USERNAME_PREFIX}…) deleted with deleteAccount${accounts.failed ? `; ${accounts.failed} failed ${JSON.stringify(accounts.errors)} and remain` : ''}. ` +
      `Left behind by design: the orders of the mix's checkouts, the carts (anonymous ones as they were; a deleted user's discarded), and the ${CART_PRODUCTS} bench products (reused by the next run).`,
  ],
});
console.log(`results   ${file}`);
process.exit(0);
