/**
 * `npm run build`: every built workspace's src/ compiled to dist/ beside it, file by file,
 * with the same layout (so `new URL('../migrations', import.meta.url)` finds the same folder
 * from dist/ as from src/) and source maps. Non-TypeScript files under src/ (the BFF's
 * schema.graphql) are copied along. Test-only files are left out (workspaces.ts).
 *
 * esbuild only strips the types (no bundle): type checking stays `tsc --noEmit`, and each
 * output file is its source file, so a stack trace maps back one to one. A compiled process
 * runs as `node --enable-source-maps --conditions=compiled <workspace>/dist/<entry>.js`: the
 * "compiled" condition of the workspaces' package.json "exports" sends @shop/* imports to
 * dist/ too; without it (tsx, ava, tsc) they resolve to src/*.ts as before.
 */
import { build } from 'esbuild';
import { copyFileSync, existsSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { filesUnder } from './files.js';
import { repoRoot } from '../stack/topology.js';
import { builtWorkspaces, isTestOnly } from './workspaces.js';

export interface BuiltWorkspace {
  workspace: string;
  /** Compiled files, relative to the workspace's dist/ (source maps not counted). */
  compiled: string[];
  /** Non-TypeScript files copied from src/, relative to dist/. */
  copied: string[];
}

export interface BuildOptions {
  /** The repository whose sources are compiled. */
  root?: string;
  /** Where the dist/ folders go (`<outRoot>/<workspace>/dist`): the repository itself unless a test builds elsewhere. */
  outRoot?: string;
}

/**
 * Compiles one workspace into a new folder that then replaces dist/ (two renames): no output
 * of a deleted source survives, and a process of the local stack starting meanwhile (a
 * watchdog's restart) finds the old files or the new ones, never a half-written dist/.
 */
export async function buildWorkspace(workspace: string, { root = repoRoot, outRoot = root }: BuildOptions = {}): Promise<BuiltWorkspace> {
  const srcDir = path.join(root, workspace, 'src');
  const finalDir = path.join(outRoot, workspace, 'dist');
  const distDir = `${finalDir}.next-${process.pid}`;
  rmSync(distDir, { recursive: true, force: true });
  const files = filesUnder(srcDir).filter((f) => !isTestOnly(f));
  const sources = files.filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts'));
  const assets = files.filter((f) => !f.endsWith('.ts'));
  await build({
    entryPoints: sources.map((f) => path.join(srcDir, f)),
    outbase: srcDir,
    outdir: distDir,
    bundle: false,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    sourcemap: true,
    // Stack traces need the mappings only; the image carries no TypeScript, not even inside maps.
    sourcesContent: false,
    logLevel: 'warning',
  });
  for (const asset of assets) {
    mkdirSync(path.dirname(path.join(distDir, asset)), { recursive: true });
    copyFileSync(path.join(srcDir, asset), path.join(distDir, asset));
  }
  const oldDir = `${finalDir}.old-${process.pid}`;
  if (existsSync(finalDir)) renameSync(finalDir, oldDir);
  renameSync(distDir, finalDir);
  rmSync(oldDir, { recursive: true, force: true });
  return { workspace, compiled: sources.map((f) => f.replace(/\.ts$/, '.js')), copied: assets };
}

/** Compiles every built workspace (workspaces.ts), one after the other. */
export async function buildAll(options: BuildOptions = {}): Promise<BuiltWorkspace[]> {
  const built: BuiltWorkspace[] = [];
  for (const workspace of builtWorkspaces(options.root)) built.push(await buildWorkspace(workspace, options));
  return built;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const started = Date.now();
  const built = await buildAll();
  for (const b of built) console.log(`[build] ${b.workspace}: ${b.compiled.length} files${b.copied.length ? ` + ${b.copied.join(', ')}` : ''} → ${b.workspace}/dist`);
  console.log(`[build] ${built.length} workspaces compiled in ${((Date.now() - started) / 1000).toFixed(1)} s`);
}
