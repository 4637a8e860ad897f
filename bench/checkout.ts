/**
 * Checkout end to end, at a steady rate (open loop), as a client sees it.
 *
 *   baseline  GraphQL `addToCart` through the Envoy edge at the same rate, open loop →
 *             round-trip p50/p99: one write through the whole API path (edge, BFF, cart
 *             command with its product lookup, read-your-writes read) on this machine now
 *   measured  GraphQL `checkOut` through the edge at BENCH_CHECKOUT_RATE/s (50) for
 *             BENCH_CHECKOUT_SECONDS (20), each of a cart filled beforehand, sent on a fixed
 *             schedule regardless of responses. t_send = request sent; t_confirmed = the
 *             customer's CONFIRMED notice on NATS (`shop.notifications.order.<customer>`,
 *             what the `orderStatusChanged` subscription relays) → p50/p95/p99/max of
 *             t_confirmed − t_send: cart checkout → order placed (Kafka) → stock reserved
 *             (product, gRPC) → charged (payment, Kafka both ways) → paid, stock committed →
 *             CONFIRMED → notifications (Kafka → NATS). Orders not confirmed within 10 s are
 *             counted apart, with their last status. Carts hold one unit of one of
 *             BENCH_CHECKOUT_PRODUCTS (20) products, round robin.
 *
 * Target: p99 ≤ 300 ms. Printed, never fails the run.
 *
 * Run: node --import tsx bench/checkout.ts
 */
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { connect } from 'nats';
import { OrderStatusNotification } from '@shop/contracts/shop/notifications/v1/notifications';
import { OrderStatus } from '@shop/contracts/shop/order/v1/order';
import { subjects } from '@shop/platform/subjects';
import { adminApiKey } from '@shop/tools/apps';
import { urls } from '@shop/tools/topology';
import { cpuMsPer, formatCpuMs, idleCores, machineCpuSnapshot } from './lib/machine-cpu.js';
import { formatStatements, statementCounts, statementsPer, type StatementCounts } from './lib/pg-statements.js';
import { banner, busyCores, cpuSnapshot, machineInfoSampled, writeResult, type SummaryRow } from './lib/results.js';
import { openLoop, waitForReady } from './lib/stack.js';
import { distribution, fmtMs, fmtNum, fmtRatio, nowMs, ratio, round, roundDist } from './lib/stats.js';
import { knob, MAX_RATE, MAX_SECONDS } from './lib/knobs.js';

const RATE = knob('BENCH_CHECKOUT_RATE', 50, { min: 1, max: MAX_RATE });
const SECONDS = knob('BENCH_CHECKOUT_SECONDS', 20, { min: 1, max: MAX_SECONDS });
const BASELINE_SECONDS = knob('BENCH_CHECKOUT_BASELINE_SECONDS', 10, { max: MAX_SECONDS });
const PRODUCT_COUNT = knob('BENCH_CHECKOUT_PRODUCTS', 20, { min: 1, integer: true });
const CONFIRM_TIMEOUT_MS = 10_000;
const IDLE_SAMPLE_MS = 5_000;
const TARGET_P99_MS = 300;
const PROCESSES = ['bff', 'cart-command', 'cart-projector', 'cart-query', 'order', 'payment', 'product', 'notifications'];

const started = nowMs();
const machine = await machineInfoSampled();
banner(`checkout: GraphQL checkOut → CONFIRMED notice at ${RATE}/s for ${SECONDS}s (nproc ${machine.nproc})`);
console.log(`machine   ${machine.busyCoresBeforeStart ?? '?'} of ${machine.nproc} cores already busy before start (load avg ${machine.loadAverage.join(' ')})`);
await waitForReady(PROCESSES);

async function gql(query: string, variables: Record<string, unknown>, headers: Record<string, string> = {}): Promise<any> {
  const res = await fetch(urls.graphql, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify({ query, variables }) });
  const body = (await res.json()) as { data?: any; errors?: Array<{ message: string }> };
  if (body.errors) throw new Error(body.errors.map((e) => e.message).join('; '));
  return body.data;
}

// --- setup: a customer, a product with plenty of stock, one filled cart per checkout ---
const username = `bench${randomUUID().replaceAll('-', '').slice(0, 12)}`;
const registered = await gql(`mutation ($i: RegisterInput!) { register(input: $i) { accessToken user { id } } }`, { i: { username, password: `pw-${randomUUID()}` } });
const customerId: string = registered.register.user.id;
const auth = { authorization: `Bearer ${registered.register.accessToken}` };
// Shoppers buy different things: each cart holds one of PRODUCTS products (a single hot
// product would measure the contention on its stock row, not the checkout path).
const total = RATE * (SECONDS + BASELINE_SECONDS) + 100;
const products: string[] = [];
for (let i = 0; i < PRODUCT_COUNT; i++) {
  const created = await gql(`mutation ($i: CreateProductInput) { createProduct(input: $i) { id } }`, { i: { name: `Bench checkout item ${i}`, price: 990 + i, quantity: total, category: 'bench' } }, { 'x-api-key': adminApiKey });
  products.push(created.createProduct.id);
}
let nextProduct = 0;
const addToCart = (cartId: string) =>
  gql(`mutation ($c: ID!, $p: ID!) { addToCart(cartId: $c, productId: $p) { version } }`, { c: cartId, p: products[nextProduct++ % products.length] }, auth);

const checkoutCount = RATE * SECONDS;
const carts: string[] = Array.from({ length: checkoutCount }, () => randomUUID());
const setupStart = nowMs();
for (let i = 0; i < carts.length; i += 25) await Promise.all(carts.slice(i, i + 25).map(addToCart));
console.log(`setup     ${fmtNum(carts.length)} carts filled in ${fmtNum((nowMs() - setupStart) / 1000, 1)} s`);

/**
 * Sends `count` calls of `fn` at `rate`/s on a fixed schedule (open loop), with no cap on the
 * calls in flight (past saturation, how late checkouts come is what is measured); resolves
 * with each call's duration or error.
 */
async function timedOpenLoop(count: number, rate: number, fn: (i: number) => Promise<unknown>): Promise<Array<{ tSend: number; ms?: number; error?: string }>> {
  const calls: Array<Promise<{ tSend: number; ms?: number; error?: string }>> = [];
  await openLoop(
    rate,
    (count * 1000) / rate,
    (i) => {
      const tSend = nowMs();
      calls[i] = fn(i).then(() => ({ tSend, ms: nowMs() - tSend }), (err: unknown) => ({ tSend, error: err instanceof Error ? err.message : String(err) }));
      return calls[i];
    },
    { maxInFlight: Number.POSITIVE_INFINITY },
  );
  return Promise.all(calls);
}

// --- baseline: one write through the API path, same rate ---
const baselineCarts = Array.from({ length: RATE * BASELINE_SECONDS }, () => randomUUID());
const baseline = await timedOpenLoop(baselineCarts.length, RATE, (i) => addToCart(baselineCarts[i]!));
const baselineDist = distribution(baseline.flatMap((b) => (b.ms === undefined ? [] : [b.ms])));
console.log(`baseline  addToCart at ${RATE}/s: p50 ${fmtMs(baselineDist.p50)}, p99 ${fmtMs(baselineDist.p99)} (${baseline.filter((b) => b.error).length} errors)`);

// --- measured: checkout → CONFIRMED notice ---
const nc = await connect({ servers: urls.nats, name: 'bench-checkout' });
const confirmedAt = new Map<string, number>();
const lastStatus = new Map<string, string>();
nc.subscribe(subjects.orderStatus(customerId), {
  callback: (err, msg) => {
    if (err) return;
    const n = OrderStatusNotification.fromJSON(JSON.parse(new TextDecoder().decode(msg.data)));
    lastStatus.set(n.orderId, OrderStatus[n.status] ?? String(n.status));
    if (n.status === OrderStatus.ORDER_STATUS_CONFIRMED && !confirmedAt.has(n.orderId)) confirmedAt.set(n.orderId, nowMs());
  },
});
await nc.flush();

// What each process on the machine spends doing nothing (Kafka consumers' fetch loops,
// relays' polls, sweepers, the broker): subtracted from the measured window, or a slow
// run's idle time would count as CPU per checkout (at 5/s, counting the Node processes
// only, it was about half of it).
// The same for the statements the databases run (relays' and sweepers' polls).
const idleStatementsBefore = await statementCounts();
const idleStatementsAt = nowMs();
const idle = await idleCores(IDLE_SAMPLE_MS);
const idleStatementsAfter = await statementCounts();
const idleStatementsSeconds = (nowMs() - idleStatementsAt) / 1000;

const statementsBefore = await statementCounts();
const before = machineCpuSnapshot();
const measuredStart = nowMs();
const cpuBefore = cpuSnapshot();
const orderIds: string[] = new Array(checkoutCount);
const sent = await timedOpenLoop(checkoutCount, RATE, async (i) => {
  const data = await gql(`mutation ($c: ID!) { checkOut(cartId: $c) { orderId } }`, { c: carts[i] }, auth);
  orderIds[i] = data.checkOut.orderId;
});
const waitUntil = nowMs() + CONFIRM_TIMEOUT_MS;
while (nowMs() < waitUntil && orderIds.some((id) => id && !confirmedAt.has(id))) await sleep(50);
const busy = busyCores(cpuBefore, cpuSnapshot());
const after = machineCpuSnapshot();
const measuredSeconds = (nowMs() - measuredStart) / 1000;
const statementsAfter = await statementCounts();
await nc.drain();

const latencies: number[] = [];
const notConfirmed: Record<string, number> = {};
sent.forEach((s, i) => {
  const id = orderIds[i];
  const at = id ? confirmedAt.get(id) : undefined;
  if (at !== undefined && at - s.tSend <= CONFIRM_TIMEOUT_MS) latencies.push(at - s.tSend);
  else {
    const why = s.error ? `error: ${s.error.slice(0, 80)}` : `last status ${lastStatus.get(id!) ?? 'none'}`;
    notConfirmed[why] = (notConfirmed[why] ?? 0) + 1;
  }
});
const dist = distribution(latencies);
const ackDist = distribution(sent.flatMap((s) => (s.ms === undefined ? [] : [s.ms])));
const cpuPerCheckout = cpuMsPer(before, after, latencies.length, { cores: idle, windowSeconds: measuredSeconds });
const idleCoresTotal = round([...idle.values()].reduce((sum, cores) => sum + cores, 0), 2);
const isCounts = (r: StatementCounts | { unavailable: string }): r is StatementCounts => r instanceof Map;
const statementsPerCheckout =
  isCounts(idleStatementsBefore) && isCounts(idleStatementsAfter) && isCounts(statementsBefore) && isCounts(statementsAfter)
    ? statementsPer(statementsBefore, statementsAfter, latencies.length, { before: idleStatementsBefore, after: idleStatementsAfter, seconds: idleStatementsSeconds, windowSeconds: measuredSeconds })
    : undefined;
const statementsUnavailable = [idleStatementsBefore, idleStatementsAfter, statementsBefore, statementsAfter].find((r): r is { unavailable: string } => !isCounts(r));

console.log(`measured  checkOut answered: p50 ${fmtMs(ackDist.p50)}, p99 ${fmtMs(ackDist.p99)}`);
console.log(`          checkOut → CONFIRMED: p50 ${fmtMs(dist.p50)}, p95 ${fmtMs(dist.p95)}, p99 ${fmtMs(dist.p99)}, max ${fmtMs(dist.max)} over ${fmtNum(latencies.length)} of ${fmtNum(checkoutCount)}`);
if (Object.keys(notConfirmed).length > 0) console.log(`          not confirmed within ${CONFIRM_TIMEOUT_MS / 1000} s: ${JSON.stringify(notConfirmed)}`);
console.log(`          p99 ratio to the addToCart baseline: ${fmtRatio(ratio(dist.p99, baselineDist.p99))}; machine ${busy ?? '?'} cores busy`);
console.log(`          machine CPU per confirmed checkout, by process, idle subtracted: ${formatCpuMs(cpuPerCheckout)}; the machine idle: ${idleCoresTotal} cores`);
console.log(
  `          Postgres statements per confirmed checkout, by database, idle subtracted: ${statementsPerCheckout ? formatStatements(statementsPerCheckout) : `not measured (pg_stat_statements: ${statementsUnavailable?.unavailable})`}`,
);

const summary: SummaryRow[] = [
  {
    metric: `checkOut → CONFIRMED p99 at ${RATE}/s`,
    value: dist.p99,
    unit: 'ms',
    baseline: { metric: `addToCart p99 at ${RATE}/s`, value: baselineDist.p99, unit: 'ms' },
    ratio: ratio(dist.p99, baselineDist.p99),
    target: `≤ ${TARGET_P99_MS} ms`,
    met: dist.p99 <= TARGET_P99_MS && latencies.length === checkoutCount,
  },
  { metric: `checkOut → CONFIRMED p50 at ${RATE}/s`, value: dist.p50, unit: 'ms', baseline: { metric: `addToCart p50 at ${RATE}/s`, value: baselineDist.p50, unit: 'ms' }, ratio: ratio(dist.p50, baselineDist.p50) },
];
const file = writeResult({
  name: 'checkout',
  title: 'Checkout end to end: GraphQL checkOut → CONFIRMED notice',
  machine,
  startedMs: started,
  summary,
  details: {
    rate: RATE,
    seconds: SECONDS,
    checkouts: checkoutCount,
    confirmed: latencies.length,
    notConfirmed,
    confirmMs: roundDist(dist),
    checkoutAnswerMs: roundDist(ackDist),
    baselineAddToCartMs: roundDist(baselineDist),
    busyCoresDuringRun: busy,
    machineCpuMsPerCheckout: Object.fromEntries(cpuPerCheckout),
    machineIdleCores: idleCoresTotal,
    postgresStatementsPerCheckout: statementsPerCheckout ? Object.fromEntries(statementsPerCheckout) : null,
  },
  notes: [
    'Open loop at a fixed rate; latency from sending checkOut to the CONFIRMED notice on NATS (the path of the orderStatusChanged subscription).',
    `The CPU of every process on the machine per confirmed checkout is in details.machineCpuMsPerCheckout (from /proc, less each process's idle rate sampled for ${IDLE_SAMPLE_MS / 1000} s before).`,
    'The statements Postgres ran per confirmed checkout, by database, are in details.postgresStatementsPerCheckout (pg_stat_statements, less the idle rate sampled with the CPU; null where it cannot be read).',
  ],
});
console.log(`result    ${file}`);
process.exit(0);
