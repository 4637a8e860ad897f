/**
 * The compiled image, checked without a Docker engine: `npm run build` (into a folder of its
 * own: the repository's dist/ folders are left alone), then the image's file set as the
 * Dockerfile's runtime stage assembles it (tools/build/stage.ts: package.json
 * files, dist/ folders, migrations; no src/), with the production dependencies only, in a
 * folder of its own. Real processes start from there with `node --conditions=compiled` and
 * no tsx: every entry point up to its configuration check, and the BFF against the local
 * stack. A resolve hook records every module each process loads: none may be TypeScript,
 * tsx or esbuild, or come from outside that folder (the repository's src/ or node_modules).
 *
 * What the Docker engine would add (the base image, npm ci in it, file ownership, USER) is
 * not checked here; the production dependencies are the ones `npm ls --omit=dev` lists,
 * hard-linked from the repository's node_modules rather than installed by `npm ci --omit=dev`.
 * Image references (compose, k8s, Dockerfile) must be pinned by digest.
 */
import test from 'ava';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseAllDocuments } from 'yaml';
import { freePort, waitFor } from '@shop/testing';
import { grpcServices, urls } from '@shop/tools/topology';
import { devServiceTokenKey } from '@shop/tools/dev-secrets';
import { buildAll } from '../../tools/build/build.js';
import { filesUnder } from '../../tools/build/files.js';
import { importMetaUrlRefs, stageRuntime } from '../../tools/build/stage.js';
import { repoRoot } from '../../tools/stack/topology.js';
import { isTestOnly, shippedWorkspaces, sourcePath, workspaceDirs } from '../../tools/build/workspaces.js';
import { containerArgs, infraImages, nodeImage, pinnedByDigest, shopImage } from '../../tools/deploy/image.js';

const stage = mkdtempSync(path.join(tmpdir(), 'shop-image-'));
/** The build's output, apart from the repository's own dist/ folders (which a running process may be using). */
const built = mkdtempSync(path.join(tmpdir(), 'shop-build-'));
const traces = path.join(stage, '.traces');
const traceHook = path.join(traces, 'hook.mjs');

/** What the spec's file listings leave out: installed packages and its own traces. */
const notListed = (name: string) => name === 'node_modules' || name === '.traces';

/**
 * The production dependencies into stage/node_modules, as the Dockerfile's
 * `npm ci --omit=dev --include-workspace-root --workspace=<each shipped workspace>` installs
 * them: each package `npm ls` lists with the same options, hard-linked (a copy, not a
 * symlink, so nothing resolves back into the repository), and the @shop/* workspace links
 * as npm makes them (tests/build/dockerfile.unit.spec.ts checks the Dockerfile's list).
 */
function installProductionModules() {
  const filter = ['--include-workspace-root', ...shippedWorkspaces().map((w) => `--workspace=${w}`)];
  const ls = spawnSync('npm', ['ls', '--omit=dev', '--all', '--parseable', ...filter], { cwd: repoRoot, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  const listed = ls.stdout.split('\n').filter((p) => p.startsWith(`${repoRoot}/`) && p.includes('/node_modules/'));
  const packages = listed
    .filter((p) => !p.includes('/node_modules/@shop/'))
    .map((p) => path.relative(repoRoot, p))
    .sort();
  const copied: string[] = [];
  for (const rel of packages) {
    if (copied.some((c) => rel.startsWith(`${c}/`))) continue;
    mkdirSync(path.dirname(path.join(stage, rel)), { recursive: true });
    const cp = spawnSync('cp', ['-al', path.join(repoRoot, rel), path.join(stage, rel)], { encoding: 'utf8' });
    if (cp.status !== 0) throw new Error(`cp -al ${rel}: ${cp.stderr}`);
    copied.push(rel);
  }
  mkdirSync(path.join(stage, 'node_modules', '@shop'), { recursive: true });
  const linked = new Set(listed.filter((p) => /\/node_modules\/@shop\/[^/]+$/.test(p)).map((p) => path.basename(p)));
  for (const dir of workspaceDirs()) {
    const { name } = JSON.parse(readFileSync(path.join(repoRoot, dir, 'package.json'), 'utf8')) as { name: string };
    if (!linked.has(name.replace('@shop/', ''))) continue;
    symlinkSync(path.relative(path.join(stage, 'node_modules', '@shop'), path.join(stage, dir)), path.join(stage, 'node_modules', name));
  }
}

/** A module resolve hook that appends every URL a process resolves to the file register() names. */
const hookSource = `
import { appendFileSync } from 'node:fs';
let file;
export function initialize(data) { file = data.file; }
export async function resolve(specifier, context, next) {
  const result = await next(specifier, context);
  appendFileSync(file, result.url + '\\n');
  return result;
}
`;

/** The entry points of the shop's processes: every src/**\/main.ts of a shipped workspace. */
const entries = (): string[] =>
  shippedWorkspaces().flatMap((w) =>
    filesUnder(path.join(repoRoot, w, 'src'), notListed)
      .filter((f) => path.basename(f) === 'main.ts' && !isTestOnly(f))
      .map((f) => `${w}/src/${f}`),
  );

interface Run {
  code: number | null;
  output: string;
  /** Every module URL the process resolved. */
  loaded: string[];
}

/**
 * A compiled process as the image's ENTRYPOINT starts it (plus the trace hook), from the
 * staged folder, with only the environment given (no NODE_OPTIONS: no loader sneaks in).
 */
function startCompiled(entry: string, env: Record<string, string>) {
  const trace = path.join(traces, `${entry.replaceAll('/', '_')}-${Date.now()}.txt`);
  writeFileSync(trace, '');
  const register = `data:text/javascript,${encodeURIComponent(`import { register } from 'node:module'; register(${JSON.stringify(pathToFileURL(traceHook).href)}, { data: { file: ${JSON.stringify(trace)} } });`)}`;
  const child = spawn(process.execPath, ['--import', register, '--enable-source-maps', '--conditions=compiled', containerArgs(entry)[0]!], {
    cwd: stage,
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (d: Buffer) => (output += d.toString('utf8')));
  child.stderr.on('data', (d: Buffer) => (output += d.toString('utf8')));
  const exited = new Promise<Run>((resolve) =>
    child.once('close', (code) => resolve({ code, output, loaded: readFileSync(trace, 'utf8').split('\n').filter(Boolean) })),
  );
  return { child, exited, output: () => output, loaded: () => readFileSync(trace, 'utf8').split('\n').filter(Boolean) };
}

/** What a compiled process must never load; answers the offending URLs. */
function foreignModules(loaded: string[]): string[] {
  return loaded.filter((url) => {
    if (!url.startsWith('file:')) return false;
    const file = fileURLToPath(url);
    return /\.[mc]?ts$/.test(file) || /\/node_modules\/(tsx|esbuild|@esbuild|typescript)\//.test(file) || !file.startsWith(`${stage}/`) || file.startsWith(traces);
  });
}

const running = new Set<ReturnType<typeof startCompiled>['child']>();

test.before(async () => {
  await buildAll({ outRoot: built });
  stageRuntime(stage, repoRoot, built);
  installProductionModules();
  mkdirSync(traces, { recursive: true });
  writeFileSync(traceHook, hookSource);
});

test.after.always(() => {
  for (const child of running) child.kill('SIGKILL');
  rmSync(stage, { recursive: true, force: true });
  rmSync(built, { recursive: true, force: true });
});

test("the staged file set (tools/build/stage.ts; no Docker build) holds compiled JavaScript and the files it reads at run time; no TypeScript, test code, tsx or esbuild", (t) => {
  const files = filesUnder(stage, notListed);
  t.deepEqual(files.filter((f) => f.endsWith('.ts')), [], 'no TypeScript file');
  t.false(files.some((f) => f.startsWith('bench/') || (f.startsWith('tests/') && f !== 'tests/e2e/package.json')), 'nothing from bench/ or tests/');
  t.false(files.some((f) => f.startsWith('tools/') && f !== 'tools/package.json'), 'nothing from tools/');
  for (const entry of entries()) t.true(files.includes(containerArgs(entry)[0]!), `${entry} is compiled`);
  for (const dep of ['tsx', 'esbuild', 'typescript', 'ava']) t.false(existsSync(path.join(stage, 'node_modules', dep)), `${dep} is not a production dependency`);

  // Every `new URL('…', import.meta.url)` of the compiled code finds its file or folder
  // (migrations beside src/, the BFF's schema, the contracts' descriptor set).
  const urlRefs = files
    .filter((f) => f.endsWith('.js'))
    .flatMap((f) => importMetaUrlRefs(readFileSync(path.join(stage, f), 'utf8')).map((ref) => ({ f, ref })));
  t.true(urlRefs.length >= 8, `import.meta.url references found: ${urlRefs.length}`);
  for (const { f, ref } of urlRefs) t.true(existsSync(path.resolve(path.dirname(path.join(stage, f)), ref)), `${f}: ${ref} is in the image`);
});

test('every entry point starts from the staged compiled JavaScript alone and stops at its configuration check', async (t) => {
  t.timeout(6 * 60_000);
  const all = entries();
  t.true(all.length >= 12, `entry points: ${all.join(', ')}`);
  for (const entry of all) {
    const p = startCompiled(entry, {});
    running.add(p.child);
    const run = await p.exited;
    running.delete(p.child);
    t.not(run.code, 0, `${entry} exits with an error`);
    // Every static import resolved (a missing .js or a .ts would fail before this line).
    t.regex(run.output, /invalid configuration:/, `${entry}'s output:\n${run.output.slice(-2000)}`);
    t.true(run.loaded.length > 20, `${entry} loaded ${run.loaded.length} modules`);
    t.deepEqual(foreignModules(run.loaded), [], `${entry} loads only the image's JavaScript`);
  }
});

test('the compiled BFF, run from the staged files, serves the local stack: ready, answers a GraphQL query through the product service, stops cleanly', async (t) => {
  t.timeout(3 * 60_000);
  const via = (name: string) => {
    const s = grpcServices.find((x) => x.name === name);
    if (!s) throw new Error(`no service ${name} in the topology`);
    return `127.0.0.1:${s.envoyPort}`;
  };
  const [port, httpPort] = [await freePort(), await freePort()];
  const bff = startCompiled('bff/src/main.ts', {
    SHOP_ENVIRONMENT: 'development',
    LOG_LEVEL: 'warn',
    PORT: String(port),
    HTTP_PORT: String(httpPort),
    PRODUCT_GRPC_ADDR: via('product'),
    CART_COMMAND_GRPC_ADDR: via('cart-command'),
    CART_QUERY_GRPC_ADDR: via('cart-query'),
    USER_COMMAND_GRPC_ADDR: via('user-command'),
    USER_QUERY_GRPC_ADDR: via('user-query'),
    ORDER_GRPC_ADDR: via('order'),
    REPORTS_GRPC_ADDR: via('reports'),
    NATS_URL: urls.nats,
    ADMIN_API_KEY: 'build-spec-admin-key',
    SERVICE_TOKEN_KEY: devServiceTokenKey(),
  });
  running.add(bff.child);
  let ended = false;
  void bff.exited.then(() => (ended = true));
  const alive = async <T>(what: string, check: () => Promise<T | false>) =>
    waitFor(what, async () => {
      if (ended) throw new Error('the BFF ended');
      return check();
    }, { timeoutMs: 90_000, intervalMs: 250 }).catch((err: Error) => {
      throw new Error(`${err.message}; its output:\n${bff.output().slice(-2000)}`);
    });

  await alive('/readyz to answer 200', async () => (await fetch(`http://127.0.0.1:${httpPort}/readyz`)).ok);
  const answer = await alive('a GraphQL answer', async () => {
    const res = await fetch(`http://127.0.0.1:${port}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: '{ products(first: 1) { id name } }' }),
    });
    return res.ok ? ((await res.json()) as { data?: { products?: unknown[] }; errors?: unknown[] }) : false;
  });
  t.is(answer.errors, undefined, JSON.stringify(answer.errors));
  t.true(Array.isArray(answer.data?.products), JSON.stringify(answer));

  bff.child.kill('SIGTERM');
  const run = await bff.exited;
  running.delete(bff.child);
  t.is(run.code, 0, `the BFF stops cleanly at SIGTERM:\n${run.output.slice(-2000)}`);
  t.true(run.loaded.length > 100, `the BFF loaded ${run.loaded.length} modules`);
  t.deepEqual(foreignModules(run.loaded), [], 'the BFF loads only the image\'s JavaScript');
});

test('the container arguments name the compiled entry, and map back to the source', (t) => {
  t.deepEqual(containerArgs('services/product/src/main.ts'), ['services/product/dist/main.js']);
  t.deepEqual(containerArgs('services/cart/src/command/main.ts'), ['services/cart/dist/command/main.js']);
  t.is(sourcePath('services/cart/dist/command/main.js'), 'services/cart/src/command/main.ts');
  t.throws(() => containerArgs('services/product/main.ts'));
});

// Image pins --------------------------------------------------------------------------------

/** Every image reference of docker-compose.yml, the k8s manifests (base and overlays) and the Dockerfile. */
function imageReferences(): Array<{ where: string; image: string }> {
  const refs: Array<{ where: string; image: string }> = [];
  const yamlFiles = [
    'docker-compose.yml',
    ...filesUnder(path.join(repoRoot, 'k8s'), notListed)
      .filter((f) => f.endsWith('.yaml') || f.endsWith('.yml'))
      .map((f) => `k8s/${f}`),
  ];
  const visit = (node: unknown, where: string) => {
    if (Array.isArray(node)) node.forEach((n) => visit(n, where));
    else if (node && typeof node === 'object') {
      for (const [key, value] of Object.entries(node)) {
        if (key === 'image' && typeof value === 'string') refs.push({ where, image: value });
        else visit(value, where);
      }
    }
  };
  for (const file of yamlFiles) for (const doc of parseAllDocuments(readFileSync(path.join(repoRoot, file), 'utf8'))) visit(doc.toJS(), file);
  const dockerfile = readFileSync(path.join(repoRoot, 'Dockerfile'), 'utf8');
  for (const m of dockerfile.matchAll(/^ARG NODE_IMAGE=(\S+)$/gm)) refs.push({ where: 'Dockerfile ARG NODE_IMAGE', image: m[1]! });
  for (const m of dockerfile.matchAll(/^FROM (\S+)/gm)) if (m[1] !== '${NODE_IMAGE}') refs.push({ where: 'Dockerfile FROM', image: m[1]! });
  return refs;
}

/** The Shop image: built from this repository (minikube loads it locally), so it has no registry digest. */
const isShopImage = (image: string) => image === shopImage || image.startsWith(`${shopImage}:`);

test('every third-party image is pinned by digest (name:tag@sha256:…) in compose, k8s and the Dockerfile', (t) => {
  for (const image of [nodeImage, ...Object.values(infraImages)]) t.regex(image, pinnedByDigest, `tools/deploy/image.ts: ${image}`);
  const refs = imageReferences();
  t.true(refs.some((r) => r.where === 'Dockerfile ARG NODE_IMAGE'), 'the Dockerfile names its base image in ARG NODE_IMAGE');
  t.true(refs.filter((r) => r.where.startsWith('k8s/')).length >= 5, 'k8s image references found');
  for (const { where, image } of refs) {
    if (isShopImage(image)) continue;
    t.regex(image, pinnedByDigest, `${where}: ${image}`);
  }
  t.is(refs.find((r) => r.where === 'Dockerfile ARG NODE_IMAGE')?.image, nodeImage, 'the Dockerfile builds on tools/deploy/image.ts nodeImage');
  // The check can fail: a tag alone, a short digest and a digest without its tag are refused.
  for (const bad of ['postgres:15', 'postgres:15@sha256:abc', 'nats@sha256:caa9ba3bcf5bda1113197144e395114c6812df312e74839037e7bf97e6ad5907']) {
    t.notRegex(bad, pinnedByDigest, bad);
  }
});
