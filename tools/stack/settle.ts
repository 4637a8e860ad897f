/** Running independent steps concurrently and reporting every failure, not just the first. */
import { StackError } from './log.js';

/**
 * Runs all tasks to completion. One failure is rethrown as is (its message is the one
 * line the CLI prints); several are each printed and summarised in one error.
 */
export async function settleAll(what: string, tasks: Array<{ name: string; run: () => Promise<unknown> }>): Promise<void> {
  const results = await Promise.allSettled(tasks.map((t) => t.run()));
  const failed = results.flatMap((r, i) => (r.status === 'rejected' ? [{ name: tasks[i]!.name, reason: r.reason as unknown }] : []));
  if (failed.length === 0) return;
  if (failed.length === 1) throw failed[0]!.reason;
  for (const f of failed) {
    const message = f.reason instanceof Error ? f.reason.message : String(f.reason);
    console.error(`[stack] error: ${message}`);
  }
  throw new StackError(`${what}: ${failed.length} of ${tasks.length} failed (${failed.map((f) => f.name).join(', ')}), see the lines above`);
}
