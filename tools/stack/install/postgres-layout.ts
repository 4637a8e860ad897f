/**
 * Where the Postgres cluster lives. Normally under stackDir, but the Postgres OS user must
 * be able to reach its data, socket and log; if stackDir sits below a directory it cannot
 * traverse (a clone under /root), everything moves to /var/lib/shop-stack/<hash>/.
 */
import { existsSync, readdirSync } from 'node:fs';
import { createHash } from 'node:crypto';
import path from 'node:path';
import { versions } from '../versions.js';
import { stackPaths, ensureDir } from '../paths.js';
import { type OsUser, canEnterAs } from '../os-user.js';
import { stackDir } from '../topology.js';

export interface PostgresLayout {
  dataDir: string;
  socketDir: string;
  /** The file the server writes; stackPaths.logFile('postgres') is it or a symlink to it. */
  logFile: string;
  /** Set when the cluster lives outside stackDir. */
  fallbackRoot: string | undefined;
}

/** Unix socket paths are limited to 107 bytes; leave room for "/.s.PGSQL.NNNNN". */
const maxSocketDirLength = 90;

/** Fallback root for this stackDir (hashed so that two clones, or two SHOP_STACK_DIRs, do not share a cluster). */
export function fallbackRoot(): string {
  const hash = createHash('sha256').update(stackDir).digest('hex').slice(0, 10);
  return path.join('/var/lib/shop-stack', hash);
}

export function resolveLayout(user: OsUser): PostgresLayout {
  const dirs = [stackPaths.data, stackPaths.run, stackPaths.logs].map(ensureDir);
  const socketDir = path.join(stackPaths.run, 'postgres');
  if (canEnterAs(user, dirs)) {
    return {
      dataDir: path.join(stackPaths.data, 'postgres'),
      socketDir: socketDir.length <= maxSocketDirLength ? socketDir : path.join(fallbackRoot(), 'run'),
      logFile: stackPaths.logFile('postgres'),
      fallbackRoot: undefined,
    };
  }
  const root = fallbackRoot();
  return {
    dataDir: path.join(root, 'data', 'postgres'),
    socketDir: path.join(root, 'run'),
    logFile: path.join(root, 'logs', 'postgres.log'),
    fallbackRoot: root,
  };
}

/** Directory with initdb/pg_ctl: the pinned Debian major if present, else the newest installed. */
export function findPgBinDir(): string | undefined {
  const base = '/usr/lib/postgresql';
  const preferred = path.join(base, String(versions.postgresMajor), 'bin');
  if (existsSync(path.join(preferred, 'initdb'))) return preferred;
  if (!existsSync(base)) return undefined;
  const majors = readdirSync(base)
    .filter((v) => existsSync(path.join(base, v, 'bin', 'initdb')))
    .sort((a, b) => Number(b) - Number(a));
  return majors[0] === undefined ? undefined : path.join(base, majors[0], 'bin');
}
