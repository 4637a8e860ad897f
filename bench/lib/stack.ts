/**
 * What the benchmarks need from the running stack: a throw-away database, pgbench, a
 * product to add to carts, and a bounded closed-loop load driver. Traffic goes to
 * 127.0.0.1 only (every address comes from tools/stack/topology.ts).
 */
import { execFile } from 'node:child_process';
import http from 'node:http';
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { ProductServiceClient } from '@shop/contracts/shop/product/v1/service';
import { insecure, promiseClient, withMetadata } from '@shop/platform/grpc/client';
import { createTestDatabase, type TestDatabase } from '@shop/testing';
import { findPgBinDir } from '@shop/tools/install/postgres-layout';
import { bffHttpMetricsPort, grpcServices, infraPorts, pgPassword, pgUser, workers } from '@shop/tools/topology';
import { devServiceIdentity } from '@shop/tools/dev-secrets';
import { busyCores, cpuSnapshot, processCores, repoRoot, type CpuSnapshot } from './results.js';
import { distribution, nowMs, type Distribution } from './stats.js';

export const execFileAsync = promisify(execFile);

/**
 * Restarts stack processes (all of them when none is named) with `npm run stack -- restart`,
 * with these variables set for it (SHOP_RUN_TS, SHOP_STACK_ENV: tools/stack/apps.ts) → the
 * seconds until they were all ready again.
 */
export async function restartStack(names: string[], env: Record<string, string>): Promise<number> {
  const started = nowMs();
  await execFileAsync(process.execPath, ['--import', 'tsx', 'tools/stack/cli.ts', 'restart', ...names], {
    cwd: repoRoot,
    env: { ...process.env, ...env },
    maxBuffer: 16 * 1024 * 1024,
  });
  return (nowMs() - started) / 1000;
}

/** A fresh database on the stack's Postgres, named `bench_<hex>`; drop it when done. */
export const createBenchDatabase = (): Promise<TestDatabase> => createTestDatabase('bench');

/** pgbench from the same Debian Postgres the stack runs (tools/stack/install/postgres-layout.ts). */
export function pgbenchPath(): string {
  const binDir = findPgBinDir();
  const pgbench = binDir && path.join(binDir, 'pgbench');
  if (!pgbench || !existsSync(pgbench)) throw new Error('pgbench not found under /usr/lib/postgresql/*/bin: run `npm run stack -- install`');
  return pgbench;
}

/** Connection arguments of the stack's server for the Postgres command-line tools. */
export const pgCliArgs = (database: string) => ['-h', '127.0.0.1', '-p', String(infraPorts.postgres), '-U', pgUser, database];
export const pgCliEnv = () => ({ ...process.env, PGPASSWORD: pgPassword });

export const grpcAddress = (name: string): string => {
  const s = grpcServices.find((x) => x.name === name);
  if (!s) throw new Error(`unknown service ${name}`);
  return `127.0.0.1:${s.grpcPort}`;
};

/** The ops HTTP port (/metrics) of a stack process. */
export function metricsPort(name: string): number {
  if (name === 'bff') return bffHttpMetricsPort;
  if (name in workers) return workers[name as keyof typeof workers].httpPort;
  const s = grpcServices.find((x) => x.name === name);
  if (!s) throw new Error(`unknown process ${name}`);
  return s.httpPort;
}

/**
 * Waits (bounded) until each named stack process answers 200 on its /readyz: the stack may
 * have just been (re)started by `stack up` or by someone else's `npm test`.
 */
export async function waitForReady(processes: string[], timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (const name of processes) {
    let last = '';
    for (;;) {
      try {
        const res = await fetch(`http://127.0.0.1:${metricsPort(name)}/readyz`, { signal: AbortSignal.timeout(2_000) });
        if (res.ok) break;
        last = `/readyz answered ${res.status}`;
      } catch (err) {
        last = err instanceof Error ? err.message : String(err);
      }
      if (Date.now() > deadline) throw new Error(`${name} is not ready (${last}): start the stack with \`npm run stack -- up\``);
      await new Promise((r) => setTimeout(r, 250));
    }
  }
}

/**
 * Sums of Prometheus series from a process's /metrics, by metric name (every label set
 * added up); `undefined` for a name it does not expose. Empty when the process is unreachable.
 */
export async function scrapeMetrics(process: string, names: string[]): Promise<Record<string, number | undefined>> {
  const out: Record<string, number | undefined> = {};
  let text = '';
  try {
    const res = await fetch(`http://127.0.0.1:${metricsPort(process)}/metrics`, { signal: AbortSignal.timeout(3_000) });
    text = res.ok ? await res.text() : '';
  } catch {
    return out;
  }
  // A name may carry labels to match, e.g. `processor_events_total{outcome="applied"}`.
  const wanted = names.map((n) => {
    const m = /^([^{]+)(?:\{(.*)\})?$/.exec(n)!;
    return { key: n, name: m[1]!, labels: (m[2] ?? '').split(',').filter(Boolean) };
  });
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{([^}]*)\})? ([^ ]+)/.exec(line);
    if (!m) continue;
    for (const w of wanted) {
      if (w.name !== m[1] || !w.labels.every((l) => (m[2] ?? '').split(',').includes(l))) continue;
      out[w.key] = (out[w.key] ?? 0) + Number(m[3]);
    }
  }
  return out;
}

/** The difference of two scrapes (after − before), per name present in both. */
export function metricsDelta(before: Record<string, number | undefined>, after: Record<string, number | undefined>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(after)) if (v !== undefined && before[k] !== undefined) out[k] = Math.round((v - before[k]!) * 1000) / 1000;
  return out;
}

/** A Prometheus histogram's cumulative bucket counts (upper bound in seconds → count). */
export type HistogramCounts = Map<number, number>;

/**
 * The cumulative buckets of histogram `name` (series matching `labels`, e.g. `stage="applied"`,
 * added up) of a process, for the bounds `bounds` (its buckets, in seconds).
 */
export async function scrapeHistogram(process: string, name: string, labels: string[], bounds: number[]): Promise<HistogramCounts> {
  const series = [...bounds.map(String), '+Inf'].map((le) => `${name}_bucket{${[...labels, `le="${le}"`].join(',')}}`);
  const values = await scrapeMetrics(process, series);
  return new Map([...bounds, Number.POSITIVE_INFINITY].map((bound, i) => [bound, values[series[i]!] ?? 0]));
}

/**
 * The `q` quantile of what was observed between two scrapes, in ms, estimated as Prometheus'
 * histogram_quantile does (linear within the bucket it falls in; the last finite bound past
 * it; NaN when nothing was observed), with the count observed.
 */
export function histogramQuantileMs(before: HistogramCounts, after: HistogramCounts, q: number): { ms: number; count: number } {
  const deltas = [...after].map(([bound, n]): [number, number] => [bound, n - (before.get(bound) ?? 0)]);
  const count = deltas.at(-1)?.[1] ?? 0;
  if (count <= 0) return { ms: Number.NaN, count: 0 };
  const rank = q * count;
  let lower = 0;
  let below = 0;
  for (const [bound, n] of deltas) {
    if (n >= rank) {
      if (!Number.isFinite(bound)) return { ms: lower * 1000, count };
      return { ms: (lower + ((bound - lower) * (rank - below)) / Math.max(1, n - below)) * 1000, count };
    }
    lower = bound;
    below = n;
  }
  return { ms: Number.NaN, count };
}

const BENCH_PRODUCT_SKU = 'BENCH-WIDGET-1';
const BENCH_PRODUCT_NAME = 'Bench widget (benchmarks)';

/**
 * The product the benchmarks add to carts: found by its SKU, created once (product gRPC,
 * direct port) when missing, so that repeated runs do not grow the catalog.
 */
export async function ensureBenchProduct(): Promise<{ id: string; name: string }> {
  const raw = new ProductServiceClient(grpcAddress('product'), insecure());
  // Creating a product is the shop's own operation: the bench calls as a service of the local stack.
  const identity = devServiceIdentity('bench');
  const products = withMetadata(promiseClient(raw, 5_000), () => identity.metadata());
  try {
    const { products: found } = await products.listProducts({ search: 'Bench widget', category: 'bench', activeOnly: true, page: { pageSize: 100, pageToken: '' } });
    const existing = found.find((p) => p.sku === BENCH_PRODUCT_SKU && p.active);
    if (existing) return { id: existing.id, name: existing.name };
    const { product } = await products.createProduct({
      name: BENCH_PRODUCT_NAME,
      description: 'Created by bench/ (npm run bench); safe to ignore.',
      category: 'bench',
      price: { amountCents: 500, currency: 'USD' },
      quantityOnHand: 1_000_000,
      sku: BENCH_PRODUCT_SKU,
    });
    if (!product) throw new Error('CreateProduct answered no product');
    return { id: product.id, name: product.name };
  } finally {
    raw.close();
  }
}

export interface LoopResult {
  /** Operations completed inside the measured window. */
  ops: number;
  errors: number;
  firstError?: string;
  seconds: number;
  /** ops / seconds */
  rate: number;
  /** Latency of every measured operation, ms. */
  latencies: number[];
  /** Completed operations per whole second of the measured window (shows drift). */
  perSecond: number[];
  /** Cores busy machine-wide during the measured window (everything on the machine, not only this load). */
  busyCores?: number;
  /** CPU of this (client) process during the measured window, in cores. */
  clientCores: number;
}

/**
 * A closed-loop driver: `concurrency` workers each run `op` back to back for
 * `warmupMs + durationMs`; only operations that complete after the warm-up count.
 * Bounded in time and in count (`maxOpsPerWorker`); a worker stops after 50 errors.
 */
export async function runLoops(opts: {
  concurrency: number;
  durationMs: number;
  warmupMs?: number;
  maxOpsPerWorker?: number;
  op: (worker: number, iteration: number) => Promise<void>;
}): Promise<LoopResult> {
  const warmup = opts.warmupMs ?? 1_000;
  const maxOps = opts.maxOpsPerWorker ?? 1_000_000;
  const start = nowMs();
  const measureFrom = start + warmup;
  const end = measureFrom + opts.durationMs;
  const latencies: number[] = [];
  const perSecond = new Array<number>(Math.ceil(opts.durationMs / 1000)).fill(0);
  let errors = 0;
  let firstError: string | undefined;
  let cpuAtMeasure: CpuSnapshot | undefined;
  let clientAtMeasure = process.cpuUsage();
  const measureTimer = setTimeout(() => {
    cpuAtMeasure = cpuSnapshot();
    clientAtMeasure = process.cpuUsage();
  }, warmup);

  const worker = async (w: number) => {
    let workerErrors = 0;
    for (let i = 0; i < maxOps && nowMs() < end; i++) {
      const t0 = nowMs();
      try {
        await opts.op(w, i);
      } catch (err) {
        errors++;
        firstError ??= err instanceof Error ? err.message : String(err);
        if (++workerErrors >= 50) return;
        continue;
      }
      const t1 = nowMs();
      if (t1 >= measureFrom && t1 <= end) {
        latencies.push(t1 - t0);
        const s = Math.floor((t1 - measureFrom) / 1000);
        if (s < perSecond.length) perSecond[s]!++;
      }
    }
  };
  await Promise.all(Array.from({ length: opts.concurrency }, (_, w) => worker(w)));
  clearTimeout(measureTimer);
  const busy = busyCores(cpuAtMeasure, cpuSnapshot());
  const clientCores = processCores(clientAtMeasure, (nowMs() - measureFrom) / 1000);
  const seconds = opts.durationMs / 1000;
  return {
    ops: latencies.length,
    errors,
    ...(firstError ? { firstError } : {}),
    seconds,
    rate: latencies.length / seconds,
    latencies,
    perSecond,
    ...(busy === undefined ? {} : { busyCores: busy }),
    clientCores,
  };
}

/** A grpc.health.v1.Health client from the proto that grpc-health-check ships. */
export function healthClient(address: string) {
  const require = createRequire(import.meta.url);
  const protoFile = path.join(path.dirname(require.resolve('grpc-health-check/package.json')), 'proto', 'health', 'v1', 'health.proto');
  const definition = protoLoader.loadSync(protoFile, { keepCase: true, longs: String, enums: String, defaults: true });
  const loaded = grpc.loadPackageDefinition(definition) as unknown as {
    grpc: { health: { v1: { Health: new (address: string, credentials: grpc.ChannelCredentials) => grpc.Client } } };
  };
  const client = new loaded.grpc.health.v1.Health(address, insecure());
  const call = client as unknown as {
    Check(req: { service: string }, md: grpc.Metadata, opts: grpc.CallOptions, cb: (err: grpc.ServiceError | null, res: { status: string }) => void): void;
  };
  return {
    check: () =>
      new Promise<string>((resolve, reject) =>
        call.Check({ service: '' }, new grpc.Metadata(), { deadline: Date.now() + 5_000 }, (err, res) => (err ? reject(err) : resolve(res.status))),
      ),
    close: () => client.close(),
  };
}

/** A GraphQL answer as a load loop needs it: the HTTP status, and the body when it was JSON. */
export interface GraphQLAnswer {
  status: number;
  body?: { data?: Record<string, unknown> | null; errors?: Array<{ message?: string; extensions?: { code?: string } }> };
  /** The raw body, for messages. */
  text: string;
}

/** Sends one GraphQL request; see graphqlClient. */
export type GraphQLSend = (query: string, variables?: Record<string, unknown>, headers?: Record<string, string>) => Promise<GraphQLAnswer>;

/**
 * The GraphQL client of one load-generating caller: one keep-alive HTTP connection of its
 * own, from its own loopback address (127.0.0.2, .3, …, by `worker`). The edge limits
 * requests per client address: one address for every caller would measure that limit, not
 * the path. Resolves with whatever the server answers (a 429 included); rejects on a network
 * failure, or with `code` TIMEOUT after `timeoutMs` (default: no limit).
 */
export function graphqlClient(url: string, worker: number, opts: { timeoutMs?: number } = {}): GraphQLSend {
  const target = new URL(url);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const localAddress = `127.0.0.${2 + (worker % 250)}`;
  return (query, variables, headers = {}) =>
    new Promise<GraphQLAnswer>((resolve, reject) => {
      const body = JSON.stringify(variables ? { query, variables } : { query });
      const req = http.request(
        {
          host: target.hostname,
          port: target.port,
          path: target.pathname,
          method: 'POST',
          agent,
          localAddress,
          headers: { ...headers, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            let parsed: GraphQLAnswer['body'];
            try {
              parsed = JSON.parse(text) as GraphQLAnswer['body'];
            } catch {
              // Not GraphQL (an HTML error page, a proxy's plain text): the status tells the caller.
            }
            resolve({ status: res.statusCode ?? 0, ...(parsed ? { body: parsed } : {}), text });
          });
          res.on('error', reject);
        },
      );
      if (opts.timeoutMs !== undefined) {
        const ms = opts.timeoutMs;
        req.setTimeout(ms, () => req.destroy(Object.assign(new Error(`no answer within ${ms} ms`), { code: 'TIMEOUT' })));
      }
      req.on('error', reject);
      req.end(body);
    });
}

/** How long graphqlCaller waits for an answer: a hung request fails (TIMEOUT) instead of stalling its loop. */
export const GRAPHQL_CALL_TIMEOUT_MS = 10_000;

/**
 * A GraphQL caller for a load loop: `query` (a read answering `data`) through graphqlClient,
 * from its own loopback address by `worker`. An answer other than 200 with every field
 * answered (a 429 included) rejects, as does no answer within `timeoutMs`.
 */
export function graphqlCaller(url: string, worker: number, query: string, { timeoutMs = GRAPHQL_CALL_TIMEOUT_MS } = {}) {
  const send = graphqlClient(url, worker, { timeoutMs });
  return async (): Promise<void> => {
    const { status, body, text } = await send(query);
    if (status !== 200) throw new Error(`HTTP ${status}`);
    const answered = body?.data && !body.errors?.length && Object.values(body.data).every((v) => v != null);
    if (!answered) throw new Error(`no data: ${body?.errors?.[0]?.extensions?.code ?? text.slice(0, 80)}`);
  };
}

export interface OpenLoopResult {
  /** Calls the schedule held (rate × duration). */
  due: number;
  /** Due while `maxInFlight` calls were open: not sent. */
  skippedAtCap: number;
  /** Those `fire` declined (returned no call). */
  notSent: number;
  maxInFlight: number;
  seconds: number;
  /** How late each due call left. */
  lag: Distribution;
  /** Resolves once every call sent has ended. */
  ended(): Promise<void>;
}

/**
 * Open-loop schedule: call `fire(i)` at t0 + i/rate whatever happened to earlier calls;
 * calls that fall due while the process was busy fire at once (their lag is recorded). The
 * promise `fire` returns is the call in flight (undefined: it sent nothing, counted apart). A
 * call due while `maxInFlight` (default 2 × rate, two seconds' worth) are in flight is
 * skipped and counted, so that a stalled server cannot pile up calls without end. Resolves
 * once the last call has left; `ended()` once every call has ended.
 */
export async function openLoop(
  rate: number,
  durationMs: number,
  fire: (i: number) => Promise<unknown> | undefined,
  { maxInFlight = Math.max(1, Math.ceil(2 * rate)) }: { maxInFlight?: number } = {},
): Promise<OpenLoopResult> {
  const period = 1000 / rate;
  const count = Math.round((rate * durationMs) / 1000);
  const t0 = nowMs() + 20;
  const lags: number[] = [];
  const inFlight = new Set<Promise<unknown>>();
  let skippedAtCap = 0;
  let notSent = 0;
  let i = 0;
  while (i < count) {
    const now = nowMs();
    while (i < count && t0 + i * period <= now) {
      lags.push(now - (t0 + i * period));
      if (inFlight.size >= maxInFlight) {
        skippedAtCap++;
        i++;
        continue;
      }
      const call = fire(i++);
      if (!call) {
        notSent++;
        continue;
      }
      // Counted out however it ends; its outcome (a rejection too) is the caller's to handle.
      const tracked: Promise<unknown> = call.then(
        () => inFlight.delete(tracked),
        () => inFlight.delete(tracked),
      );
      inFlight.add(tracked);
    }
    if (i < count) await sleep(Math.max(0, t0 + i * period - nowMs()));
  }
  return {
    due: count,
    skippedAtCap,
    notSent,
    maxInFlight,
    seconds: (nowMs() - t0) / 1000,
    lag: distribution(lags),
    ended: () => Promise.all(inFlight).then(() => undefined),
  };
}
