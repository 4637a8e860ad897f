/**
 * The supervisor's memory between CLI invocations: one JSON file per running process in
 * stackDir/run. Besides the pid it records how to stop the process and which ports it
 * holds, so `down` and `status` work from the pid file alone, without the spec.
 */
import { readFileSync, writeFileSync, rmSync, readdirSync, existsSync } from 'node:fs';
import { StackError } from './log.js';
import { stackPaths, ensureDir } from './paths.js';

export interface PidRecord {
  name: string;
  pid: number;
  /** Kernel start time of the process; tells our process apart from a reused pid. */
  startTicks: number | undefined;
  ports: number[];
  command: string;
  startedAt: string;
  stopSignal: NodeJS.Signals;
  stopTimeoutMs: number;
  /** Signal the whole process group (we spawned it detached, so pgid = pid). */
  killGroup: boolean;
  logFile: string;
  /**
   * Set when `pid` is the process's watchdog (watchdog.sh, which restarts it when it exits
   * unexpectedly) rather than the process itself; the process's own pid and its restarts
   * are in the watchdog's state file (`readWatchdogState`).
   */
  supervised?: boolean;
}

/** What a watchdog reports about its process (watchdog.sh writes it). */
export interface WatchdogState {
  /** The process's pid now; null between an exit and its restart. */
  pid: number | null;
  restarts: number;
  /** How the last unexpected exit happened ("exit code 1", "killed by SIGKILL"), or "". */
  lastExit: string;
  lastExitAt: string;
}

export const watchdogStateFile = (name: string) => `${stackPaths.pidFile(name).slice(0, -'.pid'.length)}.watchdog.json`;

export function readWatchdogState(name: string): WatchdogState | undefined {
  try {
    return JSON.parse(readFileSync(watchdogStateFile(name), 'utf8')) as WatchdogState;
  } catch {
    // Not written yet, or between the watchdog's write and rename: no news.
    return undefined;
  }
}

export function readRecord(name: string): PidRecord | undefined {
  const file = stackPaths.pidFile(name);
  if (!existsSync(file)) return undefined;
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as PidRecord;
  } catch (err) {
    throw new StackError(`pid file ${file} is unreadable (${(err as Error).message}): check that process by hand and delete the file`);
  }
}

export function writeRecord(rec: PidRecord): void {
  ensureDir(stackPaths.run);
  writeFileSync(stackPaths.pidFile(rec.name), `${JSON.stringify(rec, null, 2)}\n`);
}

export function removeRecord(name: string): void {
  rmSync(stackPaths.pidFile(name), { force: true });
  rmSync(watchdogStateFile(name), { force: true });
}

export function listRecords(): PidRecord[] {
  if (!existsSync(stackPaths.run)) return [];
  return readdirSync(stackPaths.run)
    .filter((f) => f.endsWith('.pid'))
    .map((f) => readRecord(f.slice(0, -'.pid'.length)))
    .filter((r): r is PidRecord => r !== undefined);
}

/**
 * Fields 3 (state), 4 (parent pid), 14 + 15 (user and system CPU time, clock ticks) and 22
 * (start time) of /proc/PID/stat, or undefined without /proc (or once the process is gone).
 */
export function procStat(pid: number): { state: string; ppid: number; cpuTicks: number; startTicks: number } | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // The command name (field 2) may contain spaces and parentheses; fields resume after the last ')'.
  const rest = text.slice(text.lastIndexOf(')') + 2).split(' ');
  return { state: rest[0] ?? '', ppid: Number(rest[1]), cpuTicks: Number(rest[11]) + Number(rest[12]), startTicks: Number(rest[19]) };
}

/** Every process's direct children, by parent pid, from one pass over /proc (empty without it). */
export function childrenByParent(): Map<number, number[]> {
  const children = new Map<number, number[]>();
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return children;
  }
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    const ppid = procStat(Number(entry))?.ppid; // undefined: it exited while we looked
    if (ppid !== undefined) children.set(ppid, [...(children.get(ppid) ?? []), Number(entry)]);
  }
  return children;
}

/** Direct children of `pid`. */
export const childrenOf = (pid: number): number[] => childrenByParent().get(pid) ?? [];

export function startTicksOf(pid: number): number | undefined {
  return procStat(pid)?.startTicks;
}

export function isPidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EPERM') return true;
    return false;
  }
  // A zombie has exited; it only waits for its parent to reap it.
  return procStat(pid)?.state !== 'Z';
}

export function isAlive(rec: PidRecord): boolean {
  if (!isPidAlive(rec.pid)) return false;
  if (rec.startTicks === undefined) return true;
  return startTicksOf(rec.pid) === rec.startTicks;
}
