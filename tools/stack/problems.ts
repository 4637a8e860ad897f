import { existsSync, readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';

/** pino's levels, as numbers or (as Shop logs them) labels. */
const WARN = 40;
const LEVELS: Record<string, number> = { trace: 10, debug: 20, info: 30, warn: 40, error: 50, fatal: 60 };
/** gRPC codes that mean the server or the network failed, not the caller: CANCELLED, UNKNOWN, DEADLINE_EXCEEDED, INTERNAL, UNAVAILABLE, DATA_LOSS. */
/** The line the supervisor writes into a process's log when it starts it. */
const START_MARK = '--- [stack] ';
const SERVER_SIDE_GRPC = new Set([1, 2, 4, 13, 14, 15]);

export interface ProblemOptions {
  /** At most this many lines per log file, the latest ones (default 25). */
  perFile?: number;
  /** Envoy access-log lines slower than this are shown too (default 2,000 ms). */
  slowMs?: number;
}

/**
 * The lines of the stack's process logs that explain a failed test run, for CI output
 * where the logs themselves are gone with the machine: warnings and errors of the Shop
 * processes (pino JSON), and the Envoy access-log lines of calls that failed in the proxy
 * (response flags), were answered 5xx, or were slow. Only the lines since each process's
 * latest start count.
 */
export function problemLines(logDir: string, options: ProblemOptions = {}): string[] {
  const perFile = options.perFile ?? 25;
  const slowMs = options.slowMs ?? 2_000;
  if (!existsSync(logDir)) return [];
  const out: string[] = [];
  for (const file of readdirSync(logDir).filter((f) => f.endsWith('.log') && !f.startsWith('install-')).sort()) {
    const name = file.slice(0, -4);
    const hits: string[] = [];
    const text = readFileSync(path.join(logDir, file), 'utf8');
    // Only the current run of the process: the supervisor marks each start.
    const start = text.lastIndexOf(START_MARK);
    for (const line of (start < 0 ? text : text.slice(start)).split('\n')) {
      if (!line.startsWith('{')) continue;
      let entry: Record<string, unknown>;
      try {
        entry = JSON.parse(line) as Record<string, unknown>;
      } catch {
        continue;
      }
      if (isProblem(entry, slowMs)) hits.push(line.length > 2_000 ? `${line.slice(0, 2_000)}…` : line);
    }
    if (hits.length === 0) continue;
    out.push(`--- ${name}: ${hits.length} problem line(s)${hits.length > perFile ? `, the last ${perFile}` : ''}`);
    out.push(...hits.slice(-perFile));
  }
  return out;
}

function isProblem(entry: Record<string, unknown>, slowMs: number): boolean {
  const level = typeof entry.level === 'string' ? LEVELS[entry.level] : entry.level;
  if (typeof level === 'number') return level >= WARN && !isKnownNoise(entry);
  // An Envoy access-log line.
  if ('listener' in entry) {
    const flags = typeof entry.flags === 'string' ? entry.flags : '-';
    const status = Number(entry.status);
    const duration = Number(entry.duration_ms);
    // DC: the client closed its connection (a subscription it ended, a test that moved on).
    // NR: a request for no route (404), the client's mistake.
    const proxyFailure = flags !== '-' && flags !== 'DC' && flags !== 'NR';
    return proxyFailure || status >= 500 || (duration > slowMs && !slowByDesign(entry)) || SERVER_SIDE_GRPC.has(Number(entry.grpc_status ?? 0));
  }
  return false;
}

/**
 * Calls that may take long as documented: GraphQL at the edge (a read may wait for its
 * `minVersion`, a checkout for its order) and the query services' reads with `min_version`.
 */
function slowByDesign(entry: Record<string, unknown>): boolean {
  const listener = String(entry.listener);
  const path = String(entry.path ?? '');
  return listener === 'edge' || ((listener === 'grpc_cart-query' || listener === 'grpc_user-query') && path.includes('/Get'));
}

/** Warnings every run prints, which say nothing about a failure. */
function isKnownNoise(entry: Record<string, unknown>): boolean {
  const msg = String(entry.msg ?? '');
  if (entry.component !== 'kafkajs') return false;
  // The relay's producer keeps the client's bounded retries on purpose (its own loop retries).
  if (msg.includes('Limiting retries for the idempotent producer')) return true;
  // A broker that has just started loads its groups; kafkajs retries, and says so.
  return JSON.stringify(entry).includes('The coordinator is loading');
}
