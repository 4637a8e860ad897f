/**
 * Small statistics and formatting helpers shared by the benchmarks. Pure, no I/O.
 */
import type { LoopResult } from './stack.js';

export interface Distribution {
  count: number;
  mean: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
}

/** Nearest-rank percentile of an ascending-sorted array (`p` in 0..100); NaN when empty. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))]!;
}

/** Count, mean, p50/p95/p99 and max of a sample (any order). */
export function distribution(values: readonly number[]): Distribution {
  const sorted = [...values].sort((a, b) => a - b);
  const sum = sorted.reduce((a, b) => a + b, 0);
  return {
    count: sorted.length,
    mean: sorted.length ? sum / sorted.length : Number.NaN,
    p50: percentile(sorted, 50),
    p95: percentile(sorted, 95),
    p99: percentile(sorted, 99),
    max: sorted.length ? sorted[sorted.length - 1]! : Number.NaN,
  };
}

/** "0.62×" */
export const fmtRatio = (r: number): string => (Number.isFinite(r) ? `${r.toFixed(2)}×` : 'n/a');

/** Thousands separators, `digits` decimals. */
export const fmtNum = (n: number, digits = 0): string =>
  Number.isFinite(n) ? n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits }) : 'n/a';

/** Milliseconds with a sensible precision. */
export const fmtMs = (ms: number): string => (Number.isFinite(ms) ? `${ms < 10 ? ms.toFixed(2) : ms.toFixed(1)} ms` : 'n/a');

/** `n` rounded to `digits` decimals (for result files and summary rows); NaN stays NaN. */
export const round = (n: number, digits: number): number => Math.round(n * 10 ** digits) / 10 ** digits;

/** `value / baseline`, rounded to 3 decimals (NaN when the baseline is 0 or missing). */
export const ratio = (value: number, baseline: number): number => (baseline > 0 && Number.isFinite(value) ? round(value / baseline, 3) : Number.NaN);

/** Rounds every number of a distribution (for result files). */
export const roundDist = (d: Distribution, digits = 3): Distribution => {
  const r = (n: number) => round(n, digits);
  return { count: d.count, mean: r(d.mean), p50: r(d.p50), p95: r(d.p95), p99: r(d.p99), max: r(d.max) };
};

/** Monotonic milliseconds. */
export const nowMs = (): number => Number(process.hrtime.bigint()) / 1e6;

/** A closed-loop run as a result file keeps it: the latencies as a distribution, not every sample. */
export function loopDetails(run: LoopResult) {
  return {
    ops: run.ops,
    rate: round(run.rate, 1),
    errors: run.errors,
    firstError: run.firstError,
    latencyMs: roundDist(distribution(run.latencies)),
    perSecond: run.perSecond,
    busyCores: run.busyCores,
    clientCores: run.clientCores,
  };
}

/**
 * What each group (a process, a database) used per unit of work, largest first, those under
 * `min` left out: `used` is each group's total over the measured window; with `idleRate`
 * (per second, measured while nothing ran) and `windowSeconds`, what it uses doing nothing
 * is taken off first. `scale` converts the unit (e.g. 1000: seconds to milliseconds).
 */
export function perUnitByGroup(
  used: Map<string, number>,
  units: number,
  opts: { idleRate?: Map<string, number>; windowSeconds?: number; scale?: number; digits: number; min: number },
): Array<[string, number]> {
  return [...used]
    .map(([group, total]): [string, number] => {
      const busy = Math.max(0, total - (opts.idleRate?.get(group) ?? 0) * (opts.windowSeconds ?? 0));
      return [group, round((busy * (opts.scale ?? 1)) / Math.max(1, units), opts.digits)];
    })
    .filter(([, n]) => n >= opts.min)
    .sort((a, b) => b[1] - a[1]);
}

/** "cart-command 0.44, postgres 0.31, … (total 1.9 ms)" for a console line. */
export function formatByGroup(rows: Array<[string, number]>, digits: number, unit?: string): string {
  const total = rows.reduce((sum, [, n]) => sum + n, 0);
  return `${rows.map(([group, n]) => `${group} ${round(n, digits)}`).join(', ')} (total ${round(total, digits)}${unit ? ` ${unit}` : ''})`;
}
