/**
 * PostgreSQL: Debian's server binaries (apt-get installed if missing), a dedicated OS user
 * (Postgres refuses to run as root), and one cluster initialised for the stack.
 */
import { existsSync, readFileSync, writeFileSync, appendFileSync, readdirSync, mkdirSync, chownSync, chmodSync, rmSync, lstatSync, readlinkSync, symlinkSync, openSync, closeSync } from 'node:fs';
import path from 'node:path';
import { pgOsUser, pgUser, pgPassword, infraPorts, stackDir } from '../topology.js';
import { StackError } from '../log.js';
import { stackPaths } from '../paths.js';
import { runLogged } from '../run.js';
import { type OsUser, lookupUser, ensureSystemUser, envFor } from '../os-user.js';
import { type PostgresLayout, resolveLayout, findPgBinDir } from './postgres-layout.js';
import { renderPostgresConf, includeLine, confFileName } from './postgres-conf.js';
import { installer, type InstallOutcome } from './installer.js';

export interface PostgresSetup {
  binDir: string;
  user: OsUser;
  layout: PostgresLayout;
}

const installLog = () => stackPaths.installLog('postgres');

export const installPostgres = installer('postgres', async (progress): Promise<InstallOutcome> => {
  let outcome: InstallOutcome = 'cached';
  let binDir = findPgBinDir();
  if (!binDir) {
    progress('no initdb found; apt-get install postgresql (first time ~1 min)…');
    await aptInstallPostgres();
    binDir = findPgBinDir();
    if (!binDir) throw new StackError(`postgres: apt-get installed postgresql but no /usr/lib/postgresql/*/bin/initdb exists. Full log: ${installLog()}`);
    outcome = 'installed';
  }
  if (!lookupUser(pgOsUser)) {
    progress(`creating OS user ${pgOsUser} (Postgres refuses to run as root)…`);
    outcome = 'installed';
  }
  const user = await ensureSystemUser(pgOsUser, installLog());
  const layout = resolveLayout(user);
  if (layout.fallbackRoot) {
    progress(`${pgOsUser} cannot traverse ${stackDir}, so the cluster lives in ${layout.fallbackRoot} (logs/postgres.log links there)`);
  }
  prepareDirs(layout, user);
  if (!existsSync(path.join(layout.dataDir, 'PG_VERSION'))) {
    progress(`initdb ${layout.dataDir} (first time ~5s)…`);
    await initdb(binDir, user, layout);
    outcome = 'installed';
  }
  writePostgresConf(layout, user);
  return outcome;
});

/** What starting and stopping need; throws the one-line "install first" error when missing. */
export function postgresSetup(): PostgresSetup {
  const binDir = findPgBinDir();
  const user = lookupUser(pgOsUser);
  const notInstalled = 'postgres is not installed: run `npm run stack -- install`';
  if (!binDir || !user) throw new StackError(notInstalled);
  const layout = resolveLayout(user);
  if (!existsSync(path.join(layout.dataDir, 'PG_VERSION'))) throw new StackError(`${notInstalled} (no cluster in ${layout.dataDir})`);
  return { binDir, user, layout };
}

/** (Re)writes shop-stack.conf with the current ports, and makes postgresql.conf include it. */
export function writePostgresConf(layout: PostgresLayout, user: OsUser): void {
  const confFile = path.join(layout.dataDir, confFileName);
  writeFileSync(confFile, renderPostgresConf({ port: infraPorts.postgres, socketDir: layout.socketDir }));
  chownSync(confFile, user.uid, user.gid);
  const mainConf = path.join(layout.dataDir, 'postgresql.conf');
  if (!readFileSync(mainConf, 'utf8').includes(includeLine)) appendFileSync(mainConf, `\n# Added by tools/stack\n${includeLine}\n`);
}

async function aptInstallPostgres(): Promise<void> {
  const hint = 'Check that the Debian mirrors are reachable, or install PostgreSQL yourself (apt-get install -y postgresql).';
  const env = { DEBIAN_FRONTEND: 'noninteractive' };
  await runLogged('apt-get', ['update'], { logFile: installLog(), what: 'postgres: apt-get update', hint, env });
  await runLogged('apt-get', ['install', '-y', '--no-install-recommends', 'postgresql'], { logFile: installLog(), what: 'postgres: apt-get install postgresql', hint, env });
}

function prepareDirs(layout: PostgresLayout, user: OsUser): void {
  if (layout.fallbackRoot) {
    // Every ancestor must be traversable by the Postgres user, whatever root's umask is.
    ownedDir(path.dirname(layout.fallbackRoot), undefined, 0o755);
    ownedDir(layout.fallbackRoot, user, 0o755);
    ownedDir(path.dirname(layout.logFile), user, 0o755);
  }
  ownedDir(path.dirname(layout.dataDir), layout.fallbackRoot ? user : undefined, 0o755);
  ownedDir(layout.dataDir, user, 0o700);
  ownedDir(layout.socketDir, user, 0o755);
  if (!existsSync(layout.logFile)) closeSync(openSync(layout.logFile, 'a'));
  chownSync(layout.logFile, user.uid, user.gid);
  const visibleLog = stackPaths.logFile('postgres');
  if (visibleLog !== layout.logFile) linkLog(visibleLog, layout.logFile);
}

function ownedDir(dir: string, user: OsUser | undefined, mode: number): void {
  mkdirSync(dir, { recursive: true });
  if (user) chownSync(dir, user.uid, user.gid);
  chmodSync(dir, mode);
}

/** Points stackDir/logs/postgres.log at the real log, so `stack logs postgres` finds it. */
function linkLog(link: string, target: string): void {
  mkdirSync(path.dirname(link), { recursive: true });
  const stat = lstatSync(link, { throwIfNoEntry: false });
  if (stat?.isSymbolicLink() && readlinkSync(link) === target) return;
  if (stat) rmSync(link);
  symlinkSync(target, link);
}

async function initdb(binDir: string, user: OsUser, layout: PostgresLayout): Promise<void> {
  if (readdirSync(layout.dataDir).length > 0) {
    throw new StackError(`postgres: ${layout.dataDir} is not empty but holds no cluster (an interrupted initdb?): run \`npm run stack -- reset\` and install again`);
  }
  // initdb reads the superuser password from a file; it must be readable by the Postgres user.
  const pwfile = path.join(path.dirname(layout.dataDir), '.initdb-pw');
  writeFileSync(pwfile, `${pgPassword}\n`, { mode: 0o600 });
  chownSync(pwfile, user.uid, user.gid);
  try {
    await runLogged(
      path.join(binDir, 'initdb'),
      ['-D', layout.dataDir, '-U', pgUser, `--pwfile=${pwfile}`, '--auth=scram-sha-256', '--encoding=UTF8', '--locale=C.UTF-8'],
      { logFile: installLog(), what: 'postgres: initdb', hint: 'See the log; `npm run stack -- reset` clears a half-made cluster.', uid: user.uid, gid: user.gid, cwd: '/', env: envFor(user) },
    );
  } finally {
    rmSync(pwfile, { force: true });
  }
}
