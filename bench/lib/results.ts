/**
 * Result files of the benchmarks: `bench/results/<name>.json` (git-ignored), each with
 * the machine it ran on, and a `summary` that `bench/summary.ts` prints as one table.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { nowMs, round } from './stats.js';

export const benchDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const resultsDir = path.join(benchDir, 'results');
export const repoRoot = path.resolve(benchDir, '..');

/** One line of the summary table: a measured figure against the same run's baseline. */
export interface SummaryRow {
  metric: string;
  value: number;
  unit: string;
  baseline?: { metric: string; value: number; unit: string };
  /** value / baseline.value (for latencies: >1 means slower than the baseline). */
  ratio?: number;
  /** Human-readable target, e.g. "≥ 0.6× pgbench". */
  target?: string;
  met?: boolean;
}

export interface BenchResult {
  name: string;
  title: string;
  machine: MachineInfo;
  durationSeconds: number;
  summary: SummaryRow[];
  /** Everything else the benchmark measured (distributions, settings, counts). */
  details: Record<string, unknown>;
  notes: string[];
}

export interface MachineInfo {
  nproc: number;
  cpuModel: string;
  memoryGiB: number;
  loadAverage: number[];
  node: string;
  platform: string;
  timestamp: string;
  gitCommit: string;
  gitDirty: boolean;
  /**
   * Cores busy on the whole machine during a short sample before the benchmark started
   * (the idle stack's own pollers, and whatever else runs): the noise floor of the figures.
   */
  busyCoresBeforeStart?: number;
}

function git(args: string[]): string {
  try {
    return execFileSync('git', args, { cwd: repoRoot, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return '';
  }
}

export function machineInfo(): MachineInfo {
  return {
    nproc: os.availableParallelism(),
    cpuModel: os.cpus()[0]?.model ?? 'unknown',
    memoryGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    loadAverage: os.loadavg().map((l) => Math.round(l * 100) / 100),
    node: process.version,
    platform: `${os.platform()} ${os.release()} ${os.arch()}`,
    timestamp: new Date().toISOString(),
    gitCommit: git(['rev-parse', 'HEAD']) || 'unknown',
    gitDirty: git(['status', '--porcelain', '--untracked-files=no']) !== '',
  };
}

export interface CpuSnapshot {
  idle: number;
  total: number;
}

/** Machine-wide CPU times from /proc/stat; undefined where it is missing. */
export function cpuSnapshot(): CpuSnapshot | undefined {
  try {
    const cpu = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
    // user nice system idle iowait irq softirq steal …: idle time is idle + iowait.
    return { idle: cpu[3]! + (cpu[4] ?? 0), total: cpu.slice(0, 8).reduce((a, b) => a + b, 0) };
  } catch {
    return undefined;
  }
}

/** Cores busy on average between two snapshots (2.0 on a 2-core machine = saturated). */
export function busyCores(a: CpuSnapshot | undefined, b: CpuSnapshot | undefined): number | undefined {
  if (!a || !b || b.total === a.total) return undefined;
  const busy = 1 - (b.idle - a.idle) / (b.total - a.total);
  return Math.round(busy * os.availableParallelism() * 100) / 100;
}

/** This process's CPU since `since` (a `process.cpuUsage()`) over `seconds` of wall time, in cores. */
export function processCores(since: NodeJS.CpuUsage, seconds: number): number {
  const used = process.cpuUsage(since);
  return round((used.user + used.system) / 1e6 / seconds, 2);
}

/** Cores busy machine-wide over the next `ms`. */
export async function sampleBusyCores(ms = 1_000): Promise<number | undefined> {
  const a = cpuSnapshot();
  await new Promise((r) => setTimeout(r, ms));
  return busyCores(a, cpuSnapshot());
}

/**
 * Machine info plus how busy the machine already is. Waits (at most `maxWaitMs`) for the
 * machine to settle below `settleBelowCores` busy cores first, so that a benchmark does not
 * start while the stack still digests the previous one's traffic; starts anyway after that.
 */
export async function machineInfoSampled(opts: SettleOptions = {}): Promise<MachineInfo> {
  const busy = await waitUntilSettled(opts);
  const info = machineInfo();
  return busy === undefined ? info : { ...info, busyCoresBeforeStart: busy };
}

export interface SettleOptions {
  /** Default: half the cores. */
  settleBelowCores?: number;
  /** Default: 10 s. */
  maxWaitMs?: number;
}

/**
 * Samples the machine's busy cores (1 s each) until they fall below `settleBelowCores` or
 * `maxWaitMs` has passed; answers the last sample (undefined where /proc/stat is missing).
 */
export async function waitUntilSettled(opts: SettleOptions = {}): Promise<number | undefined> {
  const threshold = opts.settleBelowCores ?? 0.5 * os.availableParallelism();
  const deadline = Date.now() + (opts.maxWaitMs ?? 10_000);
  let busy = await sampleBusyCores();
  while (busy !== undefined && busy >= threshold && Date.now() < deadline) busy = await sampleBusyCores();
  return busy;
}

/** Writes `bench/results/<name>.json` and returns its path. */
export function writeResult({ startedMs, ...rest }: Omit<BenchResult, 'durationSeconds'> & { /** nowMs() when the benchmark began. */ startedMs: number }): string {
  const result: BenchResult = { ...rest, durationSeconds: round((nowMs() - startedMs) / 1000, 1) };
  mkdirSync(resultsDir, { recursive: true });
  const file = path.join(resultsDir, `${result.name}.json`);
  writeFileSync(file, `${JSON.stringify(result, null, 2)}\n`);
  return file;
}

/** Prints a section header, so the three benchmarks read apart in one terminal. */
export function banner(title: string): void {
  console.log(`\n=== ${title} ===`);
}
