import fc from 'fast-check';

/** fast-check arbitraries of malformed values, shared by the gRPC and GraphQL fuzz specs. */

const uuidShape = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Text of every kind: ASCII, any Unicode (lone surrogates too), control characters. */
export const anyText = (maxLength = 40): fc.Arbitrary<string> =>
  fc.oneof(
    fc.string({ maxLength }),
    fc.string({ unit: 'binary', maxLength }),
    fc.string({ unit: fc.constantFrom('\u0000', '\u0007', '\n', '\t', '\u200b', '\ufeff', '\ud800', 'é', '𝄞', ' ', '%', "'", '"', '\\', ';', '-'), maxLength }),
  );

/** Strings that are no UUID in any spelling: empty, near misses, SQL, very long. */
export const notUuid: fc.Arbitrary<string> = fc
  .oneof(
    fc.constant(''),
    anyText(60),
    fc.uuid().map((u) => u.slice(0, -1)),
    fc.uuid().map((u) => `${u}0`),
    fc.uuid().map((u) => u.replaceAll('-', '')),
    fc.uuid().map((u) => `{${u}}`),
    fc.uuid().map((u) => ` ${u}`),
    fc.uuid().map((u) => `${u.slice(0, 9)}g${u.slice(10)}`),
    fc.uuid().map((u) => `${u}' OR '1'='1`),
    fc.integer({ min: 0, max: 1e9 }).map(String),
    fc.constantFrom('null', 'undefined', '0', '-1', '00000000-0000-0000-0000-00000000000', '../../etc/passwd', '%00'),
    fc.nat({ max: 3 }).map((k) => 'x'.repeat([1_000, 10_000, 100_000, 1_000_000][k]!)),
  )
  .filter((s) => !uuidShape.test(s));

/** A string far beyond any field's limit, up to `cap` characters (the servers take 4 MiB messages; the edge 64 KiB bodies). */
export const hugeText: fc.Arbitrary<string> = hugeUpTo(1_000_000);

export function hugeUpTo(cap: number): fc.Arbitrary<string> {
  const sizes = [1_001, 5_001, 20_001, 65_537, 1_000_000].filter((n) => n <= cap);
  return fc.constantFrom(...sizes).chain((n) => fc.constantFrom('a', 'é', '𝄞', ' a').map((c) => c.repeat(Math.ceil(n / c.length))));
}

/** Text longer than `max` characters (and at least one non-space), at most `cap` long. */
export const longerThan = (max: number, cap = 1_000_000): fc.Arbitrary<string> =>
  fc.oneof(
    fc.integer({ min: max + 1, max: max + 50 }).map((n) => 'x'.repeat(n)),
    fc.integer({ min: max + 1, max: max * 3 + 10 }).chain((n) => fc.string({ minLength: n, maxLength: n, unit: 'grapheme-ascii' })).filter((s) => s.trim().length > max),
    hugeUpTo(cap).filter((s) => s.trim().length > max),
  );

/** Empty or only white space. */
export const blank: fc.Arbitrary<string> = fc.constantFrom('', ' ', '   ', '\t', '\n', ' \t\n ');

/** A string with a NUL character in it (Postgres text cannot hold one). */
export const withNul: fc.Arbitrary<string> = fc.tuple(fc.string({ maxLength: 8, unit: 'grapheme-ascii' }), fc.string({ maxLength: 8, unit: 'grapheme-ascii' })).map(([a, b]) => `a${a}\u0000${b}`);

/** int32 values below `min`. */
export const int32Below = (min: number): fc.Arbitrary<number> =>
  fc.oneof(fc.constant(min - 1), fc.integer({ min: -(2 ** 31), max: min - 1 }), fc.constant(-(2 ** 31)));
/** int32 values above `max`. */
export const int32Above = (max: number): fc.Arbitrary<number> => fc.oneof(fc.constant(max + 1), fc.integer({ min: max + 1, max: 2 ** 31 - 1 }), fc.constant(2 ** 31 - 1));

/** int64 values (bigint) outside the safe integers a JavaScript number holds exactly (2^53 and beyond, both signs). */
export const unsafeInt64: fc.Arbitrary<bigint> = fc.oneof(
  fc.bigInt({ min: 2n ** 53n, max: 2n ** 63n - 1n }),
  fc.bigInt({ min: -(2n ** 63n), max: -(2n ** 53n) }),
  fc.constantFrom(2n ** 53n, 2n ** 63n - 1n, -(2n ** 63n)),
);
/** Negative int64 values within the safe range. */
export const negativeInt64: fc.Arbitrary<bigint> = fc.oneof(fc.constant(-1n), fc.bigInt({ min: -(2n ** 53n) + 1n, max: -1n }));

/** Enum numbers that name no value of the enum (`known` = its numbers). */
export const unknownEnum = (known: number[]): fc.Arbitrary<number> =>
  fc.oneof(fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }), fc.integer({ min: -3, max: 40 })).filter((n) => !known.includes(n));

/** Page tokens no server issued: random text, base64 of junk, of JSON of the wrong shape. */
export const badPageToken: fc.Arbitrary<string> = fc.oneof(
  anyText(60).filter((s) => s.length > 0),
  fc.string({ minLength: 1, maxLength: 40 }).map((s) => Buffer.from(s).toString('base64url')),
  fc.jsonValue({ maxDepth: 2 }).map((v) => Buffer.from(JSON.stringify(v)).toString('base64url')),
  fc.record({ after: fc.jsonValue({ maxDepth: 1 }), f: fc.string({ maxLength: 16 }) }).map((v) => Buffer.from(JSON.stringify(v)).toString('base64url')),
  fc.tuple(fc.string({ maxLength: 10 }), fc.string({ maxLength: 10 })).map((v) => Buffer.from(JSON.stringify(v)).toString('base64url')),
  fc.constant('x'.repeat(10_000)),
);

/** Strings that are no YYYY-MM-DD day of the calendar. */
export const notADay: fc.Arbitrary<string> = fc.oneof(
  anyText(20).filter((s) => !/^\d{4}-\d{2}-\d{2}$/.test(s)),
  fc.constantFrom('2026-02-30', '2025-02-29', '2026-13-01', '2026-00-10', '2026-01-00', '2026-01-32', '0000-01-01', '2026-1-1', '26-01-01', '2026/01/01', '2026-01-01T00:00:00Z', '+02026-01-01', '2026-01-01 ', '２０２６-01-01'),
);

/** Currency codes that are not three upper-case letters. */
export const notCurrency: fc.Arbitrary<string> = fc.oneof(
  anyText(6).filter((s) => s !== '' && !/^[A-Z]{3}$/.test(s)),
  fc.constantFrom('usd', 'US', 'USDD', 'U5D', ' USD', 'ÜSD', 'EUR '),
);

const slug = /^[a-z0-9]+(?:-[a-z0-9]+)*$/;
/** Categories that are no slug (lower-case words joined by single hyphens) of at most 64 characters. */
export const notASlug: fc.Arbitrary<string> = fc
  .oneof(anyText(30), fc.constantFrom('Home Office', 'home_office', '-x', 'x-', 'a--b', 'ünï', 'a'.repeat(65)))
  .filter((s) => !slug.test(s.trim().toLowerCase()) || s.trim().length > 64);

/** Country codes that are not two letters (ISO 3166-1 alpha-2, any case). */
export const notCountry: fc.Arbitrary<string> = fc.oneof(anyText(4), fc.constantFrom('GBR', 'G', '1A', 'G B', 'ÜK')).filter((s) => !/^[A-Z]{2}$/.test(s.trim().toUpperCase()));

/** Usernames that are not 3-32 of [a-z0-9_.-] (any case). */
export const badUsername: fc.Arbitrary<string> = fc
  .oneof(anyText(40), fc.constantFrom('ab', 'a'.repeat(33), 'Ada Lovelace', 'ada@example.com', 'äda', 'ada!', ''))
  .filter((s) => !/^[a-z0-9_.-]{3,32}$/.test(s.trim().toLowerCase()));

/** Emails given (not blank) that are no address, or longer than 254. */
export const badEmail: fc.Arbitrary<string> = fc
  .oneof(anyText(30), fc.constantFrom('ada', 'ada@', '@example.com', 'ada@example', 'ada example@x.io', 'a@b@c.de'), fc.constant(`${'a'.repeat(250)}@example.com`))
  .filter((s) => s.trim() !== '' && (s.trim().length > 254 || !/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(s.trim().toLowerCase())));

/** Passwords shorter than 10 or longer than 128 characters. */
export const badPassword: fc.Arbitrary<string> = fc.oneof(fc.string({ maxLength: 9 }), fc.integer({ min: 129, max: 2_000 }).map((n) => 'p'.repeat(n)));
