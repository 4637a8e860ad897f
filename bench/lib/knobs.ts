/**
 * The benchmarks' knobs (environment variables), checked before anything runs: a typo such
 * as `BENCH_RATE=3OO` would otherwise become NaN and a loop that sends nothing, or forever.
 */
/**
 * Upper bounds of every benchmark's duration and rate knobs: a stray zero (`BENCH_SECONDS=6000`)
 * would otherwise hold a shared stack under load for hours, or send a flood it cannot take.
 */
export const MAX_SECONDS = 600;
export const MAX_RATE = 5_000;

export interface KnobBounds {
  min?: number;
  max?: number;
  integer?: boolean;
}

/** The knob `name` as a number within `bounds`; `fallback` when it is unset or empty. */
export function knob(name: string, fallback: number, bounds: KnobBounds = {}): number {
  return parseKnob(name, bounds, `default ${fallback}`) ?? fallback;
}

/** The knob `name` within `bounds`, or undefined when it is unset; `whenUnset` says what happens then. */
export function optionalKnob(name: string, whenUnset: string, bounds: KnobBounds = {}): number | undefined {
  return parseKnob(name, bounds, `unset: ${whenUnset}`);
}

/** Stops the benchmark before it starts, as an out-of-range knob does: for a rule between knobs. */
export function knobError(message: string): never {
  console.error(message);
  process.exit(2);
}

function parseKnob(name: string, { min = 0, max = Number.POSITIVE_INFINITY, integer = false }: KnobBounds, fallbackText: string): number | undefined {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return undefined;
  const value = Number(raw);
  if (!Number.isFinite(value) || value < min || value > max || (integer && !Number.isInteger(value))) {
    const range = max === Number.POSITIVE_INFINITY ? `≥ ${min}` : `from ${min} to ${max}`;
    knobError(`${name}=${raw}: expected ${integer ? 'an integer' : 'a number'} ${range} (${fallbackText})`);
  }
  return value;
}
