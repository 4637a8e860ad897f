/**
 * Which workspaces are compiled to JavaScript (`npm run build`) and which of them the image
 * ships, and which of their files are compiled. One place, read by the build, by the
 * Dockerfile's staging step (stage.ts) and by tests/build.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { repoRoot } from '../stack/topology.js';

/**
 * Workspaces whose code never runs in a deployed process, so never compiled: the stack CLI
 * and deploy generators (tools/, run through tsx in development), the test helpers over the
 * local stack (packages/testing) and the end-to-end suite.
 */
const notBuilt = new Set(['tools', 'tests/e2e', 'packages/testing']);

/**
 * Compiled (so that compiled code could import it) but left out of the image: the Envoy
 * config renderer runs in development only (tools/ renders the deployed configs ahead).
 */
const notShipped = new Set(['envoy']);

/** The workspace folders of the root package.json ("dir/*" patterns expanded), relative to the repository. */
export function workspaceDirs(root = repoRoot): string[] {
  const { workspaces } = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as { workspaces: string[] };
  return workspaces
    .flatMap((pattern) => {
      if (!pattern.endsWith('/*')) return [pattern];
      const parent = pattern.slice(0, -2);
      return readdirSync(path.join(root, parent), { withFileTypes: true })
        .filter((e) => e.isDirectory())
        .map((e) => `${parent}/${e.name}`);
    })
    .filter((dir) => existsSync(path.join(root, dir, 'package.json')))
    .sort();
}

/** Workspaces `npm run build` compiles: every one with a src/ folder, but those that never run deployed. */
export const builtWorkspaces = (root = repoRoot): string[] =>
  workspaceDirs(root).filter((dir) => !notBuilt.has(dir) && existsSync(path.join(root, dir, 'src')));

/** Built workspaces whose dist/ (and run-time files beside src/, such as migrations) the image gets. */
export const shippedWorkspaces = (root = repoRoot): string[] => builtWorkspaces(root).filter((dir) => !notShipped.has(dir));

/**
 * Files under src/ that only tests use: specs, fixtures (test-fixtures.ts, *.fixture.ts),
 * src/testing/ folders (contract suites, counter projections) and the testing.ts entries that
 * gather them. Nothing a process imports is among them; tests/build checks that every entry
 * point loads without them.
 */
export function isTestOnly(relativeToSrc: string): boolean {
  const parts = relativeToSrc.split(/[\\/]/);
  const name = parts[parts.length - 1]!;
  return (
    name.endsWith('.spec.ts') ||
    name === 'test-fixtures.ts' ||
    name.endsWith('.fixture.ts') ||
    name === 'testing.ts' ||
    parts.slice(0, -1).includes('testing')
  );
}

/** The compiled file of a source file: `services/x/src/main.ts` → `services/x/dist/main.js`. */
export function compiledPath(sourceFile: string): string {
  const m = /^(.*?)(?:^|\/)src\/(.+)\.ts$/.exec(sourceFile);
  if (!m) throw new Error(`${sourceFile} is not a .ts file under a workspace's src/`);
  return `${m[1] ? `${m[1]}/` : ''}dist/${m[2]}.js`;
}

/** compiledPath's inverse: `services/x/dist/main.js` → `services/x/src/main.ts` (e.g. to read a container's config.ts). */
export function sourcePath(compiledFile: string): string {
  const m = /^(.*?)(?:^|\/)dist\/(.+)\.js$/.exec(compiledFile);
  if (!m) throw new Error(`${compiledFile} is not a compiled file (<workspace>/dist/….js)`);
  return `${m[1] ? `${m[1]}/` : ''}src/${m[2]}.ts`;
}
