/**
 * Cart command append rate vs pgbench, all measured in this run on this machine.
 *
 *   baseline  pgbench: one single-row INSERT per transaction into a table shaped like the
 *             event store's (same columns and indexes), 32 clients, the server's fsync → TPS
 *   (a)       PostgresEventStore.append, one event per call, 32 concurrent loops, each on
 *             its own stream with the expected version → appends/s; with group commit (the
 *             default: appends that wait share a statement) and (a0) without it
 *   (b)       the RUNNING cart-command process over gRPC (direct port): 32 concurrent
 *             callers, ChangeQuantity alternating 2/3 on a line added once → commands/s
 *   (b')      AddItem on a new cart per call (includes the product lookup through Envoy)
 *   (c)       grpc.health.v1.Health/Check on the same process and callers: what gRPC on
 *             Node costs here with no work at all, the ceiling (b) can approach
 *
 * Targets (issue 13): (a) ≥ 1.0× pgbench; (b) ≥ 0.5× (c), the transport's ceiling; (b') ≥
 * 0.3× (c). Printed, never fail the run.
 *
 * Knobs (env): BENCH_SECONDS (10), BENCH_CLIENTS (32), BENCH_CARTS_PER_CALLER (16: each
 * caller rotates over its own carts so that streams stay cart-sized; 1 = one cart per
 * caller, whose stream then grows by hundreds of events during the run), BENCH_ADDITEM_SECONDS (5, 0 = skip).
 *
 * Run: node --import tsx bench/append-rate.ts
 */
import { randomUUID } from 'node:crypto';
import { writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CartCommandServiceClient } from '@shop/contracts/shop/cart/v1/command_service';
import { eventStoreMigrations, PostgresEventStore } from '@shop/eventsourcing/postgres';
import { insecure, promiseClient } from '@shop/platform/grpc/client';
import { createLogger } from '@shop/platform/log';
import { migrate } from '@shop/platform/postgres/migrate';
import { createPool } from '@shop/platform/postgres/pool';
import { cpuMsPer, formatCpuMs, idleCores, machineCpuSnapshot } from './lib/machine-cpu.js';
import { banner, busyCores, cpuSnapshot, machineInfoSampled, writeResult, type SummaryRow } from './lib/results.js';
import {
  createBenchDatabase,
  ensureBenchProduct,
  execFileAsync,
  grpcAddress,
  healthClient,
  metricsDelta,
  pgbenchPath,
  pgCliArgs,
  pgCliEnv,
  runLoops,
  scrapeMetrics,
  waitForReady,
  type LoopResult,
} from './lib/stack.js';
import { postgresSettings, storeAppendLoops } from './lib/store-append.js';
import { distribution, fmtMs, fmtNum, fmtRatio, loopDetails, nowMs, ratio, round } from './lib/stats.js';
import { knob, MAX_SECONDS } from './lib/knobs.js';

const SECONDS = knob('BENCH_SECONDS', 10, { min: 1, max: MAX_SECONDS });
const CLIENTS = knob('BENCH_CLIENTS', 32, { min: 1, integer: true });
const CARTS_PER_CALLER = knob('BENCH_CARTS_PER_CALLER', 16, { min: 1, integer: true });
const ADDITEM_SECONDS = knob('BENCH_ADDITEM_SECONDS', 5, { max: MAX_SECONDS });
const STORE_TARGET = 1.0;
const CHANGE_TARGET = 0.5;
const ADD_TARGET = 0.3;
/** How long the machine is watched doing nothing, for each process's idle CPU. */
const IDLE_SAMPLE_MS = 3_000;

const started = nowMs();
const machine = await machineInfoSampled();
const log = createLogger('bench-append-rate', 'warn');
banner(`append-rate: cart command append rate vs pgbench (${CLIENTS} clients, ${SECONDS}s each, nproc ${machine.nproc})`);
console.log(`machine   ${machine.busyCoresBeforeStart ?? '?'} of ${machine.nproc} cores already busy before start (load avg ${machine.loadAverage.join(' ')})`);

const db = await createBenchDatabase();
const pool = createPool({ url: db.url, max: CLIENTS, log, application: 'bench-append-rate' });
const notes: string[] = [];
try {
  const settings = await postgresSettings(pool);
  console.log(`postgres ${settings.server_version}: fsync=${settings.fsync} synchronous_commit=${settings.synchronous_commit} wal_sync_method=${settings.wal_sync_method}`);

  // --- baseline: pgbench ---------------------------------------------------------------
  await migrate(pool, [eventStoreMigrations], log);
  // The same shape as the event store's table (columns, keys, indexes), under another name.
  await pool.query('CREATE TABLE pgbench_events (LIKE events INCLUDING ALL)');
  const cpuBefore = cpuSnapshot();
  const pgbench = { ...(await runPgbench(db.name)), busyCores: 0 };
  pgbench.busyCores = busyCores(cpuBefore, cpuSnapshot()) ?? Number.NaN;
  console.log(
    `baseline  pgbench 1-row INSERT/tx, -c ${CLIENTS} -j 2 -T ${SECONDS}: ${fmtNum(pgbench.tps)} TPS (latency avg ${fmtMs(pgbench.latencyMs)}; machine ${pgbench.busyCores} cores busy)`,
  );

  // --- (a) the raw event store ---------------------------------------------------------
  const { run: aloneRun } = await storeAppendLoops(new PostgresEventStore(pool, { groupCommit: false }), { clients: CLIENTS, seconds: SECONDS });
  report('(a0)      PostgresEventStore.append (1 event), one statement each', aloneRun, pgbench.tps, 'appends/s');
  const { run: storeRun, streamIds } = await storeAppendLoops(new PostgresEventStore(pool), { clients: CLIENTS, seconds: SECONDS });
  report('(a)       PostgresEventStore.append (1 event), group commit', storeRun, pgbench.tps, 'appends/s');
  // (a)'s streams only: (a0) is one append per transaction by design.
  const transactions = await pool.query<{ appends: number; transactions: number }>(
    'SELECT count(*)::int AS appends, count(DISTINCT transaction_id)::int AS transactions FROM events WHERE stream_id = ANY($1::text[])',
    [streamIds],
  );
  const { appends, transactions: txs } = transactions.rows[0]!;
  console.log(`          ${fmtNum(appends)} appends in ${fmtNum(txs)} transactions: ${fmtNum(appends / Math.max(1, txs), 1)} per transaction`);

  // --- (b) through gRPC, the running cart-command process -------------------------------
  await waitForReady(['product', 'cart-command', 'cart-projector']);
  const product = await ensureBenchProduct();
  const raw = new CartCommandServiceClient(grpcAddress('cart-command'), insecure());
  const carts = promiseClient(raw, 10_000);
  try {
    const cartIds = Array.from({ length: CLIENTS }, () => Array.from({ length: CARTS_PER_CALLER }, () => randomUUID()));
    const setupStart = nowMs();
    await runBounded(cartIds.flat(), CLIENTS, (cartId) => carts.addItem({ cartId, productId: product.id, quantity: 1 }));
    console.log(`setup     ${fmtNum(CLIENTS * CARTS_PER_CALLER)} carts with one line (AddItem) in ${fmtNum((nowMs() - setupStart) / 1000, 1)}s`);
    const turns = cartIds.map((ids) => ids.map(() => 0));
    const scrape = async () => ({
      command: await scrapeMetrics('cart-command', ['process_cpu_seconds_total', 'relay_events_published_total']),
      projector: await scrapeMetrics('cart-projector', ['process_cpu_seconds_total', 'processor_events_total{outcome="applied"}', 'processor_batch_seconds_count']),
      product: await scrapeMetrics('product', ['process_cpu_seconds_total']),
    });
    // What every process spends doing nothing, taken off the machine's CPU per command below.
    const idle = await idleCores(IDLE_SAMPLE_MS);
    const before = await scrape();
    const machineBefore = machineCpuSnapshot();
    const windowStart = nowMs();
    const grpcRun = await runLoops({
      concurrency: CLIENTS,
      durationMs: SECONDS * 1000,
      op: async (w, i) => {
        const c = i % CARTS_PER_CALLER;
        const turn = turns[w]![c]!++;
        await carts.changeQuantity({ cartId: cartIds[w]![c]!, productId: product.id, quantity: turn % 2 === 0 ? 2 : 3 });
      },
    });
    const machineAfter = machineCpuSnapshot();
    const windowSeconds = (nowMs() - windowStart) / 1000;
    const after = await scrape();
    const maxStream = 1 + Math.max(...turns.flat());
    report('(b)       gRPC ChangeQuantity (cart-command)', grpcRun, pgbench.tps, 'commands/s');
    // Includes the warm-up second: CPU per command over every command sent in the window.
    const sentInWindow = grpcRun.ops * (1 + 1 / SECONDS);
    const processes = {
      cartCommand: metricsDelta(before.command, after.command),
      cartProjector: metricsDelta(before.projector, after.projector),
      product: metricsDelta(before.product, after.product),
    };
    const cpuMsPerCommand = (d: Record<string, number>) => (d.process_cpu_seconds_total === undefined ? Number.NaN : (d.process_cpu_seconds_total * 1000) / sentInWindow);
    console.log(
      `          CPU per command: cart-command ${fmtMs(cpuMsPerCommand(processes.cartCommand))}, cart-projector ${fmtMs(cpuMsPerCommand(processes.cartProjector))}` +
        ` (projector applied ${fmtNum(processes.cartProjector['processor_events_total{outcome="applied"}'] ?? Number.NaN)} events in ${fmtNum(processes.cartProjector.processor_batch_seconds_count ?? Number.NaN)} batches meanwhile)`,
    );
    // Every process on the machine: what a command costs the database, the broker and the client too.
    const machineCpu = cpuMsPer(machineBefore, machineAfter, sentInWindow, { cores: idle, windowSeconds });
    console.log(`          machine CPU per command, by process, idle subtracted: ${formatCpuMs(machineCpu)}`);
    console.log(`          streams: ${fmtNum(CLIENTS * CARTS_PER_CALLER)} carts, longest ~${fmtNum(maxStream)} events at the end (warm streams are decided from the handler's state cache)`);

    let addRun: LoopResult | undefined;
    if (ADDITEM_SECONDS > 0) {
      addRun = await runLoops({
        concurrency: CLIENTS,
        durationMs: ADDITEM_SECONDS * 1000,
        op: async () => void (await carts.addItem({ cartId: randomUUID(), productId: product.id, quantity: 1 })),
      });
      report("(b')      gRPC AddItem, new cart per call (+ product lookup via Envoy)", addRun, pgbench.tps, 'commands/s');
    }

    // (c) The transport's ceiling here: a gRPC call that does nothing, same process, same callers.
    const health = healthClient(grpcAddress('cart-command'));
    const noopBefore = machineCpuSnapshot();
    const noopStart = nowMs();
    const noopRun = await runLoops({ concurrency: CLIENTS, durationMs: Math.min(SECONDS, 5) * 1000, op: async () => void (await health.check()) });
    const noopCpu = cpuMsPer(noopBefore, machineCpuSnapshot(), noopRun.ops, { cores: idle, windowSeconds: (nowMs() - noopStart) / 1000 });
    health.close();
    report('(c)       gRPC Health/Check on cart-command (no work: the transport ceiling)', noopRun, pgbench.tps, 'calls/s');
    console.log(`          machine CPU per call, by process, idle subtracted: ${formatCpuMs(noopCpu)}`);
    console.log(`          ChangeQuantity = ${fmtRatio(ratio(grpcRun.rate, noopRun.rate))} of the no-op call rate`);

    const storeRatio = ratio(storeRun.rate, pgbench.tps);
    const changeRatio = ratio(grpcRun.rate, noopRun.rate);
    const addRatio = addRun ? ratio(addRun.rate, noopRun.rate) : Number.NaN;
    const verdict = (x: number, target: number) => (x >= target ? 'MET' : 'NOT MET');
    console.log(`target    event store append ≥ ${STORE_TARGET}× pgbench: ${fmtRatio(storeRatio)} → ${verdict(storeRatio, STORE_TARGET)}`);
    console.log(`target    gRPC ChangeQuantity ≥ ${CHANGE_TARGET}× Health/Check: ${fmtRatio(changeRatio)} → ${verdict(changeRatio, CHANGE_TARGET)}`);
    if (addRun) console.log(`target    gRPC AddItem ≥ ${ADD_TARGET}× Health/Check: ${fmtRatio(addRatio)} → ${verdict(addRatio, ADD_TARGET)}`);
    if (CARTS_PER_CALLER > 1) notes.push(`Each gRPC caller rotates over ${CARTS_PER_CALLER} carts of its own, so that streams stay cart-sized; the command handler keeps each warm cart's state in memory, so a command costs one append.`);
    if (grpcRun.errors > 0) notes.push(`gRPC ChangeQuantity errors: ${grpcRun.errors} (first: ${grpcRun.firstError})`);
    if (storeRun.errors > 0) notes.push(`store append errors: ${storeRun.errors} (first: ${storeRun.firstError})`);
    if (aloneRun.errors > 0) notes.push(`store append (no group commit) errors: ${aloneRun.errors} (first: ${aloneRun.firstError})`);
    notes.push('The gRPC figures include the rest of the running stack working on the same 2 cores: the relay publishing to Kafka and the projector updating the read model.');

    const baseline = { metric: 'pgbench 1-row INSERT/tx', value: round(pgbench.tps, 1), unit: 'TPS' };
    const ceiling = { metric: 'gRPC Health/Check', value: round(noopRun.rate, 1), unit: 'calls/s' };
    const summary: SummaryRow[] = [
      { metric: 'pgbench 1-row INSERT/tx (baseline)', value: round(pgbench.tps, 1), unit: 'TPS' },
      { metric: 'event store append (1 event), one statement each', value: round(aloneRun.rate, 1), unit: 'appends/s', baseline, ratio: ratio(aloneRun.rate, pgbench.tps) },
      { metric: 'event store append (1 event), group commit', value: round(storeRun.rate, 1), unit: 'appends/s', baseline, ratio: storeRatio, target: `≥ ${STORE_TARGET}× pgbench`, met: storeRatio >= STORE_TARGET },
      { metric: 'gRPC Health/Check, no work (transport ceiling)', value: round(noopRun.rate, 1), unit: 'calls/s', baseline, ratio: ratio(noopRun.rate, pgbench.tps) },
      { metric: 'gRPC ChangeQuantity', value: round(grpcRun.rate, 1), unit: 'commands/s', baseline: ceiling, ratio: changeRatio, target: `≥ ${CHANGE_TARGET}× Health/Check`, met: changeRatio >= CHANGE_TARGET },
      ...(addRun ? [{ metric: 'gRPC AddItem (new cart, product lookup)', value: round(addRun.rate, 1), unit: 'commands/s', baseline: ceiling, ratio: addRatio, target: `≥ ${ADD_TARGET}× Health/Check`, met: addRatio >= ADD_TARGET }] : []),
    ];
    const file = writeResult({
      name: 'append-rate',
      title: 'Cart command append rate vs pgbench',
      machine,
      startedMs: started,
      summary,
      details: {
        clients: CLIENTS,
        seconds: SECONDS,
        cartsPerCaller: CARTS_PER_CALLER,
        postgres: settings,
        pgbench,
        store: loopDetails(storeRun),
        storeWithoutGroupCommit: loopDetails(aloneRun),
        appendsPerTransaction: appends / Math.max(1, txs),
        grpcChangeQuantity: {
          ...loopDetails(grpcRun),
          longestStreamEvents: maxStream,
          processDeltas: processes,
          cpuMsPerCommand: { cartCommand: round(cpuMsPerCommand(processes.cartCommand), 1), cartProjector: round(cpuMsPerCommand(processes.cartProjector), 1) },
          machineCpuMsPerCommand: Object.fromEntries(machineCpu),
        },
        ...(addRun ? { grpcAddItem: loopDetails(addRun) } : {}),
        grpcNoop: { ...loopDetails(noopRun), machineCpuMsPerCall: Object.fromEntries(noopCpu) },
      },
      notes,
    });
    console.log(`results   ${file}`);
  } finally {
    raw.close();
  }
} finally {
  await pool.end();
  await db.drop();
}

function report(label: string, run: LoopResult, baseline: number, unit: string): void {
  const d = distribution(run.latencies);
  console.log(
    `${label}: ${fmtNum(run.rate)} ${unit} = ${fmtRatio(ratio(run.rate, baseline))} pgbench` +
      ` (latency p50 ${fmtMs(d.p50)} p99 ${fmtMs(d.p99)}; machine ${run.busyCores ?? '?'} cores busy, this client ${run.clientCores}${run.errors ? `; ${run.errors} errors: ${run.firstError}` : ''})`,
  );
}

async function runPgbench(database: string): Promise<{ tps: number; latencyMs: number; transactions: number; failed: number; output: string }> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'shop-bench-'));
  const script = path.join(dir, 'append.sql');
  // One event-sized row per transaction; a random version keeps (stream_id, version) unique.
  writeFileSync(
    script,
    [
      '\\set v random(1, 1000000000000)',
      `INSERT INTO pgbench_events (id, stream_type, stream_id, version, type, data, metadata) VALUES (gen_random_uuid(), 'cart', 'pgbench-' || :client_id, :v, 'shop.cart.v1.QuantityChanged', '{"cartId":"0196a3c0-0000-7000-8000-000000000001","productId":"0196a3c0-0000-7000-8000-000000000002","quantity":2}', '{"correlationId":"0196a3c0-0000-7000-8000-000000000003"}');`,
      '',
    ].join('\n'),
  );
  try {
    const { stdout } = await execFileAsync(
      pgbenchPath(),
      ['-c', String(CLIENTS), '-j', '2', '-T', String(SECONDS), '-n', '-f', script, ...pgCliArgs(database)],
      { env: pgCliEnv(), timeout: (SECONDS + 30) * 1000, maxBuffer: 1 << 20 },
    );
    const num = (re: RegExp) => Number(re.exec(stdout)?.[1] ?? Number.NaN);
    const tps = num(/tps = ([\d.]+) \(without initial connection time\)/);
    if (!Number.isFinite(tps)) throw new Error(`cannot read TPS from pgbench output:\n${stdout}`);
    return {
      tps,
      latencyMs: num(/latency average = ([\d.]+) ms/),
      transactions: num(/number of transactions actually processed: (\d+)/),
      failed: num(/number of failed transactions: (\d+)/),
      output: stdout.trim(),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Runs `fn` over `items` with at most `concurrency` in flight; the first failure rejects. */
async function runBounded<T>(items: T[], concurrency: number, fn: (item: T) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, items.length) }, async () => {
      while (next < items.length) await fn(items[next++]!);
    }),
  );
}
