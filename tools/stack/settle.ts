/** Running independent steps concurrently and reporting every failure, not just the first. */
import { StackError } from './log.js';

export interface Failure {
  name: string;
  reason: unknown;
}

/** Runs all tasks to completion; answers those that failed. */
export async function settle(tasks: Array<{ name: string; run: () => Promise<unknown> }>): Promise<Failure[]> {
  const results = await Promise.allSettled(tasks.map((t) => t.run()));
  return results.flatMap((r, i) => (r.status === 'rejected' ? [{ name: tasks[i]!.name, reason: r.reason as unknown }] : []));
}

/**
 * Throws for failures of `total` steps, if any: one is rethrown as is (its message is the one
 * line the CLI prints); several are each printed and summarised in one error.
 */
export function throwFailures(what: string, failed: Failure[], total: number): void {
  if (failed.length === 0) return;
  if (failed.length === 1) throw failed[0]!.reason;
  for (const f of failed) {
    const message = f.reason instanceof Error ? f.reason.message : String(f.reason);
    console.error(`[stack] error: ${message}`);
  }
  throw new StackError(`${what}: ${failed.length} of ${total} failed (${failed.map((f) => f.name).join(', ')}), see the lines above`);
}

/** Runs all tasks to completion, then throws for those that failed (throwFailures). */
export async function settleAll(what: string, tasks: Array<{ name: string; run: () => Promise<unknown> }>): Promise<void> {
  throwFailures(what, await settle(tasks), tasks.length);
}
