/**
 * How the fuzz specs word and judge a finding, whatever the protocol: a failure report
 * that is readable (clipped, no stack), and what no answer may show or must name.
 */

/** A property's failure: the message is the report (its stack would only point here). */
export function finding(message: string): Error {
  const err = new Error(message);
  err.stack = message;
  return err;
}

export const clip = (s: string, max = 300): string => (s.length > max ? `${s.slice(0, max)}… (${s.length} chars)` : s);

/** A value for a failure report: long strings cut, bigints printed. */
export const brief = (v: unknown): string =>
  clip(JSON.stringify(v, (_, x) => (typeof x === 'bigint' ? `${x}n` : typeof x === 'string' && x.length > 80 ? `${x.slice(0, 40)}…(${x.length} chars)` : x)) ?? String(v), 400);

/** What an answer must never show a client: a stack frame, SQL, a file of the server. */
export const internals = /\bat [\w$.<>]+ \(|\.(?:ts|js|mjs):\d+|node_modules|\b(?:SELECT|INSERT INTO|UPDATE \w+ SET|DELETE FROM)\b|ECONNREFUSED|TypeError|RangeError/;

/** `named` is `field` or a part of it (`update_mask[0]`, `price.currency` of `price`): either names the offending field. */
export const within = (named: string | undefined, field: string): boolean =>
  named !== undefined && (named === field || named.startsWith(`${field}[`) || named.startsWith(`${field}.`));
