/**
 * A small process supervisor for the local stack: starts named processes detached (so
 * they outlive the CLI), remembers them in pid files, waits for real readiness, and
 * stops them again. Infrastructure, application services, Envoy and tests all use it.
 *
 * A process that exits without being stopped is restarted, with a doubling pause, as
 * Kubernetes restarts a container (restartPolicy: Always): each spawned process runs
 * under a watchdog (watchdog.sh) in the same process group, and `stop` signals the group,
 * so a deliberate stop ends both while a crash or a kill -9 of the process alone brings
 * it back. `status` shows the restarts and the last exit.
 */
import { spawn } from 'node:child_process';
import { openSync, closeSync, writeSync, statSync, readFileSync, existsSync, rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { StackError, say } from './log.js';
import { stackPaths, ensureDir } from './paths.js';
import { isPortFree, socketStatesOnPort } from './ports.js';
import { lookupUser } from './os-user.js';
import { withLock } from './lock.js';
import { settle, throwFailures, type Failure } from './settle.js';
import { type PidRecord, type WatchdogState, readRecord, writeRecord, removeRecord, listRecords, isAlive, isPidAlive, startTicksOf, readWatchdogState, watchdogStateFile } from './pidfile.js';

export interface ProcessSpec {
  name: string;
  command: string;
  args: string[];
  /** Added to the CLI's own environment. */
  env?: Record<string, string>;
  cwd?: string;
  /** Ports the process listens on: checked free before starting, shown by status. */
  ports: number[];
  /** OS user to run as (the supervisor runs as root). */
  runAs?: string;
  /** Throws until the process serves; called repeatedly until readyTimeoutMs. */
  ready: () => Promise<void>;
  /** Default 30 s. */
  readyTimeoutMs?: number;
  /** Pause between ready() attempts; default 500 ms. */
  readyIntervalMs?: number;
  /** Runs first on every start (even if already running), e.g. to write a config from the current ports. */
  prepare?: () => Promise<void>;
  /**
   * Starts the server with its own tool instead of a plain spawn (pg_ctl) and returns the
   * pid of the long-running process. Output should go to ctx.logFile.
   */
  launch?: (ctx: { logFile: string }) => Promise<number>;
  /** Graceful stop with the server's own tool; the supervisor signals and kills it if it still runs afterwards. */
  shutdown?: (pid: number) => Promise<void>;
  /** Signal for a graceful stop when there is no shutdown hook; default SIGTERM. */
  stopSignal?: NodeJS.Signals;
  /** How long a graceful stop may take before SIGKILL; default 10 s. */
  stopTimeoutMs?: number;
  /**
   * When the process exits without being stopped: `always` (the default) starts it again
   * after a pause (1 s, doubling up to 30 s, back to 1 s after a minute of running);
   * `never` leaves it dead. A process started by a `launch` hook is never restarted.
   */
  restart?: 'always' | 'never';
  /**
   * When a group of processes starts (startAll): all of a wave at once, once every earlier
   * wave is ready. Default 0; a process that needs another one ready to become ready itself
   * takes a later wave than that one.
   */
  wave?: number;
}

export interface StartResult {
  name: string;
  pid: number;
  alreadyRunning: boolean;
}

const defaultReadyTimeoutMs = 30_000;
const defaultStopTimeoutMs = 10_000;
const failureLogLines = 20;
const errorLine = /\b(ERROR|FATAL|PANIC)\b|\[(FTL|ERR)\]|^Error:/;

/** How children spawned by this process ended, for the "exited during startup" line. */
const exitReasons = new Map<number, string>();

const watchdogScript = path.join(path.dirname(fileURLToPath(import.meta.url)), 'watchdog.sh');

/**
 * The pid record of `name` if that process is alive now. For a supervised process, `pid`
 * is the process itself (not its watchdog): a test's kill -9 of it is a crash, which the
 * watchdog answers with a restart.
 */
export function running(name: string): PidRecord | undefined {
  const rec = readRecord(name);
  if (!rec || !isAlive(rec)) return undefined;
  if (!rec.supervised) return rec;
  const pid = supervisedPid(readWatchdogState(name));
  return pid === undefined ? undefined : { ...rec, pid, startTicks: startTicksOf(pid) };
}

/** The supervised process's pid if it is alive (undefined between an exit and its restart). */
function supervisedPid(state: WatchdogState | undefined): number | undefined {
  return typeof state?.pid === 'number' && isPidAlive(state.pid) ? state.pid : undefined;
}

/**
 * Starts `spec` unless it already runs, and waits until it is ready. Concurrent calls for
 * the same name (also from other processes, e.g. test workers) wait for each other.
 */
export function start(spec: ProcessSpec): Promise<StartResult> {
  return withLock(`process-${spec.name}`, () => startUnlocked(spec), spec.name);
}

/**
 * Starts processes wave by wave (ProcessSpec.wave): a wave's processes all at once, the next
 * wave once the whole of this one has settled. A process that fails does not hold the later
 * waves back (after a failed restart the edge still comes back up; a process waiting for the
 * failed one reports its own failure); the command fails at the end for all of them
 * (settle.ts throwFailures).
 */
export async function startAll(specs: ProcessSpec[]): Promise<void> {
  const waves = [...new Set(specs.map((s) => s.wave ?? 0))].sort((a, b) => a - b);
  const failed: Failure[] = [];
  for (const wave of waves) {
    failed.push(...(await settle(specs.filter((s) => (s.wave ?? 0) === wave).map((spec) => ({ name: spec.name, run: () => start(spec) })))));
  }
  throwFailures('starting', failed, specs.length);
}

async function startUnlocked(spec: ProcessSpec): Promise<StartResult> {
  await spec.prepare?.();
  const existing = readRecord(spec.name);
  if (existing && isAlive(existing)) {
    say('stack', spec.name, `already running (pid ${existing.pid})`);
    // Callers rely on "started" meaning "serving", also when an earlier command started it.
    try {
      await waitReady(spec, existing);
    } catch (err) {
      throw new StackError(`${(err as Error).message}, although it was started earlier (pid ${existing.pid}): restart it with \`npm run stack -- down\` and up; full log: ${existing.logFile}`);
    }
    return { name: spec.name, pid: existing.pid, alreadyRunning: true };
  }
  if (existing) removeRecord(spec.name);
  await assertPortsFree(spec);

  const logFile = stackPaths.logFile(spec.name);
  ensureDir(stackPaths.logs);
  const logStart = appendHeader(logFile, `starting: ${[spec.command, ...spec.args].join(' ')}`);
  const t0 = Date.now();
  let rec: PidRecord;
  try {
    rec = spec.launch ? await launchWithHook(spec, logFile) : spec.restart === 'never' ? await spawnDetached(spec, logFile) : await spawnSupervised(spec, logFile);
  } catch (err) {
    printLogTail(spec.name, logFile, logStart);
    throw err;
  }
  writeRecord(rec);
  const pids = () => (rec.supervised ? `pid ${running(spec.name)?.pid ?? '-'}, watchdog ${rec.pid}` : `pid ${rec.pid}`);
  say('stack', spec.name, `started (${pids()}), waiting for readiness…`);

  try {
    await waitReady(spec, rec, { fresh: true });
  } catch (err) {
    printLogTail(spec.name, logFile, logStart);
    // A process that never became ready would hold its ports and confuse the next start.
    await stopRecord(rec, spec, { quiet: true });
    throw new StackError(`${(err as Error).message}: see the log lines above; full log: ${logFile}`);
  }
  say('stack', spec.name, `ready (${pids()}, ${((Date.now() - t0) / 1000).toFixed(1)}s)`);
  return { name: spec.name, pid: rec.pid, alreadyRunning: false };
}

/**
 * Stops a process by name (using what its pid file says) or by spec (which also uses
 * the spec's shutdown hook). Returns false if it was not running.
 */
export function stop(target: string | ProcessSpec): Promise<boolean> {
  const name = typeof target === 'string' ? target : target.name;
  return withLock(`process-${name}`, () => stopUnlocked(name, typeof target === 'string' ? undefined : target), name);
}

async function stopUnlocked(name: string, spec: ProcessSpec | undefined): Promise<boolean> {
  const rec = readRecord(name);
  if (!rec) return false;
  if (!isAlive(rec)) {
    removeRecord(name);
    return false;
  }
  await stopRecord(rec, spec, { quiet: false });
  return true;
}

/** Names of every process that has a pid file, newest first (the order to stop them in). */
export function knownProcesses(): string[] {
  return listRecords()
    .sort((a, b) => b.startedAt.localeCompare(a.startedAt))
    .map((r) => r.name);
}

export interface StatusRow {
  name: string;
  pid: number | undefined;
  alive: boolean;
  /** Supervised, and between an unexpected exit and its restart. */
  restarting?: boolean;
  /** Restarts after unexpected exits since it was started (supervised processes). */
  restarts?: number;
  /** The last unexpected exit, e.g. "killed by SIGKILL at 2026-…". */
  lastExit?: string;
  ports: number[];
  logFile: string;
}

/** One row per process with a pid file, plus one for each of `known` (so stopped ones show too). */
export function status(known: Array<Pick<ProcessSpec, 'name' | 'ports'>> = []): StatusRow[] {
  const rows = new Map<string, StatusRow>();
  for (const k of known) rows.set(k.name, { name: k.name, pid: undefined, alive: false, ports: k.ports, logFile: stackPaths.logFile(k.name) });
  for (const rec of listRecords()) {
    const row: StatusRow = { name: rec.name, pid: rec.pid, alive: isAlive(rec), ports: rec.ports, logFile: rec.logFile };
    if (rec.supervised) {
      const state = readWatchdogState(rec.name);
      const pid = row.alive ? supervisedPid(state) : undefined;
      row.pid = pid ?? (row.alive ? undefined : rec.pid);
      row.restarting = row.alive && pid === undefined;
      row.alive = pid !== undefined;
      row.restarts = state?.restarts ?? 0;
      if (state?.lastExit) row.lastExit = `${state.lastExit} at ${state.lastExitAt}`;
    }
    rows.set(rec.name, row);
  }
  return [...rows.values()];
}

export function formatStatus(rows: StatusRow[]): string {
  const alive = (r: StatusRow) => (r.alive ? 'yes' : r.restarting ? 'no (restarting)' : r.pid === undefined ? 'no' : 'no (stale pid file)');
  const restarts = (r: StatusRow) => (r.restarts === undefined ? '-' : r.lastExit ? `${r.restarts} (last: ${r.lastExit})` : String(r.restarts));
  const table = [['NAME', 'PID', 'ALIVE', 'RESTARTS', 'PORTS'], ...rows.map((r) => [r.name, r.pid === undefined ? '-' : String(r.pid), alive(r), restarts(r), r.ports.join(',')])];
  const widths = table[0]!.map((_, i) => Math.max(...table.map((row) => row[i]!.length)));
  return table.map((row) => row.map((cell, i) => cell.padEnd(widths[i]!)).join('  ').trimEnd()).join('\n');
}

async function assertPortsFree(spec: ProcessSpec): Promise<void> {
  for (const port of spec.ports) {
    if (await isPortFree(port)) continue;
    const owner = listRecords().find((r) => r.name !== spec.name && r.ports.includes(port) && isAlive(r));
    if (owner) {
      throw new StackError(`port ${port} (${spec.name}) is in use by ${owner.name} (pid ${owner.pid}) of this stack: two processes cannot share a port`);
    }
    const states = socketStatesOnPort(port);
    if (states.length > 0 && !states.includes('LISTEN')) {
      throw new StackError(`port ${port} (${spec.name}) is still held by a closed connection (${[...new Set(states)].join(', ')}): retry in a minute`);
    }
    throw new StackError(`port ${port} (${spec.name}) is in use by another process (not started by this stack): stop it, or move every port with SHOP_PORT_OFFSET=100`);
  }
}

async function spawnDetached(spec: ProcessSpec, logFile: string): Promise<PidRecord> {
  const user = spec.runAs ? lookupUser(spec.runAs) : undefined;
  if (spec.runAs && !user) throw new StackError(`${spec.name}: OS user ${spec.runAs} does not exist: run \`npm run stack -- install\` first`);
  const fd = openSync(logFile, 'a');
  // detached: own process group, so it survives the CLI and can be signalled as a group.
  const child = spawn(spec.command, spec.args, {
    detached: true,
    stdio: ['ignore', fd, fd],
    cwd: spec.cwd,
    env: { ...process.env, ...spec.env },
    uid: user?.uid,
    gid: user?.gid,
  });
  closeSync(fd);
  await new Promise<void>((resolve, reject) => {
    child.once('spawn', resolve);
    child.once('error', (err: NodeJS.ErrnoException) => {
      const why = err.code === 'ENOENT' ? `${spec.command} not found` : err.message;
      reject(new StackError(`${spec.name}: could not start (${why}): run \`npm run stack -- install\` first`));
    });
  });
  child.unref();
  const pid = child.pid!;
  child.once('exit', (code, sig) => exitReasons.set(pid, sig ? `killed by ${sig}` : `exit code ${code}`));
  return record(spec, pid, logFile, true);
}

/**
 * Spawns the process under its watchdog (watchdog.sh), detached: the watchdog leads a new
 * process group, with the process in it. The pid record names the watchdog (the group to
 * signal); the process's own pid comes from the watchdog's state file.
 */
async function spawnSupervised(spec: ProcessSpec, logFile: string): Promise<PidRecord> {
  const user = spec.runAs ? lookupUser(spec.runAs) : undefined;
  if (spec.runAs && !user) throw new StackError(`${spec.name}: OS user ${spec.runAs} does not exist: run \`npm run stack -- install\` first`);
  // The watchdog would only report exit code 127 after the fact; say what is missing now.
  if (path.isAbsolute(spec.command) && !existsSync(spec.command)) {
    throw new StackError(`${spec.name}: could not start (${spec.command} not found): run \`npm run stack -- install\` first`);
  }
  const stateFile = watchdogStateFile(spec.name);
  rmSync(stateFile, { force: true });
  const fd = openSync(logFile, 'a');
  const watchdog = spawn('/bin/sh', [watchdogScript, stateFile, spec.command, ...spec.args], {
    detached: true,
    stdio: ['ignore', fd, fd],
    cwd: spec.cwd,
    env: { ...process.env, ...spec.env },
    uid: user?.uid,
    gid: user?.gid,
  });
  closeSync(fd);
  await new Promise<void>((resolve, reject) => {
    watchdog.once('spawn', resolve);
    watchdog.once('error', (err) => reject(new StackError(`${spec.name}: could not start its watchdog (${err.message})`)));
  });
  watchdog.unref();
  const pid = watchdog.pid!;
  watchdog.once('exit', (code, sig) => exitReasons.set(pid, sig ? `its watchdog was killed by ${sig}` : `its watchdog ended with exit code ${code}`));
  // The process is running once the watchdog has recorded its pid.
  const deadline = Date.now() + 10_000;
  while (typeof readWatchdogState(spec.name)?.pid !== 'number' && (readWatchdogState(spec.name)?.restarts ?? 0) === 0) {
    if (!isPidAlive(pid) || Date.now() > deadline) break;
    await sleep(20);
  }
  return { ...record(spec, pid, logFile, true), supervised: true };
}

async function launchWithHook(spec: ProcessSpec, logFile: string): Promise<PidRecord> {
  const pid = await spec.launch!({ logFile });
  return record(spec, pid, logFile, false);
}

function record(spec: ProcessSpec, pid: number, logFile: string, killGroup: boolean): PidRecord {
  return {
    name: spec.name,
    pid,
    startTicks: startTicksOf(pid),
    ports: spec.ports,
    command: [spec.command, ...spec.args].join(' '),
    startedAt: new Date().toISOString(),
    stopSignal: spec.stopSignal ?? 'SIGTERM',
    stopTimeoutMs: spec.stopTimeoutMs ?? defaultStopTimeoutMs,
    killGroup,
    logFile,
  };
}

/**
 * Polls `ready` until it passes. On a fresh start, an exit of the process fails at once
 * (a supervised one would be restarted, but a process that cannot start is better
 * reported than retried); an earlier start's process is given its restarts' time.
 */
async function waitReady(spec: ProcessSpec, rec: PidRecord, opts: { fresh?: boolean } = {}): Promise<void> {
  const timeoutMs = spec.readyTimeoutMs ?? defaultReadyTimeoutMs;
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    if (!isAlive(rec)) {
      // Give Node a moment to reap the child and deliver its 'exit' event (the exit code).
      await sleep(100);
      const reason = exitReasons.get(rec.pid);
      throw new StackError(`${spec.name} exited during startup${reason ? ` (${reason})` : ''}`);
    }
    const state = rec.supervised && opts.fresh ? readWatchdogState(spec.name) : undefined;
    if (state && state.restarts > 0) throw new StackError(`${spec.name} exited during startup (${state.lastExit})`);
    try {
      await withTimeout(spec.ready(), Math.max(deadline - Date.now(), 1));
      return;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() >= deadline) {
      const why = lastError instanceof Error ? lastError.message : String(lastError);
      throw new StackError(`${spec.name} did not become ready within ${timeoutMs / 1000}s (last check: ${why.split('\n')[0]})`);
    }
    await sleep(spec.readyIntervalMs ?? 500);
  }
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`readiness check still pending after ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

async function stopRecord(rec: PidRecord, spec: ProcessSpec | undefined, opts: { quiet: boolean }): Promise<void> {
  const t0 = Date.now();
  if (spec?.shutdown) {
    try {
      await spec.shutdown(rec.pid);
    } catch (err) {
      say('stack', rec.name, `graceful shutdown failed (${(err as Error).message}); signalling instead`);
      signal(rec, rec.stopSignal);
    }
  } else {
    signal(rec, rec.stopSignal);
  }
  let stopped = await waitExit(rec, rec.stopTimeoutMs);
  if (!stopped) {
    say('stack', rec.name, `did not stop within ${rec.stopTimeoutMs / 1000}s; sending SIGKILL`);
    signal(rec, 'SIGKILL');
    stopped = await waitExit(rec, 5_000);
    if (!stopped) throw new StackError(`${rec.name} (pid ${rec.pid}) survived SIGKILL: check it with ps and stop it by hand`);
  }
  removeRecord(rec.name);
  if (!opts.quiet) say('stack', rec.name, `stopped (pid ${rec.pid}, ${((Date.now() - t0) / 1000).toFixed(1)}s)`);
}

function signal(rec: PidRecord, sig: NodeJS.Signals): void {
  try {
    process.kill(rec.killGroup ? -rec.pid : rec.pid, sig);
  } catch (err) {
    // Already gone between the liveness check and the signal: that is the goal anyway.
    if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
  }
}

async function waitExit(rec: PidRecord, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!isAlive(rec)) return true;
    await sleep(100);
  }
  return !isAlive(rec);
}

function appendHeader(logFile: string, text: string): number {
  const fd = openSync(logFile, 'a');
  writeSync(fd, `\n--- [stack] ${new Date().toISOString()} ${text}\n`);
  closeSync(fd);
  return statSync(logFile).size;
}

/** Prints the last lines the process logged since it was started this time. */
function printLogTail(name: string, logFile: string, fromOffset: number): void {
  if (!existsSync(logFile)) return;
  const all = readFileSync(logFile).subarray(fromOffset).toString('utf8').split('\n').filter(Boolean);
  const tail = all.slice(-failureLogLines);
  if (tail.length === 0) return;
  // The cause is often far above the tail (a JVM logs its whole shutdown after a fatal error).
  const firstErrors = all.slice(0, -failureLogLines).filter((l) => errorLine.test(l)).slice(0, 5);
  if (firstErrors.length > 0) {
    console.error(`[stack] ${name}: first errors in the log:`);
    for (const line of firstErrors) console.error(`  | ${line}`);
  }
  console.error(`[stack] ${name}: last ${tail.length} log lines (${logFile}):`);
  for (const line of tail) console.error(`  | ${line}`);
}
