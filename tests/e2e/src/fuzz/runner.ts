import type { ExecutionContext } from 'ava';
import fc from 'fast-check';
import type { Ctx } from './fixtures.js';
import { setPath } from './paths.js';
import { brief, clip, finding } from './verdicts.js';

/**
 * How the fuzz specs run, whatever the protocol: a property with the suite's budget, one
 * test per case (a wrong answer and what it stored, in one report), a check that every
 * method or mutation and every field of its request has cases, and pacing.
 */

/** Runs per property: modest, the suite runs beside the others on a small machine (FUZZ_RUNS overrides). */
export const RUNS = Number(process.env.FUZZ_RUNS ?? 25);
/** A fixed seed reproduces a failure (fast-check prints the seed of one). */
const SEED = process.env.FUZZ_SEED === undefined ? undefined : Number(process.env.FUZZ_SEED);

/**
 * Runs a property with this suite's budget. A failure is reported as its (shrunk)
 * counterexample, clipped (a 64 KiB string is no report), with the seed that replays it.
 */
export async function fuzz<Ts extends [unknown, ...unknown[]]>(property: fc.IAsyncProperty<Ts>, runs = RUNS): Promise<void> {
  const out = await fc.check(property, {
    numRuns: runs,
    ...(SEED === undefined ? {} : { seed: SEED }),
  });
  if (!out.failed) return;
  const cause = out.errorInstance instanceof Error ? out.errorInstance.message : String(out.errorInstance);
  throw finding(
    `${cause}\n    counterexample: ${brief(out.counterexample)} (run ${out.numRuns}, shrunk ${out.numShrinks} times; FUZZ_SEED=${out.seed} replays it)`,
  );
}

// ---------------------------------------------------------------- cases

/** One kind of malformed input of a method or mutation (a test of its own). */
export interface Case<Input> {
  /** What is malformed (the test's title). */
  what: string;
  /** The field the answer must name; from the value when it depends on it. */
  field: string | ((value: any) => string);
  values: fc.Arbitrary<any>;
  /** Where the value goes (a field path; default `field`), or how it changes the request. */
  at?: string | ((input: Input, value: any) => void);
  /** Right answers other than the protocol's bad input naming the field (with `why`). */
  expect?: string[];
  why?: string;
  runs?: number;
}

/** The fuzzing of one method or mutation. */
export interface Spec<Input, C extends Case<Input> = Case<Input>> {
  /** A well-formed request on fresh ids (called once per run). */
  base: (ctx: Ctx) => Promise<Input> | Input;
  cases: C[];
  /** Request fields no case breaks, with the reason (a bool, say). */
  unfuzzed?: Record<string, string>;
  /** What was stored for the requests sent: must be nothing. */
  stored?: (sent: Input[], ctx: Ctx) => Promise<string[]>;
}

/** `AddItem · quantity below 1 or above 99 → INVALID_ARGUMENT naming quantity` */
export const caseTitle = (label: string, c: Case<never>, expected: readonly string[]): string =>
  `${label} · ${c.what} → ${expected.join(' or ')}${typeof c.field === 'string' && c.field ? ` naming ${c.field}` : ''}`;

/**
 * The test of one case: each value breaks a well-formed request (`at`, or the field's
 * path spelled as `names` says), `attempt` sends it and says why its answer is wrong, if it
 * is; afterwards `stored` looks up what the requests left behind.
 */
export async function runCase<Input extends Record<string, unknown>>(
  t: ExecutionContext,
  ctx: Ctx,
  spec: Spec<Input, Case<Input>>,
  c: Case<Input>,
  opts: {
    names: 'proto' | 'as-is';
    attempt: (input: Input, value: unknown, field: string) => Promise<string | undefined>;
    /** Holds the whole property (a limiter's slot) where a file paces by case, not by request. */
    pace?: <T>(job: () => Promise<T>) => Promise<T>;
  },
): Promise<void> {
  const sent: Input[] = [];
  const property = () =>
    fuzz(
      fc.asyncProperty(c.values, async (value) => {
        const input = await spec.base(ctx);
        if (typeof c.at === 'function') c.at(input, value);
        else setPath(input, c.at ?? (c.field as string), value, opts.names);
        sent.push(input);
        const wrong = await opts.attempt(input, value, typeof c.field === 'function' ? c.field(value) : c.field);
        if (wrong) throw finding(wrong);
      }),
      c.runs,
    );
  let failure: unknown;
  try {
    await (opts.pace ? opts.pace(property) : property());
  } catch (err) {
    failure = err;
  }
  // Both verdicts in one report: a wrong answer, and what it left behind.
  const stored = spec.stored ? await spec.stored(sent, ctx) : [];
  const problems = [
    ...(failure ? [failure instanceof Error ? failure.message : String(failure)] : []),
    ...(stored.length ? [`stored for the malformed requests (${sent.length} sent):\n      ${stored.map((r) => clip(r, 300)).join('\n      ')}`] : []),
  ];
  if (problems.length) t.fail(problems.join('\n  '));
  else t.pass();
}

// ---------------------------------------------------------------- coverage

/**
 * What the cases leave out of the contract (`contract`: each method or mutation with its
 * request fields or arguments): names without cases, cases of names it no longer has, and
 * fields no case breaks nor `unfuzzed` excuses, as [name, field].
 */
export function coverage(specs: Record<string, Spec<any, Case<any>>>, contract: Map<string, string[]>) {
  return {
    missing: [...contract.keys()].filter((name) => !specs[name]?.cases.length),
    stale: Object.keys(specs).filter((name) => !contract.has(name)),
    uncovered: [...contract].flatMap(([name, fields]) => {
      const spec = specs[name];
      if (!spec) return [];
      const covered = new Set(spec.cases.flatMap(fieldRoots));
      return fields.filter((f) => !covered.has(f) && !spec.unfuzzed?.[f]).map((f) => [name, f] as const);
    }),
  };
}

/** The request fields a case breaks: the root of its field, or of each field it can name. */
function fieldRoots(c: Case<unknown>): string[] {
  if (typeof c.field === 'string') return [c.field.split(/[.[]/)[0]!];
  // A field chosen by the value: sample it.
  return [...new Set(fc.sample(c.values, { numRuns: 50, seed: 1 }).map((v) => String((c.field as (v: unknown) => string)(v)).split(/[.[]/)[0]!))];
}

// ---------------------------------------------------------------- pacing

/** At most `width` of the given async jobs at a time (the whole file's properties share it). */
export function limiter(width: number) {
  let active = 0;
  const waiting: Array<() => void> = [];
  return async <T>(job: () => Promise<T>): Promise<T> => {
    if (active >= width) await new Promise<void>((resolve) => waiting.push(resolve));
    else active++;
    try {
      return await job();
    } finally {
      const next = waiting.shift();
      if (next) next();
      else active--;
    }
  };
}
