import test from 'ava';
import { mkdtempSync, rmSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

/**
 * The supervisor's restart policy with real processes, in a stack directory of its own
 * (SHOP_STACK_DIR, read when the modules load): the shared stack's processes are never
 * touched. Each ava test file runs in its own process, so the variable stays here.
 */
const dir = mkdtempSync('/tmp/shop-supervisor-test-');
process.env.SHOP_STACK_DIR = dir;
const { start, stop, running, status, formatStatus } = await import('./supervisor.js');
const { isPidAlive, readRecord } = await import('./pidfile.js');

test.after.always(() => rmSync(dir, { recursive: true, force: true }));

/** A process that idles until SIGTERM, then exits 0 as a service's graceful shutdown does. */
const idler = (name: string) => ({
  name,
  command: process.execPath,
  args: ['-e', "process.on('SIGTERM', () => process.exit(0)); setInterval(() => {}, 1000);"],
  ports: [],
  ready: async () => {},
});

async function waitFor<T>(what: string, check: () => T | undefined, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

test.serial('a process killed with kill -9 is restarted, and status shows the restart and how it ended', async (t) => {
  const spec = idler('crashy');
  t.teardown(() => stop(spec).then(() => undefined));
  await start(spec);
  const first = running('crashy')!.pid;
  process.kill(first, 'SIGKILL');

  const second = await waitFor('the restart', () => {
    const pid = running('crashy')?.pid;
    return pid !== undefined && pid !== first ? pid : undefined;
  });
  t.true(isPidAlive(second));
  const row = status().find((r) => r.name === 'crashy')!;
  t.is(row.pid, second);
  t.true(row.alive);
  t.is(row.restarts, 1);
  t.regex(row.lastExit!, /^killed by SIGKILL at /);
  t.regex(formatStatus(status()), /crashy\s+\d+\s+yes\s+1 \(last: killed by SIGKILL at /);
});

test.serial('a stopped process stays stopped: stop ends the process and its watchdog, and nothing comes back', async (t) => {
  const spec = idler('stoppable');
  await start(spec);
  const app = running('stoppable')!.pid;
  const watchdog = readRecord('stoppable')!.pid;
  t.not(app, watchdog);
  t.true(await stop(spec));
  t.false(isPidAlive(app));
  t.false(isPidAlive(watchdog), 'the watchdog ended with its process, so no restart can follow');
  t.is(running('stoppable'), undefined);
  t.is(readRecord('stoppable'), undefined);
});

test.serial('a process that cannot start fails the start with its exit, and is not left restarting', async (t) => {
  const spec = { ...idler('broken'), args: ['-e', 'process.exit(3)'], ready: () => Promise.reject(new Error('not serving')) };
  const err = await t.throwsAsync(start(spec));
  t.regex(err!.message, /broken exited during startup \(exit code 3\)/);
  t.is(running('broken'), undefined);
  t.is(readRecord('broken'), undefined);
});
