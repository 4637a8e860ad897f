// The contracts package is only trustworthy if it is exactly what the protos
// produce: regenerate into a temp dir and compare byte for byte, lint, and
// check compatibility against the previous commit (or the merge base with origin/main).
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

/**
 * The commit the working tree must stay compatible with: on a branch, where it left
 * origin/main; on main itself (the merge base is HEAD), the commit before, so a breaking
 * change that is already committed still fails. Undefined when the history lacks it.
 */
async function breakingBase(): Promise<{ sha?: string; why: string }> {
  const head = await run('git', ['rev-parse', '--verify', '--quiet', 'HEAD^{commit}']);
  const mergeBase = await run('git', ['merge-base', 'HEAD', 'refs/remotes/origin/main']);
  if (mergeBase.code === 0 && mergeBase.output !== head.output) return { sha: mergeBase.output, why: 'merge base with origin/main' };
  let parent = await run('git', ['rev-parse', '--verify', '--quiet', 'HEAD~1^{commit}']);
  const shallow = await run('git', ['rev-parse', '--is-shallow-repository']);
  if (parent.code !== 0 && shallow.output === 'true') {
    // A shallow clone may still reach its origin: one commit more is all this needs.
    await run('git', ['fetch', '--quiet', '--deepen=1', 'origin']);
    parent = await run('git', ['rev-parse', '--verify', '--quiet', 'HEAD~1^{commit}']);
  }
  if (parent.code === 0) return { sha: parent.output, why: 'HEAD~1' };
  return {
    why:
      shallow.output === 'true'
        ? 'this is a shallow clone without HEAD~1: clone with history (actions/checkout fetch-depth: 0, or git fetch --unshallow)'
        : `HEAD~1 does not exist (${head.code === 0 ? 'HEAD is a root commit' : 'not a git checkout'}): buf breaking has no base to compare against`,
  };
}

test('protos are wire- and source-compatible with the previous commit or the merge base (buf breaking)', async (t) => {
  const base = await breakingBase();
  if (!base.sha) return t.fail(`buf breaking cannot run: ${base.why}`);
  // The protos are older than any base picked here: a base without them is the wrong base.
  const hasProtos = await run('git', ['cat-file', '-e', `${base.sha}:buf.yaml`]);
  if (hasProtos.code !== 0) return t.fail(`buf breaking: the base ${base.why} (${base.sha}) has no buf.yaml`);
  const { code, output } = await run(bufBin, ['breaking', '--against', `.git#ref=${base.sha}`]);
  t.is(code, 0, `against ${base.why} (${base.sha}):\n${output}`);
});
