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

/** A shipped workspace's top-level folders not copied as they are (dist/ comes from the build's output). */
const leftOutFolders = new Set(['src', 'node_modules', 'dist']);

/** Files under dir, READMEs left out (services/user/migrations has one). */
function filesUnder(dir: string, top = true): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    if (e.name.endsWith('.md') || (top && leftOutFolders.has(e.name))) return [];
    const full = path.join(dir, e.name);
    return e.isDirectory() ? filesUnder(full, false) : e.isFile() ? [full] : [];
  });
}

/** A file of the image: its path there (relative to /app) and where it is copied from. */
export interface RuntimeFile {
  file: string;
  from: string;
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
    files.push(...filesUnder(path.join(root, workspace)).map((f) => fromRoot(path.relative(root, f))));
    files.push(...filesUnder(dist, false).map((f) => ({ file: `${workspace}/dist/${path.relative(dist, f)}`, from: f })));
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
