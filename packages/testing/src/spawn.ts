import { spawn, type ChildProcess } from 'node:child_process';
import { waitFor } from './wait.js';

export interface SpawnedProcess {
  child: ChildProcess;
  /** Its stdout so far, line by line. */
  readonly lines: string[];
  /** Its stdout's JSON lines (a shop process's log), parsed. */
  logs(): Array<Record<string, unknown>>;
  /**
   * Waits for a stdout line that `matching` matches and answers the match. Fails at once,
   * with the process's last output, if it ends without printing one.
   */
  line(matching: RegExp, options?: { timeoutMs?: number }): Promise<RegExpExecArray>;
  /**
   * waitFor while the process runs: fails at once if it ends first, and a failure of either
   * kind carries the process's last output (what it was doing instead).
   */
  until<T>(description: string, check: () => Promise<T | undefined | false> | T | undefined | false, options?: { timeoutMs?: number; intervalMs?: number }): Promise<T>;
  /** Its exit code and signal, once it has ended and all its output has been read. */
  readonly exited: Promise<[number | null, NodeJS.Signals | null]>;
}

/** A TypeScript entry point run as its own Node process (through tsx), as the stack runs the shop's processes. */
export function spawnProcess(script: string, env: Record<string, string>): SpawnedProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', script], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: string[] = [];
  // stdout and stderr together, for the message of a wait that fails.
  const output: string[] = [];
  const split = (into: (l: string) => void) => {
    let rest = '';
    return (d: Buffer) => {
      const parts = (rest + d.toString('utf8')).split('\n');
      rest = parts.pop()!;
      parts.forEach(into);
    };
  };
  child.stdout!.on('data', split((l) => (lines.push(l), output.push(l))));
  child.stderr!.on('data', split((l) => output.push(l)));
  // 'close' comes after the exit and after the last of its output has been read.
  let closed = false;
  const exited = new Promise<[number | null, NodeJS.Signals | null]>((resolve) =>
    child.once('close', (code, signal) => {
      closed = true;
      resolve([code, signal]);
    }),
  );
  const last = () => output.slice(-10).join('\n');
  const find = (matching: RegExp) => lines.map((l) => matching.exec(l)).find((m) => m !== null);
  return {
    child,
    lines,
    exited,
    logs: () => lines.filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>),
    async line(matching, options = {}) {
      await waitFor(`${script} to print a line matching ${matching}`, () => closed || find(matching) !== undefined, { timeoutMs: options.timeoutMs ?? 60_000 }).catch((err: Error) => {
        throw new Error(`${err.message}; its last output:\n${last()}`);
      });
      const match = find(matching);
      if (!match) throw new Error(`${script} ended (${child.exitCode ?? child.signalCode}) without printing a line matching ${matching}; its last output:\n${last()}`);
      return match;
    },
    async until<T>(description: string, check: () => Promise<T | undefined | false> | T | undefined | false, options: { timeoutMs?: number; intervalMs?: number } = {}): Promise<T> {
      let ended = false;
      const value = await waitFor<unknown>(description, async () => {
        if (closed) return (ended = true);
        return check();
      }, options).catch((err: Error) => {
        throw new Error(`${err.message}; the process's last output:\n${last()}`);
      });
      if (ended) throw new Error(`${script} ended (${child.exitCode ?? child.signalCode}) before ${description}; its last output:\n${last()}`);
      return value as T;
    },
  };
}
