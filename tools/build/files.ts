/**
 * The one file walk of the build, its staging step and their specs: every file under a
 * folder, as paths relative to it, leaving out the entries `skip` names (by name, at any depth).
 */
import { readdirSync } from 'node:fs';
import path from 'node:path';

export function filesUnder(dir: string, skip: (name: string) => boolean = () => false): string[] {
  const walk = (sub: string): string[] =>
    readdirSync(path.join(dir, sub), { withFileTypes: true }).flatMap((e) => {
      if (skip(e.name)) return [];
      const rel = path.join(sub, e.name);
      return e.isDirectory() ? walk(rel) : e.isFile() ? [rel] : [];
    });
  return walk('');
}
