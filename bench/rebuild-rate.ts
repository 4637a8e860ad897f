/**
 * Projection rebuild rate from the event store, in a fresh bench database.
 *
 *   data      BENCH_CARTS carts × BENCH_EVENTS_PER_CART events (ItemAdded / QuantityChanged /
 *             ItemRemoved), decided by the cart's own decider and stored as the cart codec
 *             writes them (proto3 JSON), bulk-inserted with INSERT … SELECT FROM unnest. Carts
 *             interleave as live traffic does: ~2,000 carts are "open" at any time and each
 *             next event comes from a random open cart.
 *   baseline  a plain full read of the same events: PostgresEventStore.readAll paging from
 *             START, 5,000 per page, no projection → events/s (the rebuild reads in batches
 *             of BENCH_REBUILD_BATCH, by default the library's 20,000)
 *   measured  rebuildProjection({ pool, store, projection: cartView }) → events/s
 *
 * Target: rebuild ≥ 20,000 events/s. Printed, never fails the run. A wrong read model
 * (cart count, lines, units, versions) does fail it: a fast wrong rebuild is no result.
 * The bench database is dropped at the end.
 *
 * Knobs (env): BENCH_CARTS (20,000), BENCH_EVENTS_PER_CART (10), BENCH_REBUILD_BATCH (unset:
 * the library's default, 20,000 in packages/eventsourcing/src/rebuild.ts).
 *
 * Run: node --import tsx bench/rebuild-rate.ts
 */
import { randomUUID } from 'node:crypto';
import { cartDecider, cartEventCodec, cartMigrations, cartView, CART_STREAM_TYPE, SHOP, type Cart, type CartCommand, type CartEvent } from '@shop/cart';
import { START, type GlobalCheckpoint } from '@shop/eventsourcing';
import { eventStoreMigrations, PostgresEventStore, rebuildProjection } from '@shop/eventsourcing/postgres';
import { IllegalStateError, ValidationError } from '@shop/platform/errors';
import { createLogger } from '@shop/platform/log';
import { migrate } from '@shop/platform/postgres/migrate';
import { createPool, type Pool } from '@shop/platform/postgres/pool';
import { banner, busyCores, cpuSnapshot, machineInfoSampled, processCores, writeResult, type CpuSnapshot, type SummaryRow } from './lib/results.js';
import { createBenchDatabase } from './lib/stack.js';
import { distribution, fmtMs, fmtNum, fmtRatio, nowMs, ratio, round, roundDist } from './lib/stats.js';
import { knob, optionalKnob } from './lib/knobs.js';
import { mulberry32 } from './lib/random.js';

const CARTS = knob('BENCH_CARTS', 20_000, { min: 1, integer: true });
const EVENTS_PER_CART = knob('BENCH_EVENTS_PER_CART', 10, { min: 1, integer: true });
const OPEN_CARTS = 2_000;
const INSERT_CHUNK = 10_000;
const READ_PAGE = 5_000;
const TARGET_EVENTS_PER_SECOND = 20_000;
/** rebuildProjection's batch size; unset = the library's default (20,000, packages/eventsourcing/src/rebuild.ts). */
const REBUILD_BATCH = optionalKnob('BENCH_REBUILD_BATCH', "rebuildProjection's default, 20,000", { min: 1, integer: true });

const started = nowMs();
const machine = await machineInfoSampled();
const log = createLogger('bench-rebuild-rate', 'warn');
banner(`rebuild-rate: cart projection rebuild from the event store (${fmtNum(CARTS)} carts × ${EVENTS_PER_CART} events, nproc ${machine.nproc})`);
console.log(`machine   ${machine.busyCoresBeforeStart ?? '?'} of ${machine.nproc} cores already busy before start (load avg ${machine.loadAverage.join(' ')})`);

// --- generate: the decider decides every event, so that the data is what the service writes ---
const genStart = nowMs();
// Seeded: every run stores the same shapes of carts.
const random = mulberry32(20_240_601);
const products = Array.from({ length: 50 }, (_, i) => ({
  id: randomUUID(),
  name: `Product ${i + 1} ${['mug', 'tea pot', 'notebook', 'lamp', 'chair'][i % 5]}`,
  unitPrice: { cents: 199 + ((i * 7_919) % 20_000), currency: 'USD' },
}));
interface Expected {
  carts: number;
  nonEmpty: number;
  units: number;
  events: number;
}
const expected: Expected = { carts: CARTS, nonEmpty: 0, units: 0, events: 0 };
const streams: { id: string; events: CartEvent[] }[] = [];
for (let c = 0; c < CARTS; c++) {
  const cartId = randomUUID();
  let state: Cart = cartDecider.initialState();
  const events: CartEvent[] = [];
  for (let attempt = 0; events.length < EVENTS_PER_CART && attempt < EVENTS_PER_CART * 20; attempt++) {
    const command = nextCommand(cartId, state);
    let decided: CartEvent[];
    try {
      decided = cartDecider.decide(command, state);
    } catch (err) {
      // The cart refuses this step in its state: pick another command. Anything else is a bug here.
      if (!refusedByCart(err, command)) throw err;
      continue;
    }
    if (decided.length !== 1) continue;
    events.push(decided[0]!);
    state = cartDecider.evolve(state, decided[0]!);
  }
  streams.push({ id: cartId, events });
  expected.events += events.length;
  if (state.status === 'active') {
    expected.nonEmpty++;
    for (const line of state.lines.values()) expected.units += line.quantity;
  }
}
const typeCounts: Record<string, number> = {};
for (const s of streams) for (const e of s.events) typeCounts[e.type] = (typeCounts[e.type] ?? 0) + 1;
console.log(
  `generate  ${fmtNum(expected.events)} events (${Object.entries(typeCounts).map(([t, n]) => `${t.replace('shop.cart.v1.', '')} ${fmtNum(n)}`).join(', ')}), ` +
    `${fmtNum(expected.nonEmpty)} carts end non-empty, in ${fmtNum((nowMs() - genStart) / 1000, 1)}s`,
);

const db = await createBenchDatabase();
const pool = createPool({ url: db.url, max: 4, log, application: 'bench-rebuild-rate' });
let failed = false;
try {
  await migrate(pool, [eventStoreMigrations, cartMigrations], log);

  // --- load: interleaved like live traffic, in chunks of one INSERT … SELECT FROM unnest ---
  const loadStart = nowMs();
  const inserted = await insertInterleaved();
  await pool.query('VACUUM ANALYZE events');
  const loadSeconds = (nowMs() - loadStart) / 1000;
  const { rows: size } = await pool.query<{ bytes: number }>(`SELECT pg_total_relation_size('events')::bigint AS bytes`);
  console.log(`load      ${fmtNum(inserted)} events inserted + VACUUM ANALYZE in ${fmtNum(loadSeconds, 1)}s (${fmtNum(inserted / loadSeconds)} events/s; table + indexes ${fmtNum(size[0]!.bytes / 2 ** 20)} MiB)`);

  const store = new PostgresEventStore(pool);

  // --- baseline: the same read, no projection -------------------------------------------
  let probe = startProbe();
  const readStart = nowMs();
  let read = 0;
  let checkpoint: GlobalCheckpoint = START;
  const pageMs: number[] = [];
  for (;;) {
    const t0 = nowMs();
    const page = await store.readAll(checkpoint, { limit: READ_PAGE, streamTypes: [CART_STREAM_TYPE] });
    pageMs.push(nowMs() - t0);
    if (page.length === 0) break;
    read += page.length;
    const last = page[page.length - 1]!;
    checkpoint = last.checkpoint;
  }
  const readSeconds = (nowMs() - readStart) / 1000;
  const readRate = read / readSeconds;
  const readCpu = probe();
  const firstPage = pageMs[0]!;
  const lastFullPage = pageMs[Math.max(0, pageMs.length - 3)]!;
  console.log(
    `baseline  readAll, pages of ${fmtNum(READ_PAGE)}, no projection: ${fmtNum(read)} events in ${fmtNum(readSeconds, 2)}s = ${fmtNum(readRate)} events/s ` +
      `(page: first ${fmtMs(firstPage)}, last full ${fmtMs(lastFullPage)}; machine ${readCpu.machine ?? '?'} cores busy, this process ${readCpu.client})`,
  );
  // How Postgres runs the store's own page query (captured, then EXPLAINed): a page should
  // walk the (transaction_id, position) index; a Sort over a Seq Scan reads the whole table
  // for every page, which makes a full read quadratic in the store's size.
  const plan = await readAllPlan();
  console.log(`          page plan: ${plan.summary}`);
  if (!plan.walksIndex) {
    console.log('          note: readAll scans and sorts the whole table for every page instead of walking the (transaction_id, position) index (the sort key above says why)');
  }

  // --- measured: the rebuild ---------------------------------------------------------------
  probe = startProbe();
  const rebuildStart = nowMs();
  const result = await rebuildProjection({ pool, store, projection: cartView, log, ...(REBUILD_BATCH ? { batchSize: REBUILD_BATCH } : {}) });
  const rebuildWall = (nowMs() - rebuildStart) / 1000;
  const rebuildCpu = probe();
  const rebuildRate = result.events / result.seconds;
  console.log(
    `measured  rebuildProjection(cartView${REBUILD_BATCH ? `, batchSize ${REBUILD_BATCH}` : ''}): ${fmtNum(result.events)} events in ${fmtNum(result.seconds, 2)}s = ${fmtNum(rebuildRate)} events/s ` +
      `= ${fmtRatio(ratio(rebuildRate, readRate))} the plain read (machine ${rebuildCpu.machine ?? '?'} cores busy, this process ${rebuildCpu.client})`,
  );
  const met = rebuildRate >= TARGET_EVENTS_PER_SECOND;
  console.log(`target    rebuild ≥ ${fmtNum(TARGET_EVENTS_PER_SECOND)} events/s: ${fmtNum(rebuildRate)} → ${met ? 'MET' : 'NOT MET'}`);

  // --- correctness, cheaply ---------------------------------------------------------------
  const { rows } = await pool.query<{ carts: number; non_empty: number; units: number | null; versions: number | null }>(
    `SELECT (SELECT count(*) FROM cart_read.carts)::bigint AS carts,
            (SELECT count(DISTINCT cart_id) FROM cart_read.cart_lines)::bigint AS non_empty,
            (SELECT sum(quantity) FROM cart_read.cart_lines)::bigint AS units,
            (SELECT sum(version) FROM cart_read.carts)::bigint AS versions`,
  );
  const got = { carts: rows[0]!.carts, nonEmpty: rows[0]!.non_empty, units: rows[0]!.units ?? 0, events: rows[0]!.versions ?? 0 };
  const correct = got.carts === expected.carts && got.nonEmpty === expected.nonEmpty && got.units === expected.units && got.events === expected.events && read === expected.events;
  console.log(
    `check     read model: ${fmtNum(got.carts)} carts (${fmtNum(got.nonEmpty)} with lines), ${fmtNum(got.units)} units, versions sum ${fmtNum(got.events)} ` +
      `→ ${correct ? 'matches what was generated' : `MISMATCH, expected ${JSON.stringify(expected)}`}`,
  );
  failed = !correct;

  const baseline = { metric: 'readAll, no projection', value: Math.round(readRate), unit: 'events/s' };
  const summary: SummaryRow[] = [
    { metric: 'readAll full read (baseline)', value: Math.round(readRate), unit: 'events/s' },
    { metric: 'rebuildProjection(cartView)', value: Math.round(rebuildRate), unit: 'events/s', baseline, ratio: ratio(rebuildRate, readRate), target: `≥ ${fmtNum(TARGET_EVENTS_PER_SECOND)} events/s`, met },
  ];
  const file = writeResult({
    name: 'rebuild-rate',
    title: 'Projection rebuild rate from the event store',
    machine,
    startedMs: started,
    summary,
    details: {
      carts: CARTS,
      eventsPerCart: EVENTS_PER_CART,
      openCarts: OPEN_CARTS,
      eventTypes: typeCounts,
      load: { events: inserted, seconds: round(loadSeconds, 3), tableBytes: size[0]!.bytes },
      read: {
        events: read,
        pageSize: READ_PAGE,
        seconds: round(readSeconds, 3),
        eventsPerSecond: Math.round(readRate),
        pageMs: roundDist(distribution(pageMs)),
        firstPageMs: round(firstPage, 3),
        lastFullPageMs: round(lastFullPage, 3),
        plan: plan.summary,
        planWalksIndex: plan.walksIndex,
        busyCores: readCpu.machine,
        clientCores: readCpu.client,
      },
      rebuild: { events: result.events, seconds: round(result.seconds, 3), wallSeconds: round(rebuildWall, 3), eventsPerSecond: Math.round(rebuildRate), batchSize: REBUILD_BATCH ?? 'default (20,000)', busyCores: rebuildCpu.machine, clientCores: rebuildCpu.client },
      correctness: { expected, got, correct },
    },
    notes: [
      ...(correct ? [] : ['The rebuilt read model does not match the generated events.']),
      ...(plan.walksIndex
        ? []
        : [`readAll does not walk the (transaction_id, position) index: every page scans and sorts the table (${plan.summary}); the rebuild reads the same way.`]),
    ],
  });
  console.log(`results   ${file}`);
} finally {
  await pool.end();
  await db.drop();
}
if (failed) process.exitCode = 1;

/** A plausible next step of a shopper: add (new or more of a product), change a quantity, remove a line. */
function nextCommand(cartId: string, cart: Cart): CartCommand {
  const lines = cart.status === 'active' ? [...cart.lines.values()] : [];
  const roll = random();
  if (lines.length === 0 || roll < 0.5) {
    // Now and then more of a product already in the cart, otherwise any product.
    const again = lines.length > 0 && random() < 0.2 ? lines[Math.floor(random() * lines.length)]!.productId : undefined;
    const p = (again && products.find((x) => x.id === again)) || products[Math.floor(random() * products.length)]!;
    return { type: 'AddItem', cartId, productId: p.id, productName: p.name, unitPrice: p.unitPrice, quantity: 1 + Math.floor(random() * 3), by: SHOP };
  }
  const line = lines[Math.floor(random() * lines.length)]!;
  if (roll < 0.85) return { type: 'ChangeQuantity', cartId, productId: line.productId, quantity: 1 + Math.floor(random() * 9), by: SHOP };
  return { type: 'RemoveItem', cartId, productId: line.productId, by: SHOP };
}

/** Inserts every stream's events in an interleaved global order; a stream's own events stay in version order. */
async function insertInterleaved(): Promise<number> {
  const open: { stream: number; next: number }[] = [];
  let nextStream = 0;
  const refill = () => {
    while (open.length < OPEN_CARTS && nextStream < streams.length) {
      if (streams[nextStream]!.events.length > 0) open.push({ stream: nextStream, next: 0 });
      nextStream++;
    }
  };
  refill();
  const baseTime = Date.now() - 24 * 3600 * 1000;
  let total = 0;
  let chunk: { id: string; streamId: string; version: number; type: string; data: string; metadata: string; at: string }[] = [];
  const flush = async () => {
    if (chunk.length === 0) return;
    await pool.query(
      `INSERT INTO events (id, stream_type, stream_id, version, type, data, metadata, occurred_at)
       SELECT e.id, $1, e.stream_id, e.version, e.type, e.data, e.metadata, e.occurred_at
       FROM unnest($2::uuid[], $3::text[], $4::bigint[], $5::text[], $6::jsonb[], $7::jsonb[], $8::timestamptz[])
            WITH ORDINALITY AS e(id, stream_id, version, type, data, metadata, occurred_at, n)
       ORDER BY e.n`,
      [
        CART_STREAM_TYPE,
        chunk.map((r) => r.id),
        chunk.map((r) => r.streamId),
        chunk.map((r) => r.version),
        chunk.map((r) => r.type),
        chunk.map((r) => r.data),
        chunk.map((r) => r.metadata),
        chunk.map((r) => r.at),
      ],
    );
    chunk = [];
  };
  while (open.length > 0) {
    const slot = Math.floor(random() * open.length);
    const o = open[slot]!;
    const s = streams[o.stream]!;
    const encoded = cartEventCodec.encode(s.events[o.next]!);
    chunk.push({
      id: randomUUID(),
      streamId: s.id,
      version: o.next + 1,
      type: encoded.type,
      data: JSON.stringify(encoded.data),
      metadata: JSON.stringify({ correlationId: randomUUID(), actor: 'bench' }),
      at: new Date(baseTime + total * 400).toISOString(),
    });
    total++;
    if (++o.next >= s.events.length) {
      open[slot] = open[open.length - 1]!;
      open.pop();
      refill();
    }
    if (chunk.length >= INSERT_CHUNK) await flush();
  }
  await flush();
  return total;
}

/**
 * The plan of the page query PostgresEventStore.readAll really sends (captured through a
 * spying pool, so that it stays true when the store's SQL changes), as "Limit > Sort (key) > Seq Scan on events".
 */
async function readAllPlan(): Promise<{ summary: string; walksIndex: boolean }> {
  let captured: { text: string; values: unknown[] } | undefined;
  const spy = {
    query: (text: string, values: unknown[]) => {
      captured ??= { text, values };
      return pool.query(text, values);
    },
  } as unknown as Pool;
  await new PostgresEventStore(spy).readAll(START, { limit: READ_PAGE, streamTypes: [CART_STREAM_TYPE] });
  if (!captured) return { summary: 'not captured', walksIndex: true };
  const { rows } = await pool.query<{ 'QUERY PLAN': [{ Plan: PlanNode }] }>(`EXPLAIN (FORMAT JSON) ${captured.text}`, captured.values);
  const nodes: string[] = [];
  let sorts = false;
  for (let node: PlanNode | undefined = rows[0]!['QUERY PLAN'][0].Plan; node; node = node.Plans?.[0]) {
    if (node['Node Type'] === 'Sort') sorts = true;
    const detail = node['Sort Key'] ? ` (key ${node['Sort Key'].join(', ')})` : node['Index Name'] ? ` using ${node['Index Name']}` : node['Relation Name'] ? ` on ${node['Relation Name']}` : '';
    nodes.push(`${node['Node Type']}${detail}`);
  }
  return { summary: nodes.join(' > '), walksIndex: !sorts };
}

interface PlanNode {
  'Node Type': string;
  'Sort Key'?: string[];
  'Index Name'?: string;
  'Relation Name'?: string;
  Plans?: PlanNode[];
}

/** Starts measuring CPU: the returned function gives machine-wide busy cores and this process's cores since. */
function startProbe(): () => { machine: number | undefined; client: number } {
  const machineAt: CpuSnapshot | undefined = cpuSnapshot();
  const clientAt = process.cpuUsage();
  const t0 = nowMs();
  return () => ({ machine: busyCores(machineAt, cpuSnapshot()), client: processCores(clientAt, (nowMs() - t0) / 1000) });
}

/**
 * A command the cart's rules refuse in its current state, as the decider says it: a rule of
 * the state (IllegalStateError), or an AddItem that would take a line past 99 units (a
 * ValidationError on the quantity, which nextCommand can reach on a long stream).
 */
function refusedByCart(err: unknown, command: CartCommand): boolean {
  return err instanceof IllegalStateError || (command.type === 'AddItem' && err instanceof ValidationError && err.field === 'quantity');
}
