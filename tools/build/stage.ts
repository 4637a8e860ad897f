/**
 * The image's application files, apart from node_modules: what the Dockerfile's runtime stage
 * copies from its build stage (`node --import tsx tools/build/stage.ts /out`), and what
 * tests/build runs compiled processes from.
 *
 * An allowlist, so that nothing lying in a workspace (an .env, a key, notes) comes along:
 * - the root package.json and package-lock.json, and every workspace's package.json (npm
 *   resolves the @shop/* links through them);
 * - each shipped workspace's dist/ (workspaces.ts);
 * - the files the compiled code reads beside dist/: every `new URL('…', import.meta.url)`
 *   of a dist/ file that points out of dist/ (the migrations folders, the contracts'
 *   descriptor set), found in the compiled code itself, so that a new one needs no list here.
 *   Inside those folders READMEs, dotfiles and keys (*.pem, *.key) stay out.
 *
 * Nothing from bench/, tests/ or tools/ comes along, and no TypeScript file.
 */
import { copyFileSync, existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { filesUnder } from './files.js';
import { repoRoot } from '../stack/topology.js';
import { isTestOnly, shippedWorkspaces, workspaceDirs } from './workspaces.js';

/** Files never staged from a run-time folder: READMEs (services/user/migrations has one), dotfiles (.env…) and keys. */
const notRunTime = (name: string) => name.endsWith('.md') || name.startsWith('.') || name.endsWith('.pem') || name.endsWith('.key');

/** The paths of `new URL('<path>', import.meta.url)` in a compiled file. */
export const importMetaUrlRefs = (js: string): string[] =>
  [...js.matchAll(/new URL\((["'])([^"']+)\1,\s*import\.meta\.url\)/g)].map((m) => m[2]!);

/** A file of the image: its path there (relative to /app) and where it is copied from. */
export interface RuntimeFile {
  file: string;
  from: string;
}

/**
 * What a workspace's compiled code reads outside its dist/, relative to the workspace
 * (e.g. `migrations/001_init.sql`, `descriptors.binpb`).
 */
function runTimeAssets(root: string, workspace: string, dist: string, compiled: string[]): string[] {
  const assets = new Set<string>();
  for (const file of compiled.filter((f) => f.endsWith('.js'))) {
    for (const ref of importMetaUrlRefs(readFileSync(path.join(dist, file), 'utf8'))) {
      const target = path.posix.normalize(path.posix.join('dist', path.posix.dirname(file), ref));
      if (target === 'dist' || target.startsWith('dist/')) continue; // copied by the build (the BFF's schema)
      if (target.startsWith('..')) throw new Error(`${workspace}/dist/${file}: ${ref} points out of ${workspace}`);
      const source = path.join(root, workspace, target);
      if (!existsSync(source)) throw new Error(`${workspace}/dist/${file} reads ${workspace}/${target}, which is missing`);
      if (statSync(source).isDirectory()) for (const f of filesUnder(source, notRunTime)) assets.add(path.posix.join(target, f));
      else assets.add(target);
    }
  }
  return [...assets];
}

/**
 * The image's application files, from a built tree: `root` holds the sources, `distRoot`
 * the dist/ folders of `npm run build` (the same tree unless the build went elsewhere).
 */
export function runtimeFiles(root = repoRoot, distRoot = root): RuntimeFile[] {
  const fromRoot = (file: string) => ({ file, from: path.join(root, file) });
  const files: RuntimeFile[] = ['package.json', 'package-lock.json', ...workspaceDirs(root).map((w) => `${w}/package.json`)].map(fromRoot);
  for (const workspace of shippedWorkspaces(root)) {
    const dist = path.join(distRoot, workspace, 'dist');
    if (!existsSync(dist)) throw new Error(`${path.relative(distRoot, dist) || dist} is missing: run \`npm run build\` first`);
    const compiled = filesUnder(dist);
    files.push(...compiled.map((f) => ({ file: `${workspace}/dist/${f}`, from: path.join(dist, f) })));
    files.push(...runTimeAssets(root, workspace, dist, compiled).map((f) => fromRoot(`${workspace}/${f}`)));
  }
  const unique = [...new Map(files.map((f) => [f.file, f])).values()].sort((a, b) => a.file.localeCompare(b.file));
  const ts = unique.filter((f) => f.file.endsWith('.ts'));
  if (ts.length > 0) throw new Error(`TypeScript among the image's files: ${ts.map((f) => f.file).join(', ')}`);
  const testOnly = unique.filter((f) => f.file.includes('/dist/') && isTestOnly(f.file.replace(/^.*?\/dist\//, '').replace(/\.js(\.map)?$/, '.ts')));
  if (testOnly.length > 0) throw new Error(`test-only files among the image's files: ${testOnly.map((f) => f.file).join(', ')}`);
  return unique;
}

/** Copies runtimeFiles() into outDir, same relative paths; answers the paths. */
export function stageRuntime(outDir: string, root = repoRoot, distRoot = root): string[] {
  const files = runtimeFiles(root, distRoot);
  for (const { file, from } of files) {
    mkdirSync(path.dirname(path.join(outDir, file)), { recursive: true });
    copyFileSync(from, path.join(outDir, file));
  }
  return files.map((f) => f.file);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const outDir = process.argv[2];
  if (!outDir) {
    console.error('usage: node --import tsx tools/build/stage.ts <output folder>   (after npm run build)');
    process.exit(2);
  }
  const files = stageRuntime(path.resolve(outDir));
  console.log(`[stage] ${files.length} files → ${outDir}`);
}
