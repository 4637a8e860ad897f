/**
 * Where the machine's CPU goes, by process: every process on the machine read from /proc,
 * grouped as the stack's application processes (by name, with their children), Postgres
 * (every backend), Kafka, Envoy, NATS, FerretDB, this benchmark client and the rest. A
 * command's cost is not only its own process's: on a shared 2-core machine the database,
 * the broker and the projector take their share of every command, and this shows it.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { childrenByParent, procStat } from '@shop/tools/pidfile';
import { running } from '@shop/tools/supervisor';
import { processes } from '../../tools/catalog/catalog.js';
import { formatByGroup, nowMs, perUnitByGroup } from './stats.js';

/** CPU seconds each live process has used so far, with its group: one snapshot of the machine. */
export type MachineCpuSnapshot = Map<number, { group: string; seconds: number }>;

/** Clock ticks per second of /proc/PID/stat times: USER_HZ, 100 on every Linux this runs on. */
const TICKS_PER_SECOND = 100;

function groupOfInfrastructure(cmdline: string): string {
  if (cmdline.startsWith('postgres') || /\/postgres(ql)?\/.*\/bin\/postgres/.test(cmdline)) return 'postgres';
  if (cmdline.includes('java') && cmdline.includes('kafka')) return 'kafka';
  if (cmdline.includes('/envoy')) return 'envoy';
  if (cmdline.includes('nats-server')) return 'nats';
  if (cmdline.includes('ferretdb')) return 'ferretdb';
  return 'other';
}

function commandLine(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ');
  } catch {
    return ''; // it exited while we looked
  }
}

/**
 * Each running process of the stack's catalog apps, and every descendant of one, by pid →
 * the app's name (from one pass over /proc); with `self`, this process and its own as well.
 */
export function appProcesses(self?: string): Map<number, string> {
  const owner = new Map<number, string>();
  const children = childrenByParent();
  const claim = (pid: number, name: string) => {
    owner.set(pid, name);
    for (const child of children.get(pid) ?? []) claim(child, name);
  };
  for (const { name } of processes()) {
    const pid = running(name)?.pid;
    if (pid !== undefined) claim(pid, name);
  }
  if (self !== undefined) claim(process.pid, self);
  return owner;
}

/** Every process's CPU seconds so far, grouped (see the module comment). */
export function machineCpuSnapshot(): MachineCpuSnapshot {
  const owner = appProcesses('this client');
  const out: MachineCpuSnapshot = new Map();
  for (const entry of readdirSync('/proc')) {
    const pid = Number(entry);
    if (!Number.isInteger(pid)) continue;
    const ticks = procStat(pid)?.cpuTicks;
    if (!ticks) continue;
    out.set(pid, { group: owner.get(pid) ?? groupOfInfrastructure(commandLine(pid)), seconds: ticks / TICKS_PER_SECOND });
  }
  return out;
}

/**
 * CPU seconds used between two snapshots, by group. Each process counts what it used in
 * between (all of it if it started in between); one that ended in between (a pool's idle
 * Postgres backend) is not counted.
 */
export function cpuSecondsByGroup(before: MachineCpuSnapshot, after: MachineCpuSnapshot): Map<string, number> {
  const byGroup = new Map<string, number>();
  for (const [pid, { group, seconds }] of after) {
    const earlier = before.get(pid);
    const used = earlier?.group === group ? seconds - earlier.seconds : seconds;
    byGroup.set(group, (byGroup.get(group) ?? 0) + used);
  }
  return byGroup;
}

/** Each group's cores busy over the next `ms` of doing nothing: what it spends idle (Kafka consumers' fetches, relays' polls, the broker). */
export async function idleCores(ms: number): Promise<Map<string, number>> {
  const before = machineCpuSnapshot();
  const started = nowMs();
  await sleep(ms);
  const seconds = (nowMs() - started) / 1000;
  return new Map([...cpuSecondsByGroup(before, machineCpuSnapshot())].map(([group, used]) => [group, used / seconds]));
}

/**
 * Milliseconds of CPU per unit of work (`units`, e.g. commands) between two snapshots, by
 * group, largest first, groups under 0.005 ms left out. With `idle` (idleCores, and the
 * measured window's seconds), what each group spends doing nothing is taken off first.
 */
export function cpuMsPer(before: MachineCpuSnapshot, after: MachineCpuSnapshot, units: number, idle?: { cores: Map<string, number>; windowSeconds: number }): Array<[string, number]> {
  return perUnitByGroup(cpuSecondsByGroup(before, after), units, {
    ...(idle ? { idleRate: idle.cores, windowSeconds: idle.windowSeconds } : {}),
    scale: 1000,
    digits: 3,
    min: 0.005,
  });
}

/** "cart-command 0.44, postgres 0.31, … (total 1.9 ms)" for a console line. */
export const formatCpuMs = (rows: Array<[string, number]>): string => formatByGroup(rows, 2, 'ms');
