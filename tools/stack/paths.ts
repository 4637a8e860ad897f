/**
 * Directories under stackDir, derived from topology.ts. Everything the stack writes at
 * run time goes below stackDir so that `reset` and .gitignore only need to know one place.
 */
import path from 'node:path';
import { mkdirSync } from 'node:fs';
import { stackDir } from './topology.js';

export const stackPaths = {
  root: stackDir,
  bin: path.join(stackDir, 'bin'),
  logs: path.join(stackDir, 'logs'),
  run: path.join(stackDir, 'run'),
  data: path.join(stackDir, 'data'),
  kafka: path.join(stackDir, 'kafka'),
  envoyVenv: path.join(stackDir, 'envoy-venv'),
  logFile: (name: string) => path.join(stackDir, 'logs', `${name}.log`),
  installLog: (name: string) => path.join(stackDir, 'logs', `install-${name}.log`),
  pidFile: (name: string) => path.join(stackDir, 'run', `${name}.pid`),
};

/** mkdir -p that returns the directory, for use inline. */
export function ensureDir(dir: string): string {
  mkdirSync(dir, { recursive: true });
  return dir;
}
