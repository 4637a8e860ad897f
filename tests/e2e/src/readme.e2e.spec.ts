import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import test from 'ava';
import { script, snippets, verdict } from './doc-test/snippets.js';
import { grpcServices } from '@shop/tools/topology';
import { asCustomer, asService } from './fuzz/tokens.js';
import { gql } from './graphql.js';
import { grpcurlCall } from './grpcurl.js';

/**
 * The README works when followed: every shell snippet in it runs, top to bottom, in one
 * shell, against the running stack (how snippets opt out or stream: doc-test/snippets.ts),
 * and then all of them run once more in a new shell: a reader who follows it twice gets the
 * same answers, so no snippet may depend on ids or names only a first run has.
 */
const root = fileURLToPath(new URL('../../../', import.meta.url));
const readme = readFileSync(join(root, 'README.md'), 'utf8');

const userQuery = `127.0.0.1:${grpcServices.find((s) => s.name === 'user-query')!.envoyPort}`;
const headerLines = (headers: Record<string, string>) => Object.entries(headers).map(([k, v]) => `${k}: ${v}`);

/**
 * The users the README registers: left over only if an earlier run stopped before their
 * deletion. Found by name and deleted with a token of theirs (no failed sign-ins, which the
 * throttle would count against the README's own).
 */
async function forgetReadersAccounts(): Promise<void> {
  for (const username of readersUsernames()) {
    const found = await grpcurlCall(userQuery, 'shop.user.v1.UserQueryService/GetUserByUsername', { username }, headerLines(await asService())).catch(
      (err: { stderr?: string }) => {
        if (err.stderr?.includes('Code: NotFound')) return undefined;
        throw err;
      },
    );
    const id = (found as { user?: { id: string } } | undefined)?.user?.id;
    if (id) await gql('mutation { deleteAccount }', {}, await asCustomer(id));
  }
}

/** The usernames README's registrations use (GraphQL `username: \"ada\"`, gRPC `"username":"grace"`). */
function readersUsernames(): string[] {
  const registrations = snippets(readme).flatMap((s) => s.commands.filter((c) => /register/i.test(c.text)));
  return [...new Set(registrations.flatMap((c) => [...c.text.matchAll(/username\\?"?:\s*\\?"([a-z0-9_.-]+)/g)].map((m) => m[1]!)))];
}

async function follow(dir: string): Promise<string[]> {
  const { text, commands } = script(snippets(readme), 3);
  writeFileSync(join(dir, 'readme.sh'), text);
  // A reader's shell: what finds the tools and the stack, nothing of the test's own.
  const env: NodeJS.ProcessEnv = { DOC_ROOT: root, DOC_OUT: dir };
  for (const name of ['PATH', 'HOME', 'LANG', 'SHOP_PORT_OFFSET']) if (process.env[name] !== undefined) env[name] = process.env[name];
  const exit = await new Promise<number | null>((resolve, reject) => {
    const shell = spawn('bash', [join(dir, 'readme.sh')], { env, stdio: 'ignore', timeout: 300_000 });
    shell.once('error', reject);
    shell.once('exit', resolve);
  });
  if (exit !== 0) {
    // Killed at its time limit: name the command it was running.
    const stuck = commands.findIndex((_, n) => !existsSync(join(dir, `${n}.rc`)));
    const at = stuck < 0 ? '' : ` during README.md:${commands[stuck]!.line}\n  $ ${commands[stuck]!.text}\n  ${existsSync(join(dir, `${stuck}.out`)) ? readFileSync(join(dir, `${stuck}.out`), 'utf8').trim().slice(-1500) : ''}`;
    return [`the script ended with ${exit ?? 'a kill at its time limit'}${at}`];
  }
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
  const runnable = snippets(readme).filter((s) => s.mode !== 'skip');
  t.true(runnable.flatMap((s) => s.commands).length > 40, 'the snippets were found');
  t.deepEqual(readersUsernames(), ['ada', 'grace'], "the README's users were found");
  const failures: string[] = [];
  for (const round of ['first', 'second']) {
    await forgetReadersAccounts();
    const dir = mkdtempSync(join(tmpdir(), 'shop-readme-'));
    try {
      failures.push(...(await follow(dir)).map((f) => `${round} run, ${f}`));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  t.deepEqual(failures, [], failures.join('\n\n'));
});
