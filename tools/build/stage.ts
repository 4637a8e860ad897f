/**
 * The image's application files, apart from node_modules: what the Dockerfile's runtime stage
 * copies from its build stage (`node --import tsx tools/build/stage.ts /out`), and what
 * tests/build runs compiled processes from.
 *
 * - the root package.json and package-lock.json, and every workspace's package.json (npm
 *   resolves the @shop/* links through them);
 * - for each shipped workspace (workspaces.ts): its dist/ and the run-time files beside src/
 *   (migrations, the contracts' descriptor set), never src/, node_modules or READMEs.
 *
 * Nothing from bench/, tests/ or tools/ comes along, and no TypeScript file.
 */
import { copyFileSync, existsSync, mkdirSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { isTestOnly, repoRoot, shippedWorkspaces, workspaceDirs } from './workspaces.js';

/** A shipped workspace's top-level folders that stay out of the image. */
const leftOutFolders = new Set(['src', 'node_modules']);

/** Files under dir, READMEs left out (services/user/migrations has one). */
function filesUnder(dir: string, top = true): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    if (e.name.endsWith('.md') || (top && leftOutFolders.has(e.name))) return [];
    const full = path.join(dir, e.name);
    return e.isDirectory() ? filesUnder(full, false) : e.isFile() ? [full] : [];
  });
}

/** The image's application files (paths relative to the repository), from an already built tree. */
export function runtimeFiles(root = repoRoot): string[] {
  const files = ['package.json', 'package-lock.json', ...workspaceDirs(root).map((w) => `${w}/package.json`)];
  for (const workspace of shippedWorkspaces(root)) {
    const dir = path.join(root, workspace);
    if (!existsSync(path.join(dir, 'dist'))) throw new Error(`${workspace}/dist is missing: run \`npm run build\` first`);
    files.push(...filesUnder(dir).map((f) => path.relative(root, f)));
  }
  const ts = files.filter((f) => f.endsWith('.ts'));
  if (ts.length > 0) throw new Error(`TypeScript among the image's files: ${ts.join(', ')}`);
  const testOnly = files.filter((f) => f.includes('/dist/') && isTestOnly(f.replace(/^.*?\/dist\//, '').replace(/\.js(\.map)?$/, '.ts')));
  if (testOnly.length > 0) throw new Error(`test-only files among the image's files: ${testOnly.join(', ')}`);
  return [...new Set(files)].sort();
}

/** Copies runtimeFiles() into outDir, same relative paths; answers the list. */
export function stageRuntime(outDir: string, root = repoRoot): string[] {
  const files = runtimeFiles(root);
  for (const file of files) {
    mkdirSync(path.dirname(path.join(outDir, file)), { recursive: true });
    copyFileSync(path.join(root, file), path.join(outDir, file));
  }
  return files;
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
