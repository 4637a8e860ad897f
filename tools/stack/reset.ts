/** Deleting the stack's data (not its installed tools): the next `up` starts from empty servers. */
import { existsSync, rmSync } from 'node:fs';
import path from 'node:path';
import { stackPaths } from './paths.js';
import { fallbackRoot } from './install/postgres-layout.js';

/** Removes the data directories; returns the ones that existed. */
export function removeData(): string[] {
  const dirs = [stackPaths.data, path.join(fallbackRoot(), 'data')];
  const removed = dirs.filter((d) => existsSync(d));
  for (const dir of removed) rmSync(dir, { recursive: true, force: true });
  return removed;
}
