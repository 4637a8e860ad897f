/**
 * Writes every file generated from the process catalog (tools/catalog/generated.ts) and
 * removes the generated files of processes no longer in it. Run after changing the catalog,
 * envoy/src/config.ts or tools/deploy/image.ts:
 *
 *   npm run generate:deploy
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { repoRoot } from '../stack/topology.js';
import { generatedFiles, staleGeneratedFiles } from './generated.js';

const files = generatedFiles();
for (const { file, text } of files) {
  const target = path.join(repoRoot, file);
  const current = existsSync(target) ? readFileSync(target, 'utf8') : undefined;
  if (current === text) continue;
  mkdirSync(path.dirname(target), { recursive: true });
  writeFileSync(target, text);
  console.log(`[generate] ${file}: ${current === undefined ? 'written' : 'updated'}`);
}
for (const file of staleGeneratedFiles(files)) {
  rmSync(path.join(repoRoot, file));
  console.log(`[generate] ${file}: removed (no longer in the catalog)`);
  const dir = path.dirname(path.join(repoRoot, file));
  if (readdirSync(dir).length === 0) rmSync(dir, { recursive: true });
}
console.log(`[generate] ${files.length} files from the catalog are up to date`);
