/**
 * What each Node process of the stack costs to run, measured in this run on this machine,
 * with the processes run two ways: their TypeScript through tsx (SHOP_RUN_TS=1, as the
 * local stack did before) and the compiled JavaScript (the default, as the image runs).
 *
 *   start     every application process restarted (`npm run stack -- restart`, the
 *             infrastructure left up: a warm start) → seconds until all are healthy
 *   idle      resident memory (VmRSS) of each process with its children, after
 *             IDLE_SECONDS of quiet
 *   load      the peak of the same during LOAD_SECONDS of work: 16 callers changing carts
 *             (gRPC, cart-command → relay → cart-projector) and 16 asking the edge (each from
 *             its own loopback address, bench/lib/stack.ts graphqlCaller) for the
 *             product list (GraphQL, BFF → product), sampled every 250 ms
 *
 * The baseline of each figure is the same figure with tsx. Targets (issue 13): ≤ 100 MB per
 * process idle, ≤ 200 MB under load, warm start ≤ 15 s. Printed, never enforced. The stack
 * is left running the compiled JavaScript, as `npm start` runs it.
 *
 * Knobs (env): BENCH_IDLE_SECONDS (15), BENCH_LOAD_SECONDS (15).
 * Run: npm run bench -- process-footprint (the stack up).
 */
import { readFileSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { CartCommandServiceClient } from '@shop/contracts/shop/cart/v1/command_service';
import { insecure, promiseClient } from '@shop/platform/grpc/client';
import { urls } from '@shop/tools/topology';
import { processes } from '../tools/catalog/catalog.js';
import { appProcesses } from './lib/machine-cpu.js';
import { banner, machineInfoSampled, writeResult, type SummaryRow } from './lib/results.js';
import { ensureBenchProduct, graphqlCaller, grpcAddress, restartStack, runLoops } from './lib/stack.js';
import { fmtNum, fmtRatio, nowMs, ratio } from './lib/stats.js';
import { knob, MAX_SECONDS } from './lib/knobs.js';

const IDLE_SECONDS = knob('BENCH_IDLE_SECONDS', 15, { min: 1, max: MAX_SECONDS });
const LOAD_SECONDS = knob('BENCH_LOAD_SECONDS', 15, { min: 1, max: MAX_SECONDS });
const IDLE_TARGET_MB = 100;
const LOAD_TARGET_MB = 200;
const START_TARGET_S = 15;

/** The catalog's Node processes (Envoy is not one). */
const names = processes().map((p) => p.name);

/** Resident memory of `pid`, MB (0 once it has exited). */
function rssMb(pid: number): number {
  try {
    const kb = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
    return kb ? Number(kb) / 1024 : 0;
  } catch {
    return 0;
  }
}

/** Each process's resident memory with its descendants', MB, from one pass over /proc. */
function sample(): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [pid, name] of appProcesses()) out[name] = (out[name] ?? 0) + rssMb(pid);
  return out;
}

const restartAll = (runTs: boolean): Promise<number> => restartStack([], { SHOP_RUN_TS: runTs ? '1' : '' });

/** Cart changes over gRPC and product lists through the edge, for LOAD_SECONDS; the peak memory of each process meanwhile. */
async function loadPeak(productId: string): Promise<{ peak: Record<string, number>; commands: number; queries: number; errors: number; firstError?: string }> {
  const raw = new CartCommandServiceClient(grpcAddress('cart-command'), insecure());
  const carts = promiseClient(raw, 10_000);
  const peak: Record<string, number> = {};
  const timer = setInterval(() => {
    for (const [name, mb] of Object.entries(sample())) peak[name] = Math.max(peak[name] ?? 0, mb);
  }, 250);
  try {
    const cartIds = Array.from({ length: 16 }, () => randomUUID());
    await Promise.all(cartIds.map((cartId) => carts.addItem({ cartId, productId, quantity: 1 })));
    // Each caller from its own address: the edge's limit per client must not thin the load out.
    const lists = Array.from({ length: 16 }, (_, w) => graphqlCaller(urls.graphql, w, '{ products { id name } }'));
    const [commands, queries] = await Promise.all([
      runLoops({ concurrency: 16, durationMs: LOAD_SECONDS * 1000, op: async (w, i) => void (await carts.changeQuantity({ cartId: cartIds[w]!, productId, quantity: 2 + (i % 2) })) }),
      runLoops({ concurrency: 16, durationMs: LOAD_SECONDS * 1000, op: (w) => lists[w]!() }),
    ]);
    const firstError = commands.firstError ?? queries.firstError;
    return { peak, commands: commands.ops, queries: queries.ops, errors: commands.errors + queries.errors, ...(firstError ? { firstError } : {}) };
  } finally {
    clearInterval(timer);
    raw.close();
  }
}

async function measure(runTs: boolean, productId: string) {
  const startSeconds = await restartAll(runTs);
  await new Promise((r) => setTimeout(r, IDLE_SECONDS * 1000));
  const idle = sample();
  const load = await loadPeak(productId);
  return { startSeconds, idle, ...load };
}

const started = nowMs();
const machine = await machineInfoSampled();
banner(`process-footprint: memory and start of the stack's ${names.length} Node processes, tsx vs compiled JavaScript`);
const product = await ensureBenchProduct();
const tsx = await measure(true, product.id);
const compiled = await measure(false, product.id);

const max = (r: Record<string, number>) => {
  const values = Object.values(r);
  if (values.length < names.length) throw new Error(`measured ${values.length} of ${names.length} processes: is the stack up (npm run stack -- status)?`);
  return Math.max(...values);
};
const row = (name: string) =>
  `${name.padEnd(16)} ${fmtNum(tsx.idle[name] ?? Number.NaN).padStart(5)} → ${fmtNum(compiled.idle[name] ?? Number.NaN).padStart(5)} MB idle   ${fmtNum(tsx.peak[name] ?? Number.NaN).padStart(5)} → ${fmtNum(compiled.peak[name] ?? Number.NaN).padStart(5)} MB under load`;
console.log('process          tsx → compiled');
for (const name of names) console.log(row(name));
console.log(`warm start (restart of every app until healthy): ${fmtNum(tsx.startSeconds, 1)} s → ${fmtNum(compiled.startSeconds, 1)} s`);
console.log(`load: ${fmtNum(compiled.commands)} cart commands and ${fmtNum(compiled.queries)} product lists, ${compiled.errors} errors (compiled); ${fmtNum(tsx.commands)} and ${fmtNum(tsx.queries)}, ${tsx.errors} errors (tsx)${compiled.firstError ?? tsx.firstError ? `; first: ${compiled.firstError ?? tsx.firstError}` : ''}`);
const verdict = (ok: boolean) => (ok ? 'MET' : 'NOT MET');
console.log(`target    ≤ ${IDLE_TARGET_MB} MB per process idle: largest ${fmtNum(max(compiled.idle))} MB → ${verdict(max(compiled.idle) <= IDLE_TARGET_MB)}`);
console.log(`target    ≤ ${LOAD_TARGET_MB} MB per process under load: largest ${fmtNum(max(compiled.peak))} MB → ${verdict(max(compiled.peak) <= LOAD_TARGET_MB)}`);
console.log(`target    warm start ≤ ${START_TARGET_S} s: ${fmtNum(compiled.startSeconds, 1)} s → ${verdict(compiled.startSeconds <= START_TARGET_S)}`);

const mb = (value: number) => Math.round(value);
const summary: SummaryRow[] = [
  { metric: 'largest process, idle (tsx)', value: mb(max(tsx.idle)), unit: 'MB' },
  { metric: 'largest process, idle', value: mb(max(compiled.idle)), unit: 'MB', baseline: { metric: 'with tsx', value: mb(max(tsx.idle)), unit: 'MB' }, ratio: ratio(max(compiled.idle), max(tsx.idle)), target: `≤ ${IDLE_TARGET_MB} MB`, met: max(compiled.idle) <= IDLE_TARGET_MB },
  { metric: 'largest process, under load', value: mb(max(compiled.peak)), unit: 'MB', baseline: { metric: 'with tsx', value: mb(max(tsx.peak)), unit: 'MB' }, ratio: ratio(max(compiled.peak), max(tsx.peak)), target: `≤ ${LOAD_TARGET_MB} MB`, met: max(compiled.peak) <= LOAD_TARGET_MB },
  { metric: 'warm start, every app healthy', value: Math.round(compiled.startSeconds * 10) / 10, unit: 's', baseline: { metric: 'with tsx', value: Math.round(tsx.startSeconds * 10) / 10, unit: 's' }, ratio: ratio(compiled.startSeconds, tsx.startSeconds), target: `≤ ${START_TARGET_S} s`, met: compiled.startSeconds <= START_TARGET_S },
];
const file = writeResult({
  name: 'process-footprint',
  title: "Memory and warm start of the stack's Node processes, tsx vs compiled JavaScript",
  machine,
  startedMs: started,
  summary,
  details: { idleSeconds: IDLE_SECONDS, loadSeconds: LOAD_SECONDS, tsx, compiled },
  notes: [
    'Memory is VmRSS of each process and its children, sampled from /proc; with tsx it includes its module loader thread and transform caches.',
    `Ratio ${fmtRatio(ratio(max(compiled.idle), max(tsx.idle)))}: compiled / tsx.`,
  ],
});
console.log(`results   ${file}`);
