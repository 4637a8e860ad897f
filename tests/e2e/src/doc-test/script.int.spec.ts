import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { script, snippets } from './snippets.js';

/** The doc test's script, run by bash: one shell for every command, and streams told apart from streams that could not open. */
const readme = [
  '```bash',
  'X=kept',
  'show() { echo "$X"; }',
  'false',
  '```',
  '<!-- doc-test: stream -->',
  '```bash',
  'show; sleep 30',
  'echo gone; exit 7',
  'true',
  '```',
].join('\n');

test('variables and functions carry on; each command keeps its exit code; a stream must still run when stopped', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'shop-doc-script-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const { text } = script(snippets(readme), 1);
  const run = spawnSync('bash', ['-c', text], { env: { ...process.env, DOC_ROOT: dir, DOC_OUT: dir }, timeout: 20_000 });
  t.is(run.status, 0, run.stderr.toString());
  const rc = (n: number) => Number(readFileSync(join(dir, `${n}.rc`), 'utf8'));
  const out = (n: number) => readFileSync(join(dir, `${n}.out`), 'utf8');
  t.deepEqual([0, 1, 2, 3, 4, 5].map(rc), [0, 0, 1, 0, 7, 1]);
  // (bash may add "Terminated" for the stopped stream.)
  t.regex(out(3), /^kept\n/, "the stream ran with the first block's function and variable");
  t.is(out(4), 'gone\n');
});
