/**
 * The benchmarks' knobs (environment variables), checked before anything runs: a typo such
 * as `BENCH_RATE=3OO` would otherwise become NaN and a loop that sends nothing, or forever.
 */
export function knob(name: string, fallback: number, { min = 0, integer = false }: { min?: number; integer?: boolean } = {}): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value < min || (integer && !Number.isInteger(value))) {
    console.error(`${name}=${raw}: expected ${integer ? 'an integer' : 'a number'} ≥ ${min} (default ${fallback})`);
    process.exit(2);
  }
  return value;
}
