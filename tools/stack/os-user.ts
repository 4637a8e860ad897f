/**
 * OS users for processes that must not run as root (Postgres refuses to), and the check
 * whether such a user can reach a directory at all (a repo cloned under /root cannot be
 * traversed by anyone else).
 */
import { spawnSync } from 'node:child_process';
import { runLogged } from './run.js';

export interface OsUser {
  name: string;
  uid: number;
  gid: number;
}

export function lookupUser(name: string): OsUser | undefined {
  const res = spawnSync('getent', ['passwd', name], { encoding: 'utf8' });
  if (res.error) throw res.error;
  if (res.status !== 0) return undefined;
  const [, , uid, gid] = res.stdout.trim().split(':');
  return { name, uid: Number(uid), gid: Number(gid) };
}

/** Creates a system user with its own group, no home and no login shell, if missing. */
export async function ensureSystemUser(name: string, logFile: string): Promise<OsUser> {
  const existing = lookupUser(name);
  if (existing) return existing;
  await runLogged('useradd', ['--system', '--user-group', '--no-create-home', '--home-dir', '/nonexistent', '--shell', '/usr/sbin/nologin', name], {
    logFile,
    what: `creating OS user ${name}`,
    hint: 'The stack must run as root to create it (or create it yourself: useradd --system --user-group shop-pg).',
  });
  const created = lookupUser(name);
  if (!created) throw new Error(`useradd reported success but user ${name} does not exist`);
  return created;
}

/** True if `user` can cd into every one of `dirs` (i.e. traverse all their ancestors). */
export function canEnterAs(user: OsUser, dirs: string[]): boolean {
  const script = 'for d in "$@"; do cd "$d" || exit 1; done';
  const res = spawnSync('/bin/sh', ['-c', script, 'sh', ...dirs], { uid: user.uid, gid: user.gid, stdio: 'ignore' });
  if (res.error) throw res.error;
  return res.status === 0;
}

/** Environment for commands run as `user`: root's HOME would be unreadable to it. */
export function envFor(user: OsUser): Record<string, string> {
  return { HOME: '/', USER: user.name, LOGNAME: user.name };
}
