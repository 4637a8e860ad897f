/**
 * Postgres as a supervised process. pg_ctl starts and stops it (it knows how to wait for
 * startup and do a fast shutdown); the supervisor records the postmaster's pid.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { infraPorts, pgOsUser } from '../topology.js';
import { StackError } from '../log.js';
import { runLogged } from '../run.js';
import { envFor } from '../os-user.js';
import { stackPaths } from '../paths.js';
import { type PostgresSetup, postgresSetup, writePostgresConf } from '../install/postgres.js';
import { postgresReady } from '../ready/postgres.js';
import type { ProcessSpec } from '../supervisor.js';

export function postgresSpec(): ProcessSpec {
  // Resolved on first use: the spec must be constructible before anything is installed.
  let cached: PostgresSetup | undefined;
  const setup = () => (cached ??= postgresSetup());

  const pgCtl = async (args: string[], what: string): Promise<void> => {
    const { binDir, user, layout } = setup();
    await runLogged(path.join(binDir, 'pg_ctl'), ['-D', layout.dataDir, ...args], {
      logFile: stackPaths.logFile('postgres'),
      what: `postgres: ${what}`,
      hint: 'See the log lines of the server.',
      uid: user.uid,
      gid: user.gid,
      cwd: '/',
      env: envFor(user),
    });
  };

  return {
    name: 'postgres',
    command: 'pg_ctl',
    args: ['start'],
    ports: [infraPorts.postgres],
    runAs: pgOsUser,
    ready: () => postgresReady(),
    readyTimeoutMs: 30_000,
    prepare: async () => writePostgresConf(setup().layout, setup().user),
    launch: async () => {
      await pgCtl(['-l', setup().layout.logFile, '-w', '-t', '60', 'start'], 'pg_ctl start');
      return postmasterPid(setup().layout.dataDir);
    },
    shutdown: () => pgCtl(['-w', '-t', '30', '-m', 'fast', 'stop'], 'pg_ctl stop'),
    // Without the spec (stop by name), SIGINT is the postmaster's own "fast shutdown".
    stopSignal: 'SIGINT',
    stopTimeoutMs: 30_000,
  };
}

function postmasterPid(dataDir: string): number {
  const file = path.join(dataDir, 'postmaster.pid');
  const pid = Number.parseInt(readFileSync(file, 'utf8').split('\n')[0] ?? '', 10);
  if (!Number.isInteger(pid) || pid <= 0) throw new StackError(`postgres: pg_ctl started the server but ${file} holds no pid`);
  return pid;
}
