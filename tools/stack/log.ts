/**
 * Console output of the stack tooling. Every line starts with a bracketed tag so that
 * interleaved output of concurrent installs and starts stays readable.
 */

/**
 * A failure the user can act on. Its message is the one line printed by the CLI, so it
 * must say what failed, what to do, and where the full log is.
 */
export class StackError extends Error {
  override name = 'StackError';
}

export function say(tag: 'install' | 'stack', name: string, message: string): void {
  console.log(`[${tag}] ${name}: ${message}`);
}

/** Seconds since `startMs`, one decimal, for "ok (installed in 12.3s)" lines. */
export function elapsed(startMs: number): string {
  return `${((Date.now() - startMs) / 1000).toFixed(1)}s`;
}
