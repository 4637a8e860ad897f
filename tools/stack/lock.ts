/**
 * A cross-process lock (a file created with O_EXCL holding the owner's pid). Tests in
 * several ava worker processes may all call upInfra() at once; without it two of them
 * would both see Postgres stopped and both try to start it.
 */
import { openSync, writeSync, closeSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { StackError, say } from './log.js';
import { stackPaths, ensureDir } from './paths.js';
import { isPidAlive } from './pidfile.js';

const waitLimitMs = 15 * 60_000;

/** `label` names what waits in the progress line (default: the lock name). */
export async function withLock<T>(name: string, fn: () => Promise<T>, label = name): Promise<T> {
  const file = path.join(ensureDir(path.join(stackPaths.run, 'locks')), `${name}.lock`);
  const deadline = Date.now() + waitLimitMs;
  let announced = false;
  for (;;) {
    try {
      const fd = openSync(file, 'wx');
      writeSync(fd, String(process.pid));
      closeSync(fd);
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const text = readOwner(file);
    // Released between our open and our read: just try again.
    if (text === undefined) continue;
    const owner = Number.parseInt(text, 10);
    // A lock left by a killed process (or an empty file from a crash mid-write) is stale.
    if (!Number.isFinite(owner) || (owner !== process.pid && !isPidAlive(owner))) {
      rmSync(file, { force: true });
      continue;
    }
    if (Date.now() > deadline) throw new StackError(`waited ${waitLimitMs / 60_000} min for lock ${file} held by pid ${owner}: stop that process or delete the file`);
    if (!announced) {
      say('stack', label, `waiting for another stack command (pid ${owner}) to finish…`);
      announced = true;
    }
    await sleep(250);
  }
  try {
    return await fn();
  } finally {
    rmSync(file, { force: true });
  }
}

function readOwner(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}
