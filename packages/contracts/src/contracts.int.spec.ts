// The contracts package is only trustworthy if it is exactly what the protos
// produce: regenerate into a temp dir and compare byte for byte, lint, and
// check compatibility against main.
import test from 'ava';
import { execFile } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const contracts = join(root, 'packages/contracts');
const bufBin = join(root, 'node_modules/.bin/buf');

type Run = { code: number; output: string };

function run(file: string, args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(file, args, { cwd: root, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
      resolve({ code, output: `${stdout}${stderr}`.trim() });
    });
  });
}

async function buf(args: string[]): Promise<void> {
  const { code, output } = await run(bufBin, args);
  if (code !== 0) throw new Error(`buf ${args.join(' ')} exited ${code}:\n${output}`);
}

/** Every file below dir, keyed by its path relative to base. */
async function files(dir: string, base: string): Promise<Map<string, Buffer>> {
  const found = new Map<string, Buffer>();
  for (const entry of await readdir(dir, { withFileTypes: true }).catch(() => [])) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) for (const [k, v] of await files(path, base)) found.set(k, v);
    else found.set(relative(base, path), await readFile(path));
  }
  return found;
}

async function tree(contractsDir: string): Promise<Map<string, Buffer>> {
  const all = await files(join(contractsDir, 'src/gen'), contractsDir);
  all.set('descriptors.binpb', await readFile(join(contractsDir, 'descriptors.binpb')).catch(() => Buffer.alloc(0)));
  return all;
}

test('committed src/gen and descriptors.binpb are exactly what the protos generate', async (t) => {
  const tmp = await mkdtemp(join(tmpdir(), 'contracts-drift-'));
  t.teardown(() => rm(tmp, { recursive: true, force: true }));
  // -o prefixes every `out:` of buf.gen.yaml, so the committed template is used as is.
  await buf(['generate', '-o', tmp]);
  await buf(['build', '-o', join(tmp, 'packages/contracts/descriptors.binpb')]);

  const fresh = await tree(join(tmp, 'packages/contracts'));
  const committed = await tree(contracts);
  const drift = [
    ...[...fresh].filter(([p, b]) => committed.has(p) && !b.equals(committed.get(p)!)).map(([p]) => `differs: ${p}`),
    ...[...fresh.keys()].filter((p) => !committed.has(p)).map((p) => `missing: ${p}`),
    ...[...committed.keys()].filter((p) => !fresh.has(p)).map((p) => `extra:   ${p}`),
  ];
  t.true(fresh.size > 3, 'buf generate produced (almost) nothing');
  t.deepEqual(drift, [], `packages/contracts is out of date with proto/; run npm run generate\n${drift.join('\n')}`);
});

test('buf lint passes', async (t) => {
  const { code, output } = await run(bufBin, ['lint']);
  t.is(code, 0, output);
});

test('protos are wire- and source-compatible with main (buf breaking)', async (t) => {
  const main = await run('git', ['rev-parse', '--verify', '--quiet', 'refs/heads/main^{commit}']);
  if (main.code !== 0) {
    t.log('SKIPPED buf breaking: branch main has no commit yet, nothing to compare against');
    t.pass();
    return;
  }
  const hasProtos = await run('git', ['cat-file', '-e', 'main:buf.yaml']);
  if (hasProtos.code !== 0) {
    t.log('SKIPPED buf breaking: main has no buf.yaml yet, nothing to compare against');
    t.pass();
    return;
  }
  const { code, output } = await run(bufBin, ['breaking', '--against', '.git#branch=main']);
  t.is(code, 0, output);
});
