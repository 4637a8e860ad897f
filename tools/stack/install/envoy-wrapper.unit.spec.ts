import test from 'ava';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { renderEnvoyWrapper } from './envoy.js';

function wrapperFor(binary: string): string {
  const file = path.join(mkdtempSync(path.join(tmpdir(), 'envoy-wrapper-')), 'envoy');
  writeFileSync(file, renderEnvoyWrapper(binary), { mode: 0o755 });
  return file;
}

const exitOf = (child: ReturnType<typeof spawn>) =>
  new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));

test("passes arguments through and exits with the program's status", async (t) => {
  const child = spawn(wrapperFor('/bin/sh'), ['-c', 'exit 3'], { stdio: 'ignore' });
  t.is(await exitOf(child), 3);
});

/** Resolves once `child` has printed `marker` on its stdout. */
const printed = (child: ReturnType<typeof spawn>, marker: string) =>
  new Promise<void>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (chunk: Buffer) => (out += chunk.toString()).includes(marker) && resolve());
    child.on('exit', (code) => reject(new Error(`exited ${code} before printing ${marker}: ${out}`)));
  });

/** Resolves once the process has a handler for `signal` installed (Linux: SigCgt in /proc/<pid>/status). */
async function catches(pid: number, signal: number): Promise<void> {
  const status = `/proc/${pid}/status`;
  if (!existsSync(status)) return; // no procfs: the program's marker is all there is to wait on
  for (;;) {
    const caught = /^SigCgt:\s*([0-9a-f]+)$/m.exec(readFileSync(status, 'utf8'))?.[1];
    if (caught && (BigInt(`0x${caught}`) >> BigInt(signal - 1)) & 1n) return;
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Rejects after `ms`: far longer than a working wrapper takes, so only a hung one loses the race. */
const within = <T>(ms: number, what: string, promise: Promise<T>) => {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms)));
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
};

test('forwards SIGTERM to the program and exits once it is gone', async (t) => {
  // In a process group of its own, so that a failed run leaves neither the wrapper nor the program behind.
  const child = spawn(wrapperFor('/bin/sh'), ['-c', 'trap "exit 7" TERM; echo ready; while :; do sleep 0.05; done'], { stdio: ['ignore', 'pipe', 'ignore'], detached: true });
  t.teardown(() => {
    try {
      process.kill(-child.pid!, 'SIGKILL');
    } catch {
      // The group is gone already: the test passed.
    }
  });
  const exited = exitOf(child);
  // Signalled only once both are listening: the program has set its trap, the wrapper its own.
  await within(60_000, 'the program and the wrapper getting ready', Promise.all([printed(child, 'ready'), catches(child.pid!, 15)]));
  child.kill('SIGTERM');
  t.is(await within(60_000, 'the wrapper exiting after SIGTERM', exited), 7);
});

test('quotes a binary path with a single quote in it', (t) => {
  t.true(renderEnvoyWrapper("/opt/it's/envoy").includes(`'/opt/it'\\''s/envoy' "$@" &`));
});
