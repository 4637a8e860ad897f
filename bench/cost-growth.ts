/**
 * Cost growth: the event store's append rate and command ack → visible, measured with the
 * store as it is, then again after it has grown by BENCH_GROWTH_EVENTS (1,000,000) events in
 * BENCH_GROWTH_STREAMS (100,000) cart streams, all in one run.
 *
 *   small     (a) PostgresEventStore.append, one event per call, BENCH_CLIENTS (32) loops
 *             each on its own stream with the expected version, group commit on, for
 *             BENCH_APPEND_SECONDS (10), in a throw-away bench database, as append-rate's (a)
 *             (lib/store-append.ts) → appends/s;
 *             (b) ChangeQuantity on the running cart-command at BENCH_RATE/s (300) for
 *             BENCH_SECONDS (20) over BENCH_CARTS (200) carts: ack → the projector's NATS
 *             notice, as ack-to-visible (lib/visibility.ts) → p99; after 5 s of the same
 *             commands, not measured (the first seconds on new carts are slower), and 5 s of
 *             appends likewise
 *   grow      the same rows inserted with SQL into both stores, each in statements of about
 *             20,000 events: in the bench database (for (a)) and in the stack's `cart`
 *             database (for (b)); there, the read model too (carts, lines, stream checkpoints).
 *             VACUUM ANALYZE after, so that the planner sees the real sizes (and a CHECKPOINT
 *             before every measurement, so that no phase writes out the one before's pages).
 *   grown     (a) and (b) again
 *   clean up  the seeded rows deleted from the cart database (events by their stream id prefix
 *             and the seed's mark, the read model by the prefix), VACUUM FULL; the bench
 *             database dropped
 *   again     (a) in a new empty bench database and (b) on the cleaned cart database: the
 *             small-store figures a second time, to read the ratios against the run's noise
 *             (BENCH_GROWTH_RECHECK=0 skips it)
 *
 * Target (cost growth): append grown rate / small rate ≥ 0.83 (at most a 1.2× slowdown); ack →
 * visible grown p99 / small p99 ≤ 1.2 with every command seen. Printed, never fails the
 * run; a seeded read model that disagrees with the seeded events does (a wrong seed is no result).
 *
 * The seeded events are cart events as the service writes them: sequences decided by the
 * cart's decider for 16 shopper templates (three in four signed in), encoded by the cart's
 * codec, their cart, customer and correlation ids filled in per stream by SQL. Their stream
 * ids all start with SEED_PREFIX, an id no client can give a cart (see there), and their
 * metadata carries benchSeed: 'cost-growth'. Clean-up deletes only events with both, and the
 * read model's rows of that prefix; it deletes nothing when an event of that prefix lacks
 * the mark (something else wrote it). A run first removes what an interrupted one left.
 *
 * The shared stack: before anything is written, the free space of the filesystem holding
 * Postgres' data directory must be DISK_HEADROOM times the seeding's estimated size. Ctrl-C
 * (SIGINT) or SIGTERM stops the run, cancels its statements and runs the same clean-up once,
 * at most SIGNAL_CLEANUP_MS, then exits 130.
 *
 * The relay: it publishes the events after its checkpoint, in (transaction_id, position)
 * order, and keeps that checkpoint in memory while it leads (a row written from outside would
 * be overwritten). The seeded rows are written with a transaction_id below both the relay's
 * checkpoint and every event already stored: to every reader of the global order they are
 * history published long ago, as the old events of a real big store are. Nothing of them
 * goes to Kafka, and the read model holds them as the projector would have left them.
 *
 * Run: node --import tsx bench/cost-growth.ts
 */
import { randomUUID } from 'node:crypto';
import { statfs } from 'node:fs/promises';
import { isDeepStrictEqual } from 'node:util';
import { cartDecider, cartEventCodec, cartView, CART_READ_SCHEMA, CART_STREAM_TYPE, type Cart, type CartCommand, type CartEvent, type CartView, type Price } from '@shop/cart';
import { eventStoreMigrations, PostgresEventStore } from '@shop/eventsourcing/postgres';
import { IllegalStateError } from '@shop/platform/errors';
import { createLogger } from '@shop/platform/log';
import { migrate } from '@shop/platform/postgres/migrate';
import { createPool, sqlState, withTransaction, type Pool } from '@shop/platform/postgres/pool';
import type { TestDatabase } from '@shop/testing';
import { urls } from '@shop/tools/topology';
import { banner, machineInfoSampled, writeResult, type SummaryRow } from './lib/results.js';
import { createBenchDatabase, scrapeMetrics, waitForReady, type LoopResult } from './lib/stack.js';
import { postgresSettings, storeAppendLoops } from './lib/store-append.js';
import { distribution, fmtMs, fmtNum, fmtRatio, loopDetails, nowMs, ratio, round } from './lib/stats.js';
import { openVisibilityProbe, phaseDetails, printPhase, VISIBLE_TIMEOUT_MS, type Phase } from './lib/visibility.js';
import { knob, knobError, MAX_RATE, MAX_SECONDS } from './lib/knobs.js';

const GROWTH_STREAMS = knob('BENCH_GROWTH_STREAMS', 100_000, { min: 1, max: 1_000_000, integer: true });
const GROWTH_EVENTS = knob('BENCH_GROWTH_EVENTS', 1_000_000, { min: 1, max: 10_000_000, integer: true });
if (GROWTH_EVENTS < GROWTH_STREAMS) {
  knobError(`BENCH_GROWTH_EVENTS=${GROWTH_EVENTS} is below BENCH_GROWTH_STREAMS=${GROWTH_STREAMS}: every seeded stream needs at least one event (events per stream = their ratio, rounded)`);
}
const EVENTS_PER_STREAM = Math.round(GROWTH_EVENTS / GROWTH_STREAMS);
const SEEDED_EVENTS = GROWTH_STREAMS * EVENTS_PER_STREAM;
const CLIENTS = knob('BENCH_CLIENTS', 32, { min: 1, integer: true });
const APPEND_SECONDS = knob('BENCH_APPEND_SECONDS', 10, { min: 1, max: MAX_SECONDS });
const RATE = knob('BENCH_RATE', 300, { min: 1, max: MAX_RATE });
const SECONDS = knob('BENCH_SECONDS', 20, { min: 1, max: MAX_SECONDS });
const CART_COUNT = knob('BENCH_CARTS', 200, { min: 1, integer: true });
const RECHECK = knob('BENCH_GROWTH_RECHECK', 1, { min: 0, max: 1, integer: true }) === 1;
/** The target: growth may slow appends and ack → visible p99 by at most this factor. */
const GROWTH_TARGET = 1.2;
/**
 * The small store measured twice should give 1.0×; beyond this factor either way, the run's
 * noise is as large as the growth the target allows, and decides the verdicts.
 */
const NOISE_TOLERANCE = 1.2;
const WARMUP_SECONDS = 5;

/**
 * Every seeded stream id starts with this, and no cart of a client can. Postgres' uuid type
 * takes any 128 bits (the read model keys carts by uuid), but its version nibble (the `0` of
 * `0eed`, third group) and variant nibble (the `0` of the fourth group's `0eed`) are 0, and
 * every cart id that comes in is checked by the `uuid` package's validate (version 1–8,
 * variant 8, 9, a or b; besides only the nil and the max UUID), in the BFF (uuidArg,
 * bff/src/errors.ts) and at cart-command's and cart-query's gRPC edge (uuid(),
 * packages/platform/src/grpc/edge.ts): a request with such a cart id is refused
 * (INVALID_ARGUMENT / BAD_USER_INPUT) before anything is written.
 */
const SEED_PREFIX = '5eed5eed-5eed-0eed-0eed-';
/** In every seeded event's metadata as `benchSeed`: clean-up deletes only events that carry it. */
const SEED_MARK = 'cost-growth';
const seededCartId = (i: number) => `${SEED_PREFIX}${i.toString(16).padStart(12, '0')}`;
const SEEDED_FIRST = seededCartId(0);
const SEEDED_LAST = `${SEED_PREFIX}ffffffffffff`;
/** Stand-ins in the templates' JSON, replaced per stream by the seeding SQL. */
const PLACEHOLDER = { cart: 'ca000000-0000-4000-8000-000000000000', customer: 'cc000000-0000-4000-8000-000000000000', correlation: 'c0000000-0000-4000-8000-000000000000' } as const;
const TEMPLATES = 16;
/** Products a template's shopper adds: TEMPLATES × this is the seeding catalog's size, so that each product is in one template's carts. */
const PICKS_PER_TEMPLATE = 3;
/**
 * Seeded carts whose read model is checked against their events, spread over the seeded
 * range and over the templates (at least TEMPLATES, so that every template is among them):
 * each check reads a stream and folds it, and 20 keep the check to seconds.
 */
const SEED_CHECK_SAMPLE = 20;
/** About this many events per seeding statement: each holds back the cart relay while it runs (readAllFrom waits for older transactions). */
const SEED_CHUNK_EVENTS = 20_000;
/** Carts "open" at once while seeding: each takes its next event in turn, so that streams interleave as live traffic does. */
const OPEN_CARTS = 2_000;
const DELETE_BATCH = 20_000;
/**
 * What seeding adds, per event (events table and its indexes, in each of the two databases)
 * and per stream (the cart read model: document, about three lines, stream checkpoint):
 * measured at the default sizes (1M events took 620–660 MiB per database, 100,000 carts
 * 125 MiB), rounded up.
 */
const EVENT_BYTES = 700;
const READ_MODEL_BYTES_PER_STREAM = 1_300;
/**
 * Free space required before seeding, as a multiple of that estimate: the WAL written
 * alongside (up to max_wal_size before a checkpoint recycles it), VACUUM FULL's copy of the
 * tables, and room for the stack to go on writing.
 */
const DISK_HEADROOM = 3;
/** Longest the clean-up after SIGINT/SIGTERM may take before the process exits anyway (10M seeded rows: about a minute). */
const SIGNAL_CLEANUP_MS = 180_000;
/** This run's connections (both pools): a signal cancels the statements running under it. */
const APPLICATION = `bench-cost-growth-${process.pid}`;
/**
 * Which database a step works on: the stack's `cart` database (events, the read model, and
 * the cart relay's checkpoint) or the throw-away bench database (events only).
 */
type Db = 'cart' | 'bench';
const READ_MODEL_TABLES = [`${CART_READ_SCHEMA}.carts`, `${CART_READ_SCHEMA}.cart_lines`, `${CART_READ_SCHEMA}.stream_checkpoints`];

const started = nowMs();
const machine = await machineInfoSampled();
const log = createLogger('bench-cost-growth', 'warn');
banner(
  `cost-growth: append and ack → visible, small store vs +${fmtNum(SEEDED_EVENTS)} events in ${fmtNum(GROWTH_STREAMS)} streams (${CLIENTS} writers ${APPEND_SECONDS}s; ${RATE}/s for ${SECONDS}s; nproc ${machine.nproc})`,
);
console.log(`machine   ${machine.busyCoresBeforeStart ?? '?'} of ${machine.nproc} cores already busy before start (load avg ${machine.loadAverage.join(' ')})`);

await waitForReady(['product', 'cart-command', 'cart-projector']);
// Seeding, VACUUM and clean-up statements run for many seconds on a grown store: a limit of minutes, not the default 30 s.
const cartPool = createPool({ url: urls.postgres('cart'), max: 4, log, application: APPLICATION, statementTimeoutMs: 600_000 });
const disk = await diskSpace(cartPool).catch(async (err: unknown) => {
  await cartPool.end();
  throw err;
});
console.log(
  `disk      Postgres data directory's filesystem: ${fmtGiB(disk.freeBytes)} free; seeding writes about ${fmtGiB(disk.estimatedBytes)}, ` +
    `${DISK_HEADROOM}× that (${fmtGiB(disk.neededBytes)}) must be free`,
);
if (disk.freeBytes < disk.neededBytes) {
  await cartPool.end();
  knobError(
    `cost-growth: not enough free disk for Postgres (${disk.dataDir}): ${fmtGiB(disk.freeBytes)} free, ${fmtGiB(disk.neededBytes)} needed ` +
      `(${DISK_HEADROOM}× the ${fmtGiB(disk.estimatedBytes)} that ${fmtNum(SEEDED_EVENTS)} events in ${fmtNum(GROWTH_STREAMS)} streams take in the cart and the bench database). ` +
      'Free some space, or lower BENCH_GROWTH_EVENTS and BENCH_GROWTH_STREAMS.',
  );
}
const probe = await openVisibilityProbe({ cartCount: CART_COUNT, name: 'bench-cost-growth' });
const notes: string[] = [];
let appendStore: { db: TestDatabase; pool: Pool } | undefined;
let cartSeeded = false;
/** Set once the clean-up of the cart database has started (cleanUpCart). */
let cartCleanup: Promise<CartCleanup | undefined> | undefined;
/** Set once the run shuts down (shutdown): the clean-up, then everything closed. */
let closing: Promise<void> | undefined;
/** A SIGINT or SIGTERM came (onSignal). */
let signalled = false;
/**
 * The seeding's statements, one at a time, so that clean-up can stop them: it sets `stopped`
 * (no new statement starts) and waits for `running` (a statement that committed after
 * clean-up's DELETE would leave its rows behind).
 */
const seedWrites: { stopped: boolean; running?: Promise<unknown> } = { stopped: false };
process.on('SIGINT', onSignal);
process.on('SIGTERM', onSignal);
try {
  const settings = await postgresSettings(cartPool);
  console.log(`postgres  ${settings.server_version}: shared_buffers ${settings.shared_buffers} × 8 kB, fsync=${settings.fsync} synchronous_commit=${settings.synchronous_commit}`);
  const leftover = await deleteSeeded(cartPool);
  if (leftover.events + leftover.carts > 0) {
    console.log(`leftover  an earlier run left ${fmtNum(leftover.events)} seeded events and ${fmtNum(leftover.carts)} carts in the cart database: deleted`);
    notes.push(`An interrupted earlier run had left ${leftover.events} seeded events in the cart database; they were deleted before measuring.`);
  }
  const setupSeconds = await probe.setUp();
  console.log(`setup     ${CART_COUNT} carts with one line, all visible, in ${fmtNum(setupSeconds, 1)}s`);
  // The first seconds of commands on new carts run slower (caches, JIT, connections): without
  // this, the small store's figure would carry that cost and flatter the grown store's.
  const warmup = await probe.phase(RATE, WARMUP_SECONDS);
  console.log(`warm-up   ChangeQuantity at ${RATE}/s for ${WARMUP_SECONDS}s, not measured: ack → visible p99 ${fmtMs(warmup.lag.p99)}`);

  // --- small: the store as it is ---------------------------------------------------------
  const appendPool = await openAppendStore();
  // The same for this process's first appends (its JIT, the pool's first statements).
  const { run: appendWarmup } = await storeAppendLoops(new PostgresEventStore(appendPool), { clients: CLIENTS, seconds: WARMUP_SECONDS });
  console.log(`warm-up   PostgresEventStore.append for ${WARMUP_SECONDS}s, not measured: ${fmtNum(appendWarmup.rate)} appends/s`);
  const smallCart = await storeFacts(cartPool, { db: 'cart' });
  console.log(`store     cart database as it is: ${describeFacts(smallCart)}`);
  const small = await measure('small', appendPool);

  // --- grow -------------------------------------------------------------------------------
  const templates = cartTemplates();
  const relayBefore = await scrapeMetrics('cart-command', ['relay_events_published_total']);
  const seedAppend = await seed(appendPool, templates, { db: 'bench' });
  console.log(`seed      bench database: ${fmtNum(seedAppend.events)} events in ${fmtNum(seedAppend.seconds, 1)}s, VACUUM ANALYZE ${fmtNum(seedAppend.vacuumSeconds, 1)}s`);
  cartSeeded = true;
  const seedCart = await seed(cartPool, templates, { db: 'cart' });
  console.log(
    `seed      cart database: ${fmtNum(seedCart.events)} events in ${fmtNum(seedCart.seconds, 1)}s, read model (${fmtNum(GROWTH_STREAMS)} carts with lines, checkpoints) ` +
      `${fmtNum(seedCart.readModelSeconds, 1)}s, VACUUM ANALYZE ${fmtNum(seedCart.vacuumSeconds, 1)}s; written as transaction ${seedCart.transactionId}, older than the relay's checkpoint`,
  );
  const relayAfter = await scrapeMetrics('cart-command', ['relay_events_published_total']);
  const publishedWhileSeeding = (relayAfter.relay_events_published_total ?? Number.NaN) - (relayBefore.relay_events_published_total ?? Number.NaN);
  console.log(`          the cart relay published ${fmtNum(publishedWhileSeeding)} events meanwhile (other clients' only: the seeded ones sit before its checkpoint)`);
  const checked = await checkSeeded(cartPool);
  console.log(
    `check     ${checked.carts} seeded carts spread over the range, of ${checked.templates} of the ${TEMPLATES} templates: read model document and stream checkpoint = the projection's fold of their stored events`,
  );
  const grownCart = await storeFacts(cartPool, { db: 'cart' });
  const grownAppendDb = await storeFacts(appendPool, { db: 'bench' });
  console.log(`store     cart database grown: ${describeFacts(grownCart)}`);
  console.log(`store     bench database grown: ${describeFacts(grownAppendDb)}`);

  // --- grown: the grown store -----------------------------------------------------------
  const grown = await measure('grown', appendPool);

  // --- clean up ----------------------------------------------------------------------------
  const cleaned = await cleanUpCart();
  if (!cleaned) throw new Error('the cart database was seeded, yet its clean-up found nothing to do');
  const { deleted, deleteSeconds, compacted, seconds: cleanupSeconds } = cleaned;
  const dropStart = nowMs();
  await closeAppendStore();
  const dropSeconds = (nowMs() - dropStart) / 1000;
  const cleanedCart = await storeFacts(cartPool, { db: 'cart' });
  console.log(
    `cleanup   cart database: ${fmtNum(deleted.events)} events, ${fmtNum(deleted.carts)} carts, ${fmtNum(deleted.lines)} lines, ${fmtNum(deleted.checkpoints)} checkpoints deleted in ${fmtNum(deleteSeconds, 1)}s, ` +
      `${compacted.full ? 'VACUUM FULL' : 'VACUUM (VACUUM FULL could not take its lock)'} ${fmtNum(compacted.seconds, 1)}s; bench database dropped in ${fmtNum(dropSeconds, 1)}s`,
  );
  console.log(`store     cart database cleaned: ${describeFacts(cleanedCart)}`);
  if (!compacted.full) notes.push('VACUUM FULL of the cart tables could not take its lock within 10 s: plain VACUUM instead, the files keep their grown size (free space inside).');

  // --- again: the small store a second time -------------------------------------------------
  let again: Measured | undefined;
  if (RECHECK) {
    const againPool = await openAppendStore();
    again = await measure('again', againPool);
    await closeAppendStore();
  }

  // --- ratios ---------------------------------------------------------------------------------
  // The summary's ratio is value / baseline (grown rate / small rate, below 1 when growth
  // slows appends); the printed slowdown is its inverse, the factor the target limits.
  const appendRatio = ratio(grown.append.rate, small.append.rate);
  const appendSlowdown = ratio(small.append.rate, grown.append.rate);
  const ackGrowth = ratio(grown.ack.lag.p99, small.ack.lag.p99);
  const appendMet = appendRatio >= 1 / GROWTH_TARGET;
  const ackMet = ackGrowth <= GROWTH_TARGET && grown.ack.neverSeen === 0;
  const appendTarget = `≥ ${fmtRatio(1 / GROWTH_TARGET)} (≤ ${GROWTH_TARGET}× slowdown)`;
  console.log(`ratio     append: small ${fmtNum(small.append.rate)} / grown ${fmtNum(grown.append.rate)} appends/s = ${fmtRatio(appendSlowdown)} slowdown`);
  console.log(`ratio     ack → visible p99: grown ${fmtMs(grown.ack.lag.p99)} / small ${fmtMs(small.ack.lag.p99)} = ${fmtRatio(ackGrowth)}; p50 ${fmtRatio(ratio(grown.ack.lag.p50, small.ack.lag.p50))}`);
  const noisy = (r: number) => !(r <= NOISE_TOLERANCE && r >= 1 / NOISE_TOLERANCE);
  const noise = again && { append: ratio(small.append.rate, again.append.rate), ack: ratio(again.ack.lag.p99, small.ack.lag.p99) };
  if (noise) {
    console.log(`noise     small store twice: append ${fmtRatio(noise.append)} (first / again), ack → visible p99 ${fmtRatio(noise.ack)} (again / first)`);
    const unreliable = [...(noisy(noise.append) ? ['append'] : []), ...(noisy(noise.ack) ? ['ack → visible'] : [])];
    if (unreliable.length > 0) {
      const message = `the small store measured twice differs by more than ${NOISE_TOLERANCE}× (${unreliable.join(', ')}): that verdict says more about the machine than the store; run again when it is quiet`;
      console.log(`          UNRELIABLE: ${message}`);
      notes.push(`Unreliable: ${message}.`);
    }
  }
  console.log(`target    append grown / small rate ${appendTarget}: ${fmtRatio(appendRatio)} → ${appendMet ? 'MET' : 'NOT MET'}`);
  console.log(`target    ack → visible p99 grown / small ≤ ${GROWTH_TARGET}×: ${fmtRatio(ackGrowth)} → ${ackMet ? 'MET' : 'NOT MET'}${grown.ack.neverSeen ? ` (${grown.ack.neverSeen} never seen)` : ''}`);

  notes.push(
    'The append figures are measured in a throw-away bench database (as append-rate\'s (a)), grown with the same seeded rows as the cart database: no relay, projector or other client writes there. ' +
      'Its small store is an empty table; the cart database\'s small store is whatever the stack holds (details.cartStore.small).',
  );
  notes.push(
    'Seeded rows were just written: more of them may sit in shared buffers and the page cache than the old part of a real store would (CHECKPOINT before each measurement writes them out, it does not evict them).',
  );
  notes.push('The seeded events carry a transaction_id older than every stored event and the relay checkpoint: history already published, not a backlog.');
  const sharedBuffersMiB = (Number(settings.shared_buffers) * 8) / 1024;
  notes.push(
    `The grown cart events table is ${fmtNum(grownCart.sizesMiB.events ?? Number.NaN)} MiB with its indexes, against ${fmtNum(sharedBuffersMiB)} MiB of shared_buffers and ${machine.memoryGiB} GiB of memory: ` +
      'it stays in memory (the page cache at least), so what growth costs once a store outgrows memory (disk reads) is not measured here.',
  );
  notes.push(
    "The ack → visible carts are warm (the command handler decides them from its state cache): the grown store shows there in the append's index inserts and the projector's checkpoint and document lookups, not in reading a cold cart's stream.",
  );
  for (const m of [small, grown, ...(again ? [again] : [])]) {
    if (m.append.errors > 0) notes.push(`${m.label}: ${m.append.errors} append errors (first: ${m.append.firstError})`);
    if (m.ack.errors > 0) notes.push(`${m.label}: ${m.ack.errors} of ${m.ack.sent} commands failed (first: ${m.ack.firstError})`);
    if (m.ack.neverSeen > 0) notes.push(`${m.label}: ${m.ack.neverSeen} commands never visible within ${VISIBLE_TIMEOUT_MS / 1000}s`);
    const restarted = restartedDuring(m.ack);
    if (restarted.length > 0) notes.push(`${m.label}: ${restarted.join(' and ')} restarted during the ack → visible phase (someone else's restart): its figures are not comparable, run again.`);
    if (m.ack.schedule.lag.p99 > 20) notes.push(`${m.label}: the client fell behind its schedule at ${RATE}/s (lag p99 ${m.ack.schedule.lag.p99.toFixed(1)} ms): the machine was saturated.`);
    if (m.ack.skippedAtCap > 0) notes.push(`${m.label}: ${m.ack.skippedAtCap} commands not sent, due while ${m.ack.maxInFlight} were in flight: the command side was saturated.`);
  }

  const smallAppendRow = { metric: 'event store append, small store', value: round(small.append.rate, 2), unit: 'appends/s' };
  const smallAckRow = { metric: `ack → visible p99 at ${RATE}/s, small store`, value: round(small.ack.lag.p99, 2), unit: 'ms' };
  const summary: SummaryRow[] = [
    { ...smallAppendRow, metric: `${smallAppendRow.metric} (baseline)` },
    {
      metric: `event store append, +${fmtNum(SEEDED_EVENTS)} events`,
      value: round(grown.append.rate, 2),
      unit: 'appends/s',
      baseline: smallAppendRow,
      ratio: appendRatio,
      target: appendTarget,
      met: appendMet,
    },
    ...(again ? [{ metric: 'event store append, small store again after clean-up', value: round(again.append.rate, 2), unit: 'appends/s', baseline: smallAppendRow, ratio: ratio(again.append.rate, small.append.rate) }] : []),
    { ...smallAckRow, metric: `${smallAckRow.metric} (baseline)` },
    { metric: `ack → visible p99 at ${RATE}/s, +${fmtNum(SEEDED_EVENTS)} events`, value: round(grown.ack.lag.p99, 2), unit: 'ms', baseline: smallAckRow, ratio: ackGrowth, target: `≤ ${GROWTH_TARGET}×`, met: ackMet },
    ...(again ? [{ metric: `ack → visible p99 at ${RATE}/s, small store again after clean-up`, value: round(again.ack.lag.p99, 2), unit: 'ms', baseline: smallAckRow, ratio: ratio(again.ack.lag.p99, small.ack.lag.p99) }] : []),
  ];
  throwIfStopping();
  const file = writeResult({
    name: 'cost-growth',
    title: 'Cost growth: append and ack → visible with a grown store',
    machine,
    startedMs: started,
    summary,
    details: {
      growth: { events: SEEDED_EVENTS, streams: GROWTH_STREAMS, eventsPerStream: EVENTS_PER_STREAM, templates: TEMPLATES, streamIdPrefix: SEED_PREFIX },
      settings: { clients: CLIENTS, appendSeconds: APPEND_SECONDS, rate: RATE, seconds: SECONDS, carts: CART_COUNT },
      postgres: settings,
      seeding: {
        benchDatabase: seedAppend,
        cartDatabase: seedCart,
        totalSeconds: round(seedAppend.seconds + seedAppend.vacuumSeconds + seedCart.seconds + seedCart.readModelSeconds + seedCart.vacuumSeconds, 2),
        relayPublishedWhileSeeding: publishedWhileSeeding,
      },
      cleanup: { deleted, deleteSeconds, compact: compacted, cartSeconds: cleanupSeconds, benchDatabaseDropSeconds: round(dropSeconds, 2) },
      disk: { freeBytesBefore: disk.freeBytes, estimatedSeedBytes: disk.estimatedBytes, requiredFreeBytes: disk.neededBytes },
      cartStore: { small: smallCart, grown: grownCart, cleaned: cleanedCart },
      benchStore: { grown: grownAppendDb },
      measurements: Object.fromEntries([small, grown, ...(again ? [again] : [])].map((m) => [m.label, { busyCoresBefore: m.busyBefore, append: loopDetails(m.append), ackToVisible: phaseDetails(m.ack) }])),
      warmup: { ackToVisible: phaseDetails(warmup), append: loopDetails(appendWarmup) },
      noticesReceived: probe.notices(),
    },
    notes,
  });
  console.log(`results   ${file}`);
} finally {
  // A failed run must not leave a million rows behind either.
  if (cartSeeded && !cartCleanup) console.log('cleanup   (after a failure) deleting the seeded rows from the cart database …');
  try {
    await shutdown();
  } finally {
    // Interrupted: the exit is the signal's, whatever error the interruption caused here.
    if (signalled) process.exit(130);
  }
}

interface CartCleanup {
  deleted: Awaited<ReturnType<typeof deleteSeeded>>;
  deleteSeconds: number;
  compacted: Awaited<ReturnType<typeof compact>>;
  seconds: number;
}
/**
 * Deletes the seeded rows from the cart database and compacts its tables, once: the run's
 * end, a failure and a signal share it. Stops the seeding first (and waits for its statement
 * in flight); undefined when nothing was seeded there.
 */
function cleanUpCart(): Promise<CartCleanup | undefined> {
  cartCleanup ??= (async () => {
    seedWrites.stopped = true;
    await Promise.allSettled([seedWrites.running]);
    if (!cartSeeded) return undefined;
    const start = nowMs();
    const deleted = await deleteSeeded(cartPool);
    const deleteSeconds = round((nowMs() - start) / 1000, 2);
    const compacted = await compact(cartPool);
    cartSeeded = false;
    return { deleted, deleteSeconds, compacted, seconds: round((nowMs() - start) / 1000, 2) };
  })();
  return cartCleanup;
}

/**
 * The cart clean-up, then everything closed: the bench database dropped, the probe and the
 * pool closed. Once; every step runs whatever became of the one before (a failed DELETE
 * must not leak the bench database or the connections).
 */
function shutdown(): Promise<void> {
  closing ??= runEach([
    ['deleting the seeded rows from the cart database (the next run deletes what is left, first)', cleanUpCart],
    ['dropping the bench database', closeAppendStore],
    ['closing the visibility probe', () => probe.close()],
    ['closing the cart database pool', () => cartPool.end()],
  ]);
  return closing;
}

/** Runs every step in turn, each whatever the ones before did; a failure is printed at once and thrown at the end. */
async function runEach(steps: Array<[what: string, step: () => Promise<unknown>]>): Promise<void> {
  const failures: unknown[] = [];
  for (const [what, step] of steps) {
    try {
      await step();
    } catch (err) {
      console.error(`cleanup   FAILED ${what}: ${err instanceof Error ? err.message : String(err)}`);
      failures.push(err);
    }
  }
  if (failures.length === 1) throw failures[0];
  if (failures.length > 1) throw new AggregateError(failures, `${failures.length} clean-up steps failed (above)`);
}

/**
 * SIGINT (Ctrl-C) or SIGTERM: no new seeding statement, the run's statements on the server
 * cancelled (unless the clean-up already runs: it is one of them), then the clean-up once,
 * within SIGNAL_CLEANUP_MS; exit 130 either way.
 */
function onSignal(signal: NodeJS.Signals): void {
  if (signalled) {
    console.error(`cleanup   ${signal} again: the clean-up is still running (the process exits within ${SIGNAL_CLEANUP_MS / 1000} s of the first signal)`);
    return;
  }
  signalled = true;
  console.error(`\ncleanup   ${signal}: stopping; deleting the seeded rows and dropping the bench database (at most ${SIGNAL_CLEANUP_MS / 1000} s) …`);
  setTimeout(() => {
    console.error(
      `cleanup   not done within ${SIGNAL_CLEANUP_MS / 1000} s: seeded rows (${SEED_PREFIX}…) may remain in the cart database, and a bench_ database on the server; ` +
        'the next cost-growth run deletes the rows first',
    );
    process.exit(130);
  }, SIGNAL_CLEANUP_MS);
  seedWrites.stopped = true;
  const cancelled = cartCleanup
    ? Promise.resolve()
    : cancelOwnStatements().then(
        (n) => void (n > 0 && console.error(`cleanup   cancelled ${n} statements of this run`)),
        (err: unknown) => console.error(`cleanup   could not cancel this run's statements (the clean-up waits for them): ${err instanceof Error ? err.message : String(err)}`),
      );
  void cancelled
    .then(shutdown)
    .then(
      () => console.error('cleanup   done'),
      () => undefined, // runEach printed each failure
    )
    .finally(() => process.exit(130));
}

/** Cancels the statements this run has running on the server (seeding, VACUUM, appends, in both databases). */
async function cancelOwnStatements(): Promise<number> {
  const { rows } = await cartPool.query<{ cancelled: boolean }>(
    `SELECT pg_cancel_backend(pid) AS cancelled FROM pg_stat_activity WHERE application_name = $1 AND pid <> pg_backend_pid() AND state = 'active'`,
    [APPLICATION],
  );
  return rows.filter((r) => r.cancelled).length;
}

/** Stops the run at its next step once it is shutting down (after a signal), instead of measuring on closed connections. */
function throwIfStopping(): void {
  if (closing) throw new Error('stopped: the run is shutting down');
}

/** A statement of the seeding, unless clean-up has stopped it (seedWrites). */
function seedWrite<T>(write: () => Promise<T>): Promise<T> {
  if (seedWrites.stopped) return Promise.reject(new Error('seeding stopped: the run is cleaning up'));
  const running = write();
  seedWrites.running = running;
  return running;
}

interface DiskSpace {
  dataDir: string;
  freeBytes: number;
  estimatedBytes: number;
  neededBytes: number;
}

/**
 * Free space on the filesystem of the stack's Postgres data directory (as the server reports
 * it: .stack/data/postgres, or /var/lib/shop-stack/<hash>/data/postgres when the Postgres OS
 * user cannot reach .stack; tools/stack/install/postgres-layout.ts), against what seeding
 * writes into the cart and the bench database.
 */
async function diskSpace(pool: Pool): Promise<DiskSpace> {
  const { rows } = await pool.query<{ dir: string }>(`SELECT current_setting('data_directory') AS dir`);
  const dataDir = rows[0]!.dir;
  const estimatedBytes = 2 * SEEDED_EVENTS * EVENT_BYTES + GROWTH_STREAMS * READ_MODEL_BYTES_PER_STREAM;
  const neededBytes = DISK_HEADROOM * estimatedBytes;
  let freeBytes: number;
  try {
    const fs = await statfs(dataDir);
    freeBytes = fs.bavail * fs.bsize;
  } catch (err) {
    throw new Error(
      `cannot read the free space of Postgres' data directory ${dataDir} (${err instanceof Error ? err.message : String(err)}): ` +
        `cost-growth seeds about ${fmtGiB(estimatedBytes)} there only when ${fmtGiB(neededBytes)} is free`,
    );
  }
  return { dataDir, freeBytes, estimatedBytes, neededBytes };
}

function fmtGiB(bytes: number): string {
  return `${fmtNum(bytes / 2 ** 30, 1)} GiB`;
}

interface Measured {
  label: string;
  busyBefore?: number;
  append: LoopResult;
  ack: Phase;
}

/** (a) then (b), after writing out dirty pages and waiting (bounded) for the machine to settle. */
async function measure(label: string, appendPool: Pool): Promise<Measured> {
  throwIfStopping();
  await cartPool.query('CHECKPOINT');
  const { busyCoresBeforeStart } = await machineInfoSampled();
  const { run } = await storeAppendLoops(new PostgresEventStore(appendPool), { clients: CLIENTS, seconds: APPEND_SECONDS });
  const d = distribution(run.latencies);
  console.log(
    `${label.padEnd(9)} PostgresEventStore.append (1 event), group commit, ${CLIENTS} writers: ${fmtNum(run.rate)} appends/s` +
      ` (latency p50 ${fmtMs(d.p50)} p99 ${fmtMs(d.p99)}; ${busyCoresBeforeStart ?? '?'} cores busy before, ${run.busyCores ?? '?'} during, this client ${run.clientCores}${run.errors ? `; ${run.errors} errors: ${run.firstError}` : ''})`,
  );
  const ack = await probe.phase(RATE, SECONDS);
  printPhase(label, ack);
  const restarted = restartedDuring(ack);
  if (restarted.length > 0) console.log(`          DISTURBED: ${restarted.join(' and ')} restarted during this phase (its counters went back): run again`);
  return { label, ...(busyCoresBeforeStart === undefined ? {} : { busyBefore: busyCoresBeforeStart }), append: run, ack };
}

/**
 * The cart processes restarted during a phase (by someone else, on a shared stack): their
 * CPU counter went back, or one of the two scrapes found no process.
 */
function restartedDuring(p: Phase): string[] {
  const restarted = (cpu: number | undefined) => cpu === undefined || cpu < 0;
  return [
    ...(restarted(p.processDeltas.cartCommand.process_cpu_seconds_total) ? ['cart-command'] : []),
    ...(restarted(p.processDeltas.cartProjector.process_cpu_seconds_total) ? ['cart-projector'] : []),
  ];
}

/** A new bench database with an events table, kept in `appendStore` (closeAppendStore drops it); its pool. */
async function openAppendStore(): Promise<Pool> {
  const db = await createBenchDatabase();
  const pool = createPool({ url: db.url, max: CLIENTS, log, application: APPLICATION, statementTimeoutMs: 600_000 });
  appendStore = { db, pool };
  // Shutting down meanwhile: its closeAppendStore may have run before this database existed.
  if (closing) {
    await closeAppendStore();
    throw new Error('stopped: the run is shutting down');
  }
  await migrate(pool, [eventStoreMigrations], log);
  return pool;
}

async function closeAppendStore(): Promise<void> {
  if (!appendStore) return;
  const { db, pool } = appendStore;
  appendStore = undefined;
  // Dropped even when ending the pool fails (DROP … WITH (FORCE) ends its connections).
  try {
    await pool.end();
  } finally {
    await db.drop();
  }
}

/** One shopper's cart as the service writes it: events (JSON with placeholders) and the read model's document after them. */
interface CartTemplate {
  types: string[];
  data: string[];
  metadata: string[];
  view: CartView;
  signedIn: boolean;
}

/**
 * TEMPLATES carts of EVENTS_PER_STREAM events each, decided by the cart's decider from a
 * shopper's session (add up to three products, change quantities, now and then remove a
 * line), encoded by the cart's codec; the document is the cart projection's fold of them.
 */
function cartTemplates(): CartTemplate[] {
  const names = ['Stoneware mug, 350 ml', 'Loose-leaf green tea, 100 g', 'Linen notebook, A5, dotted', 'Desk lamp with dimmer', 'Oak side chair', 'Wool throw, 130 × 170 cm'];
  const colours = ['sand', 'slate', 'moss', 'rust'];
  // Prices from $3.50 up to $123.49: a step of 1,733 cents, prime and so coprime to the
  // 12,000-cent range, gives every product its own price, in no order (as a catalog's are).
  const PRICE_FLOOR_CENTS = 350;
  const PRICE_RANGE_CENTS = 12_000;
  const PRICE_STEP_CENTS = 1_733;
  const catalog = Array.from({ length: TEMPLATES * PICKS_PER_TEMPLATE }, (_, i) => ({
    id: randomUUID(),
    name: `${names[i % names.length]} (${colours[i % colours.length]})`,
    unitPrice: { cents: PRICE_FLOOR_CENTS + ((i * PRICE_STEP_CENTS) % PRICE_RANGE_CENTS), currency: 'USD' },
  }));
  return Array.from({ length: TEMPLATES }, (_, t) => {
    // Three carts in four belong to a signed-in customer (their first add also assigns the cart).
    const signedIn = t % 4 !== 3;
    const by = signedIn ? ({ kind: 'customer', customerId: PLACEHOLDER.customer } as const) : ({ kind: 'anonymous' } as const);
    // Template t picks products 3t, 3t + 7 and 3t + 14 (mod 48): every product in exactly one template.
    const picks = Array.from({ length: PICKS_PER_TEMPLATE }, (_, k) => catalog[(t * PICKS_PER_TEMPLATE + k * 7) % catalog.length]!);
    let state: Cart = cartDecider.initialState();
    const events: CartEvent[] = [];
    for (let step = 0; events.length < EVENTS_PER_STREAM && step < EVENTS_PER_STREAM * 10; step++) {
      let decided: CartEvent[];
      try {
        decided = cartDecider.decide(sessionStep(t, step, state, picks, by), state);
      } catch (err) {
        // A step the cart refuses in its state: the next one. The session's quantities stay
        // far below the caps, so any other error is a bug here.
        if (!(err instanceof IllegalStateError)) throw err;
        continue;
      }
      for (const e of decided.slice(0, EVENTS_PER_STREAM - events.length)) {
        events.push(e);
        state = cartDecider.evolve(state, e);
      }
    }
    if (events.length < EVENTS_PER_STREAM) throw new Error(`template ${t}: only ${events.length} of ${EVENTS_PER_STREAM} events decided`);
    const metadata = JSON.stringify({ correlationId: PLACEHOLDER.correlation, ...(signedIn ? { actor: `customer:${PLACEHOLDER.customer}` } : {}), benchSeed: SEED_MARK });
    const encoded = events.map((e) => cartEventCodec.encode(e));
    let view: CartView | null = null;
    for (const [i, e] of encoded.entries()) {
      view = cartView.evolve(view, { id: randomUUID(), type: e.type, streamId: PLACEHOLDER.cart, streamType: CART_STREAM_TYPE, version: i + 1, position: 0, occurredAt: new Date().toISOString(), data: e.data, metadata: {} });
    }
    if (!view) throw new Error(`template ${t}: no cart after ${encoded.length} events`);
    return { types: encoded.map((e) => e.type), data: encoded.map((e) => JSON.stringify(e.data)), metadata: encoded.map(() => metadata), view, signedIn };
  });
}

/** Who sends a cart command (the cart package exports the type only inside CartCommand). */
type Shopper = Extract<CartCommand, { type: 'AddItem' }>['by'];

/** The `step`th thing shopper `t` does to a cart in `state`. */
function sessionStep(t: number, step: number, state: Cart, picks: Array<{ id: string; name: string; unitPrice: Price }>, by: Shopper): CartCommand {
  const cartId = PLACEHOLDER.cart;
  const lines = state.status === 'active' ? [...state.lines.values()] : [];
  const missing = picks.find((p) => !lines.some((l) => l.productId === p.id));
  if (missing && (lines.length === 0 || step % 3 === 0)) {
    return { type: 'AddItem', cartId, productId: missing.id, productName: missing.name, unitPrice: missing.unitPrice, quantity: 1 + ((t + step) % 3), by };
  }
  if (lines.length > 1 && step % 5 === 4) return { type: 'RemoveItem', cartId, productId: lines[0]!.productId, by };
  const line = lines[step % lines.length]!;
  return { type: 'ChangeQuantity', cartId, productId: line.productId, quantity: 1 + ((line.quantity + step) % 9), by };
}

interface SeedOutcome {
  events: number;
  seconds: number;
  readModelSeconds: number;
  vacuumSeconds: number;
  transactionId: string;
}

/**
 * Inserts GROWTH_STREAMS seeded carts into `pool`'s events table (and, in the cart database,
 * their documents and stream checkpoints into the cart read model), then VACUUM ANALYZE.
 */
async function seed(pool: Pool, templates: CartTemplate[], { db }: { db: Db }): Promise<SeedOutcome> {
  const transactionId = await historicTransactionId(pool, { db });
  const cartsPerChunk = Math.max(1, Math.floor(SEED_CHUNK_EVENTS / EVENTS_PER_STREAM));
  // Spread over the last 30 days, a cart's events one second apart.
  const firstAt = Date.now() - 30 * 86_400_000;
  const spacingMs = (30 * 86_400_000) / GROWTH_STREAMS;
  const flat = (pick: (t: CartTemplate) => string[]) => templates.flatMap(pick);
  const types = flat((t) => t.types);
  const data = flat((t) => t.data);
  const metadata = flat((t) => t.metadata);
  let inserted = 0;
  let readModelMs = 0;
  const start = nowMs();
  for (let from = 0; from < GROWTH_STREAMS; from += cartsPerChunk) {
    const indexes = Array.from({ length: Math.min(cartsPerChunk, GROWTH_STREAMS - from) }, (_, k) => from + k);
    const cartIds = indexes.map(seededCartId);
    const templateOf = indexes.map((i) => i % TEMPLATES);
    const customerIds = templateOf.map((t) => (templates[t]!.signedIn ? randomUUID() : ''));
    const at = indexes.map((i) => new Date(firstAt + i * spacingMs));
    // One statement builds the chunk's events from the templates: a round trip and the
    // templates' JSON per chunk, instead of a document per event.
    // - Slots: the templates' types, data and metadata go as three flat arrays, template after
    //   template, EVENTS_PER_STREAM entries each; a cart of template t takes its version v
    //   from slot t × EVENTS_PER_STREAM + v (SQL arrays count from 1, as versions do).
    // - replace(): the templates hold PLACEHOLDER ids, swapped per cart for its own cart id
    //   ($5) and customer id ($6) in the data, and for its customer id and a new correlation
    //   id per event ($8) in the metadata (an anonymous cart's JSON has no customer in it).
    // - ORDER BY: rows take their positions (bigserial, the global order under the one
    //   transaction id) in this order. (c.n - 1) / $14 is an integer division: carts go in
    //   groups of OPEN_CARTS, a group's first events, then its second ones, and so on, so
    //   that streams interleave as live traffic does instead of lying one after the other;
    //   a stream's own versions stay in order.
    const { rowCount } = await seedWrite(() =>
      pool.query(
        `INSERT INTO events (id, transaction_id, stream_type, stream_id, version, type, data, metadata, occurred_at)
         SELECT gen_random_uuid(), $1::xid8, $2, k.cart_id, k.version, ($3::text[])[k.slot],
                replace(replace(($4::text[])[k.slot], $5, k.cart_id), $6, k.customer_id)::jsonb,
                replace(replace(($7::text[])[k.slot], $6, k.customer_id), $8, gen_random_uuid()::text)::jsonb,
                k.at + (k.version - 1) * interval '1 second'
         FROM (
           SELECT c.cart_id, c.customer_id, c.at, v.version, c.template * $9::int + v.version AS slot
           FROM unnest($10::text[], $11::text[], $12::int[], $13::timestamptz[]) WITH ORDINALITY AS c(cart_id, customer_id, template, at, n)
           CROSS JOIN generate_series(1, $9::int) AS v(version)
           ORDER BY (c.n - 1) / $14, v.version, c.n
         ) k`,
        [transactionId, CART_STREAM_TYPE, types, data, PLACEHOLDER.cart, PLACEHOLDER.customer, metadata, PLACEHOLDER.correlation, EVENTS_PER_STREAM, cartIds, customerIds, templateOf, at, OPEN_CARTS],
      ),
    );
    inserted += rowCount ?? 0;
    if (db === 'bench') continue;
    const t0 = nowMs();
    const docs = new Map<string, CartView | null>(
      indexes.map((i, k) => {
        const view = templates[templateOf[k]!]!.view;
        const customerId = view.customerId === PLACEHOLDER.customer ? customerIds[k]! : view.customerId;
        return [cartIds[k]!, { ...view, id: cartIds[k]!, customerId, updatedAt: new Date(at[k]!.getTime() + (EVENTS_PER_STREAM - 1) * 1000).toISOString() }];
      }),
    );
    // The projector's own writer, so that the rows are what it would have left.
    await seedWrite(() =>
      withTransaction(pool, async (tx) => {
        await cartView.save(tx, CART_READ_SCHEMA, docs);
        await tx.query(`INSERT INTO ${CART_READ_SCHEMA}.stream_checkpoints (stream_id, version) SELECT unnest($1::text[]), $2`, [cartIds, EVENTS_PER_STREAM]);
      }),
    );
    readModelMs += nowMs() - t0;
  }
  const seconds = (nowMs() - start - readModelMs) / 1000;
  const vacuumStart = nowMs();
  await seedWrite(() => pool.query(`VACUUM ANALYZE events${db === 'cart' ? `, ${READ_MODEL_TABLES.join(', ')}` : ''}`));
  return { events: inserted, seconds: round(seconds, 2), readModelSeconds: round(readModelMs / 1000, 2), vacuumSeconds: round((nowMs() - vacuumStart) / 1000, 2), transactionId };
}

/**
 * A wrong seed is no result: for a sample of seeded carts, the read model's document and
 * stream checkpoint must be what the projection makes of the events stored for them. The
 * kth sample is the cart of template k mod TEMPLATES nearest past an even spread over the
 * range, so that every template is checked (an even spread alone can land on a few: at
 * the default sizes, carts 5,000 apart are all of templates 0 and 8).
 */
async function checkSeeded(pool: Pool): Promise<{ carts: number; templates: number }> {
  const store = new PostgresEventStore(pool);
  const sampled = (k: number) => {
    const spread = Math.floor((k * GROWTH_STREAMS) / SEED_CHECK_SAMPLE);
    const template = k % TEMPLATES;
    return Math.min(GROWTH_STREAMS - 1, spread + ((template - (spread % TEMPLATES) + TEMPLATES) % TEMPLATES));
  };
  const indexes = [...new Set(Array.from({ length: SEED_CHECK_SAMPLE }, (_, k) => sampled(k)))];
  const ids = indexes.map(seededCartId);
  const loaded = await cartView.load(pool, CART_READ_SCHEMA, ids);
  const { rows } = await pool.query<{ stream_id: string; version: string }>(
    `SELECT stream_id, version::text FROM ${CART_READ_SCHEMA}.stream_checkpoints WHERE stream_id = ANY($1::text[])`,
    [ids],
  );
  const checkpoints = new Map(rows.map((r) => [r.stream_id, Number(r.version)]));
  const wrong: string[] = [];
  for (const id of ids) {
    let folded: CartView | null = null;
    for (const e of await store.readStream(id)) folded = cartView.evolve(folded, e);
    if (folded === null || !isDeepStrictEqual(folded, loaded.get(id) ?? null) || checkpoints.get(id) !== EVENTS_PER_STREAM) wrong.push(id);
  }
  if (wrong.length > 0) {
    const id = wrong[0]!;
    throw new Error(`${wrong.length} of ${ids.length} seeded carts disagree with their events, e.g. ${id}: read model ${JSON.stringify(loaded.get(id))}, checkpoint ${checkpoints.get(id)}`);
  }
  return { carts: ids.length, templates: new Set(indexes.map((i) => i % TEMPLATES)).size };
}

/**
 * A transaction id older than every event stored and, in the cart database, than the cart
 * relay's checkpoint: rows written under it are behind every reader of the global order.
 */
async function historicTransactionId(pool: Pool, { db }: { db: Db }): Promise<string> {
  const { rows: oldest } = await pool.query<{ xid: string }>('SELECT transaction_id::text AS xid FROM events ORDER BY transaction_id LIMIT 1');
  const candidates = oldest.map((r) => BigInt(r.xid));
  if (db === 'cart') {
    const { rows } = await pool.query<{ xid: string }>(`SELECT transaction_id::text AS xid FROM relay_checkpoints WHERE name = 'cart'`);
    // Without a checkpoint the relay would start from the beginning and publish every seeded event.
    if (rows.length === 0) throw new Error('the cart relay has no checkpoint yet: is cart-command running with its relay? (npm run stack -- status)');
    candidates.push(BigInt(rows[0]!.xid));
  }
  // 3 is the first normal transaction id; an empty table with no relay takes any.
  const xid = candidates.length > 0 ? candidates.reduce((a, b) => (b < a ? b : a)) - 1n : 3n;
  if (xid < 3n) throw new Error(`no transaction id left below ${xid + 1n} to seed under`);
  return xid.toString();
}

/**
 * Deletes every seeded row from the cart database: the events with the seeded stream id
 * prefix, the cart stream type and the seed's mark, and the read model's rows of that prefix
 * (no client can give a cart such an id: SEED_PREFIX); nothing when an event of the prefix
 * lacks the mark (assertOnlySeeded). In batches of DELETE_BATCH, each its own short
 * transaction (a long one would hold the cart relay back all along). The bench database is
 * dropped instead.
 */
async function deleteSeeded(pool: Pool): Promise<{ events: number; carts: number; lines: number; checkpoints: number }> {
  await assertOnlySeeded(pool);
  // Text ids: the range walks the (stream_id, version) index, LIKE makes sure under any
  // collation. uuid ids: the range is exactly the prefix.
  const text = (column: string) => ({ where: `${column} BETWEEN $1 AND $2 AND ${column} LIKE $3`, params: [SEEDED_FIRST, SEEDED_LAST, `${SEED_PREFIX}%`] });
  const uuid = (column: string) => ({ where: `${column} BETWEEN $1::uuid AND $2::uuid`, params: [SEEDED_FIRST, SEEDED_LAST] });
  const seededEvents = text('stream_id');
  const batched = async (table: string, match: { where: string; params: string[] }) => {
    const sql = `DELETE FROM ${table} WHERE ctid = ANY (ARRAY(SELECT ctid FROM ${table} WHERE ${match.where} LIMIT ${DELETE_BATCH}))`;
    let total = 0;
    // At most 10,000 batches: 200 million rows, far beyond any growth asked for.
    for (let i = 0; i < 10_000; i++) {
      const { rowCount } = await pool.query(sql, match.params);
      total += rowCount ?? 0;
      if ((rowCount ?? 0) < DELETE_BATCH) return total;
    }
    throw new Error(`still deleting seeded rows of ${table} after 10,000 batches`);
  };
  const events = await batched('events', {
    where: `${seededEvents.where} AND stream_type = $4 AND metadata->>'benchSeed' = $5`,
    params: [...seededEvents.params, CART_STREAM_TYPE, SEED_MARK],
  });
  const s = CART_READ_SCHEMA;
  return {
    events,
    lines: await batched(`${s}.cart_lines`, uuid('cart_id')),
    carts: await batched(`${s}.carts`, uuid('id')),
    checkpoints: await batched(`${s}.stream_checkpoints`, text('stream_id')),
  };
}

/**
 * Refuses to delete when the cart database holds an event of the seeded prefix without the
 * seed's stream type and mark: this bench did not write it, and the read model's rows of its
 * stream would go with the prefix.
 */
async function assertOnlySeeded(pool: Pool): Promise<void> {
  const { rows } = await pool.query<{ n: number; example: string | null }>(
    `SELECT count(*)::int AS n, min(stream_id) AS example FROM events
     WHERE stream_id BETWEEN $1 AND $2 AND stream_id LIKE $3 AND (stream_type <> $4 OR metadata->>'benchSeed' IS DISTINCT FROM $5)`,
    [SEEDED_FIRST, SEEDED_LAST, `${SEED_PREFIX}%`, CART_STREAM_TYPE, SEED_MARK],
  );
  const { n, example } = rows[0]!;
  if (n > 0) {
    throw new Error(
      `the cart database holds ${n} events with a seeded stream id (${SEED_PREFIX}…, e.g. ${example}) but not the seed's mark ` +
        `(stream type '${CART_STREAM_TYPE}', metadata benchSeed '${SEED_MARK}'): cost-growth did not write them, so it deletes nothing. ` +
        'Find out what wrote them before running it again.',
    );
  }
}

/**
 * Gives the space of the deleted rows back: VACUUM FULL rewrites each table with its live
 * rows only (an exclusive lock for a few seconds: cart writes and the relay wait). When the
 * lock cannot be had within 10 s, a plain VACUUM instead (space reusable, files as large).
 */
async function compact(pool: Pool): Promise<{ full: boolean; seconds: number }> {
  const start = nowMs();
  const client = await pool.connect();
  let full = true;
  try {
    await client.query(`SET lock_timeout = '10s'`);
    for (const table of ['events', ...READ_MODEL_TABLES]) {
      try {
        await client.query(`VACUUM (FULL, ANALYZE) ${table}`);
      } catch (err) {
        if (sqlState(err) !== '55P03') throw err; // lock_not_available
        full = false;
        await client.query(`VACUUM ANALYZE ${table}`);
      }
    }
  } finally {
    // Destroyed, not pooled: its session's lock_timeout must not go on to the pool's next
    // user, and a failure above may have left it in any state.
    client.release(true);
  }
  return { full, seconds: round((nowMs() - start) / 1000, 2) };
}

interface StoreFacts {
  events: number;
  streams: number;
  /** Streams in the read model (cart database only). */
  projectedStreams?: number;
  /** pg_total_relation_size (table, indexes, TOAST), MiB. */
  sizesMiB: Record<string, number>;
}

async function storeFacts(pool: Pool, { db }: { db: Db }): Promise<StoreFacts> {
  const readModel = db === 'cart';
  const tables = ['events', ...(readModel ? READ_MODEL_TABLES : [])];
  const { rows: counts } = await pool.query<{ events: number; streams: number }>('SELECT count(*)::int AS events, count(DISTINCT stream_id)::int AS streams FROM events');
  const { rows: sizes } = await pool.query<{ name: string; bytes: string }>('SELECT t AS name, pg_total_relation_size(t::regclass)::text AS bytes FROM unnest($1::text[]) AS t', [tables]);
  const projected = readModel ? (await pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${CART_READ_SCHEMA}.stream_checkpoints`)).rows[0]!.n : undefined;
  return {
    events: counts[0]!.events,
    streams: counts[0]!.streams,
    ...(projected === undefined ? {} : { projectedStreams: projected }),
    sizesMiB: Object.fromEntries(sizes.map((s) => [s.name, round(Number(s.bytes) / 2 ** 20, 2)])),
  };
}

function describeFacts(f: StoreFacts): string {
  const sizes = Object.entries(f.sizesMiB).map(([name, mib]) => `${name.replace(`${CART_READ_SCHEMA}.`, '')} ${fmtNum(mib, 1)}`);
  return `${fmtNum(f.events)} events in ${fmtNum(f.streams)} streams${f.projectedStreams === undefined ? '' : `, ${fmtNum(f.projectedStreams)} in the read model`}; MiB with indexes: ${sizes.join(', ')}`;
}
