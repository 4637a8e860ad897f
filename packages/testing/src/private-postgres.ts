import { execFile, spawnSync } from 'node:child_process';
import { chownSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { pgOsUser } from '@shop/tools/topology';
import { lookupUser, envFor } from '@shop/tools/os-user';
import { findPgBinDir } from '@shop/tools/install/postgres-layout';
import { childrenOf, isPidAlive } from '@shop/tools/pidfile';
import { freePort } from './free-port.js';

const run = promisify(execFile);

/**
 * A throwaway Postgres cluster of its own, for tests that crash or restart the database:
 * the stack's Postgres is shared by every other test and must never be touched. Same
 * binaries and the same non-root OS user as the stack (tools/stack/install/postgres.ts);
 * trust authentication on loopback only, and no fsync (the data dies with the test).
 */
export interface PrivatePostgres {
  port: number;
  /** Connection string of a database of this cluster (default `postgres`). */
  url(database?: string): string;
  /** kill -9 of the postmaster and every backend: a crash, as the host or the OOM killer does it. */
  crash(): Promise<void>;
  /** Starts the server again on the same data and port (crash recovery included); resolves once it accepts connections. */
  start(): Promise<void>;
  /** Stops the server and deletes the cluster. */
  destroy(): Promise<void>;
}

export interface PrivatePostgresOptions {
  /**
   * More server settings, passed as `-c name=value` (e.g. `{ wal_level: 'logical' }` for a
   * test of logical decoding). Names and values are the server's own; nothing is checked here.
   */
  settings?: Record<string, string | number>;
}

export async function startPrivatePostgres(opts: PrivatePostgresOptions = {}): Promise<PrivatePostgres> {
  const binDir = findPgBinDir();
  const user = lookupUser(pgOsUser);
  if (!binDir || !user) throw new Error('Postgres is not installed for the stack: run `npm run stack -- install` first');
  // /tmp is traversable by everyone, so the Postgres user reaches its directory.
  const root = mkdtempSync('/tmp/shop-private-pg-');
  chownSync(root, user.uid, user.gid);
  const dataDir = path.join(root, 'data');
  const logFile = path.join(root, 'postgres.log');
  const port = await freePort();
  const asPg = { uid: user.uid, gid: user.gid, cwd: '/', env: { ...process.env, ...envFor(user) } };
  await run(path.join(binDir, 'initdb'), ['-D', dataDir, '-U', 'postgres', '--auth=trust', '--encoding=UTF8', '--locale=C.UTF-8', '--no-sync'], asPg);
  const extra = Object.entries(opts.settings ?? {}).map(([name, value]) => ` -c ${name}=${value}`).join('');
  const options = `-p ${port} -k ${root} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=100${extra}`;
  const pgCtl = (...args: string[]) => run(path.join(binDir, 'pg_ctl'), ['-D', dataDir, '-l', logFile, '-o', options, ...args], asPg);

  const url = (database = 'postgres') => `postgres://postgres@127.0.0.1:${port}/${database}`;
  const start = async () => {
    await pgCtl('-w', '-t', '60', 'start');
    // pg_ctl -w waits for the server, not for crash recovery's end in every version: ask it.
    for (let attempt = 0; ; attempt++) {
      const client = new pg.Client({ connectionString: url() });
      // A connection the server ends while it recovers emits this; unheard, it kills the worker.
      client.on('error', () => undefined);
      try {
        await client.connect();
        await client.query('SELECT 1');
        return;
      } catch (err) {
        if (attempt > 100) throw err;
        await sleep(100);
      } finally {
        await client.end().catch(() => undefined);
      }
    }
  };
  await start();
  // A test worker that dies (an uncaught exception) runs no teardown: the server must not outlive it.
  const cleanUp = () => {
    spawnSync(path.join(binDir, 'pg_ctl'), ['-D', dataDir, '-w', '-m', 'immediate', 'stop'], { ...asPg, stdio: 'ignore' });
    rmSync(root, { recursive: true, force: true });
  };
  process.once('exit', cleanUp);

  return {
    port,
    url,
    start,
    async crash() {
      const postmaster = Number.parseInt(readFileSync(path.join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]!, 10);
      // Only this cluster's processes: a pid read a moment ago may belong to anyone now
      // (a kill -9 of the test's own worker dies without a word).
      const victims = [postmaster, ...childrenOf(postmaster)].filter((pid) => pid !== process.pid && isPostgres(pid));
      if (!victims.includes(postmaster)) throw new Error(`no postmaster of ${dataDir} at pid ${postmaster}`);
      for (const pid of victims) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // Already gone.
        }
      }
      // The next start needs the old shared memory released, i.e. every process gone.
      const deadline = Date.now() + 30_000;
      while (victims.some(isPidAlive)) {
        if (Date.now() > deadline) throw new Error(`Postgres processes ${victims.filter(isPidAlive).join(', ')} outlived kill -9 by 30 s`);
        await sleep(50);
      }
      // A dead postmaster left unreaped (a zombie, until init gets to it) still answers
      // kill(pid, 0), which a new postmaster takes for "another server is running".
      // Same for the socket's lock file.
      for (const file of ['postmaster.pid', `../.s.PGSQL.${port}.lock`, `../.s.PGSQL.${port}`]) rmSync(path.join(dataDir, file), { force: true });
    },
    async destroy() {
      process.removeListener('exit', cleanUp);
      await pgCtl('-w', '-m', 'immediate', 'stop').catch(() => undefined);
      rmSync(root, { recursive: true, force: true });
    },
  };
}

/** A process of the Postgres binaries (`postgres: …` for backends, whatever their title). */
function isPostgres(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/comm`, 'utf8').trim().startsWith('postgres');
  } catch {
    return false;
  }
}
