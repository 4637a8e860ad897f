/**
 * Running external commands (mvn, go, pip, initdb, ...) for installers and hooks.
 * Their output goes to a log file, never to the console: a failure is reported as one
 * line that quotes the last line of output and points at the full log.
 */
import { spawn, execFile } from 'node:child_process';
import { openSync, closeSync, writeSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { StackError } from './log.js';
import { ensureDir } from './paths.js';

export interface RunOptions {
  /** Output (stdout and stderr) is appended to this file. */
  logFile: string;
  /** Short description for the error line, e.g. `kafka: mvn dependency:copy-dependencies`. */
  what: string;
  /** What the user should do when it fails. */
  hint: string;
  cwd?: string;
  env?: Record<string, string | undefined>;
  /** Run as this uid/gid (Node drops supplementary groups too when root does this). */
  uid?: number;
  gid?: number;
}

export function runLogged(command: string, args: string[], opts: RunOptions): Promise<void> {
  ensureDir(path.dirname(opts.logFile));
  const fd = openSync(opts.logFile, 'a');
  const startOffset = statSync(opts.logFile).size;
  writeSync(fd, `\n$ ${[command, ...args].join(' ')}    # ${new Date().toISOString()}\n`);
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd: opts.cwd,
      env: { ...process.env, ...opts.env },
      uid: opts.uid,
      gid: opts.gid,
      stdio: ['ignore', fd, fd],
    });
    closeSync(fd);
    child.on('error', (err: NodeJS.ErrnoException) => {
      const why = err.code === 'ENOENT' ? `${command} is not installed or not on PATH` : err.message;
      reject(new StackError(`${opts.what} could not run: ${why}. ${opts.hint}`));
    });
    child.on('exit', (code, signal) => {
      if (code === 0) return resolve();
      const last = keyLine(readFileSync(opts.logFile, 'utf8').slice(startOffset));
      const how = signal ? `was killed by ${signal}` : `failed (exit ${code})`;
      reject(new StackError(`${opts.what} ${how}${last ? `: "${last}"` : ''}. ${opts.hint} Full log: ${opts.logFile}`));
    });
  });
}

export interface Captured {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs a short command and returns its output, or undefined when the program does not
 * exist (which is how installers learn that something is not installed yet).
 */
export function capture(command: string, args: string[], opts: { env?: Record<string, string | undefined>; uid?: number; gid?: number } = {}): Promise<Captured | undefined> {
  return new Promise((resolve, reject) => {
    execFile(command, args, { env: { ...process.env, ...opts.env }, uid: opts.uid, gid: opts.gid, timeout: 60_000 }, (err, stdout, stderr) => {
      if (!err) return resolve({ code: 0, stdout, stderr });
      const errno = err as NodeJS.ErrnoException & { code?: string | number };
      if (errno.code === 'ENOENT' || errno.code === 'EACCES') return resolve(undefined);
      if (typeof errno.code === 'number') return resolve({ code: errno.code, stdout, stderr });
      reject(err);
    });
  });
}

const ansi = /\x1b\[[0-9;]*[A-Za-z]/g;

function lines(text: string): string[] {
  return text.replace(ansi, '').split('\n').map((l) => l.trim()).filter(Boolean);
}

function shorten(line: string): string {
  return line.length > 200 ? `${line.slice(0, 197)}...` : line;
}

/** The last non-empty line of some output, shortened to fit in one console line. */
export function lastLine(text: string): string {
  return shorten(lines(text).at(-1) ?? '');
}

/**
 * The line of a failed command's output most likely to say why: Maven's first real
 * "[ERROR]" line (its last lines are boilerplate), otherwise the last line.
 */
export function keyLine(text: string): string {
  const all = lines(text);
  return shorten(all.find((l) => /^\[ERROR\]\s*\S/.test(l)) ?? all.at(-1) ?? '');
}
