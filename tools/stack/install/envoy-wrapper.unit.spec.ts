import test from 'ava';
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
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

test('forwards SIGTERM to the program and exits once it is gone', async (t) => {
  const child = spawn(wrapperFor('/bin/sh'), ['-c', 'trap "exit 7" TERM; while :; do sleep 0.05; done'], { stdio: 'ignore' });
  await new Promise((r) => setTimeout(r, 300));
  const t0 = Date.now();
  child.kill('SIGTERM');
  t.is(await exitOf(child), 7);
  t.true(Date.now() - t0 < 2_000);
});

test('quotes a binary path with a single quote in it', (t) => {
  t.true(renderEnvoyWrapper("/opt/it's/envoy").includes(`'/opt/it'\\''s/envoy' "$@" &`));
});
