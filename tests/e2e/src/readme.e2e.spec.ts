import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import test from 'ava';
import { script, snippets, verdict } from './doc-test/snippets.js';
import { gql } from './graphql.js';

/**
 * The README works when followed: every shell snippet in it runs, top to bottom, in one
 * shell, against the running stack (how snippets opt out or stream: doc-test/snippets.ts),
 * and then all of them run once more in a new shell: a reader who follows it twice gets the
 * same answers, so no snippet may depend on ids or names only a first run has.
 */
const root = fileURLToPath(new URL('../../../', import.meta.url));
const readme = readFileSync(join(root, 'README.md'), 'utf8');

/** The users the README registers: left over only if an earlier run stopped before their deletion. */
async function forgetReadersAccounts(): Promise<void> {
  for (const name of ['ada', 'grace']) {
    for (const password of ['correct horse battery', 'an even better password']) {
      const login = await gql<{ login: { accessToken: string } }>(`mutation { login(login: "${name}", password: "${password}") { accessToken } }`);
      const token = login.data?.login?.accessToken;
      if (token) await gql('mutation { deleteAccount }', {}, { authorization: `Bearer ${token}` });
    }
  }
}

async function follow(dir: string): Promise<string[]> {
  const { text, commands } = script(snippets(readme), 3);
  writeFileSync(join(dir, 'readme.sh'), text);
  const env: NodeJS.ProcessEnv = { ...process.env, DOC_ROOT: root, DOC_OUT: dir };
  for (const name of ['TOKEN', 'CART', 'PRODUCT', 'ORDER']) delete env[name];
  const exit = await new Promise<number | null>((resolve, reject) => {
    const shell = spawn('bash', [join(dir, 'readme.sh')], { env, stdio: 'ignore', timeout: 300_000 });
    shell.once('error', reject);
    shell.once('exit', resolve);
  });
  if (exit !== 0) return [`the script itself exited with ${exit}`];
  const failures: string[] = [];
  commands.forEach((command, n) => {
    const output = readFileSync(join(dir, `${n}.out`), 'utf8');
    const exitCode = Number(readFileSync(join(dir, `${n}.rc`), 'utf8'));
    const wrong = verdict(command, exitCode, output);
    if (wrong) failures.push(`README.md:${command.line}: ${wrong}\n  $ ${command.text.replaceAll('\n', '\n    ')}\n  ${output.trim().slice(0, 1500).replaceAll('\n', '\n  ')}`);
  });
  return failures;
}

test('every shell snippet of the README works, top to bottom in one shell, and again', async (t) => {
  t.timeout(660_000);
  await forgetReadersAccounts();
  const runnable = snippets(readme).filter((s) => s.mode !== 'skip');
  t.true(runnable.flatMap((s) => s.commands).length > 40, 'the snippets were found');
  const failures: string[] = [];
  for (const round of ['first', 'second']) {
    const dir = mkdtempSync(join(tmpdir(), 'shop-readme-'));
    try {
      failures.push(...(await follow(dir)).map((f) => `${round} run, ${f}`));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  t.deepEqual(failures, [], failures.join('\n\n'));
});
