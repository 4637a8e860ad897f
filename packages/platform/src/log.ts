import { pino, stdSerializers, type Logger } from 'pino';

export type { Logger };

const CENSOR = '[redacted]';

/**
 * Keys whose values never reach a log line, at any depth, compared without case, dashes or
 * underscores: `refreshToken`, `refresh_token` and `Refresh-Token` are one key. Request
 * bodies of the authentication calls (GraphQL's camelCase, proto's snake_case), headers
 * and gRPC metadata (a customer's bearer token, the admin key under both its names, a
 * service token, cookies), and the secrets of a process's configuration.
 */
const secretKeys = [
  'password',
  'currentPassword',
  'newPassword',
  'passwordHash',
  'token',
  'accessToken',
  'refreshToken',
  'authorization',
  'proxy-authorization',
  'cookie',
  'set-cookie',
  'x-api-key',
  'x-api-token',
  'x-service-token',
  'apiKey',
  'secret',
  'ADMIN_API_KEY',
  'SERVICE_TOKEN_KEY',
  'JWT_PRIVATE_KEY',
];

const normalize = (key: string) => key.toLowerCase().replace(/[-_]/g, '');
const secret = new Set(secretKeys.map(normalize));

/**
 * The members of a JSON Web Key that are its private part (RFC 7518 section 6, RFC 8037):
 * censored in an object with a `kty`, where `d` is a private key and not some other d.
 */
const jwkPrivate = new Set(['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k']);

/**
 * Secrets recognised by their shape wherever they stand, for the text no key names: an
 * error message or stack that echoes its input, a message built from a value. An attacker
 * chooses much of that text, so each pattern does work linear in it: a match may start only
 * where nothing before it could have started the same match (the start of a run of token
 * characters, a literal "Bearer", "$argon2", "://" or "-----BEGIN"), and no two starts walk
 * the same run far; `a.a.a…` or `eyJeyJ…` no longer costs a scan of the rest per character.
 */
const shapes: Array<[RegExp, string]> = [
  // JWTs: access tokens, service tokens.
  [/(?<![\w-])eyJ[\w-]*\.eyJ[\w-]*\.[\w-]*/g, CENSOR],
  // An opaque token after "Bearer" (long enough not to be the next word of a sentence).
  [/\b(Bearer\s+)[\w.~+/=-]{16,}/gi, `$1${CENSOR}`],
  // Password hashes (PHC strings).
  [/\$argon2(?:id|i|d)\$[^\s"',;]*/g, CENSOR],
  // The password of a connection URL (postgres://user:password@host); the scheme stays
  // outside the match, where a run of scheme-like characters would be a start at each one.
  [/(?<=[\w+.-])(:\/\/[^\s:/@]*:)[^\s@/]+@/g, `$1${CENSOR}@`],
  // A private key, up to its end or to the end of the text (one that MAX_TEXT cut short).
  [/-----BEGIN [A-Z ]{0,40}PRIVATE KEY-----[\s\S]*?(?:-----END [A-Z ]{0,40}PRIVATE KEY-----|$)/g, CENSOR],
];

/**
 * Longer strings are cut before the shapes look at them, so that the work per string (and
 * a line's size) has a bound whatever a log line is made to echo.
 */
const MAX_TEXT = 8 * 1024;

function scrubText(text: string): string {
  let end = Math.min(text.length, MAX_TEXT);
  // The word the cut falls in goes whole: its head alone (a URL's password without its
  // "@", a token's first characters) would be a secret that no shape knows any more.
  if (end < text.length && /\S/.test(text[end]!)) while (end > 0 && /\S/.test(text[end - 1]!)) end--;
  let out = text.slice(0, end);
  for (const [pattern, replacement] of shapes) out = out.replace(pattern, replacement);
  return end < text.length ? `${out}[cut ${text.length - end} chars]` : out;
}

/** Deeper than any object a line is meant to carry: cut there, so a huge graph costs little. */
const MAX_DEPTH = 12;

/**
 * `value` as JSON would show it (toJSON honoured, so gRPC Metadata shows its headers; fetch
 * Headers and errors made plain), with every secret key's value censored and every string
 * scrubbed. The caller's objects are never changed.
 */
function scrub(value: unknown, depth = 0, ancestors = new Set<object>()): unknown {
  if (typeof value === 'string') return scrubText(value);
  if (typeof value !== 'object' || value === null) return value;
  if (ancestors.has(value)) return '[Circular]';
  if (depth >= MAX_DEPTH) return '[too deep]';
  ancestors.add(value);
  try {
    if (value instanceof Error) return scrub({ ...stdSerializers.err(value) }, depth, ancestors);
    if (value instanceof Headers) return scrub(Object.fromEntries(value), depth, ancestors);
    // A Buffer's toJSON lists its bytes: a key, a hash, a token's bytes. Its size says enough.
    if (ArrayBuffer.isView(value)) return `[${value.constructor.name} ${value.byteLength} bytes]`;
    if (typeof (value as { toJSON?: unknown }).toJSON === 'function') return scrub((value as { toJSON(): unknown }).toJSON(), depth + 1, ancestors);
    if (Array.isArray(value)) return value.map((v) => scrub(v, depth + 1, ancestors));
    const jwk = typeof (value as { kty?: unknown }).kty === 'string';
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      out[k] = v !== undefined && (secret.has(normalize(k)) || (jwk && jwkPrivate.has(k))) ? CENSOR : scrub(v, depth + 1, ancestors);
    }
    return out;
  } finally {
    ancestors.delete(value);
  }
}

/**
 * A JSON logger (one object per line on stdout) with the process's name on every line.
 * Every line's fields, its message and the bindings of its children pass through `scrub`:
 * pino's own redaction names paths of a fixed depth, and a secret nested one level deeper,
 * or inside gRPC Metadata (whose headers are no properties), would pass it. Lines go to
 * stdout, or to `destination` (tests).
 */
export function createLogger(service: string, level = 'info', destination?: pino.DestinationStream): Logger {
  const options: pino.LoggerOptions = {
    level,
    base: { service },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: {
      level: (label) => ({ level: label }),
      // A Buffer logged alone becomes its description, which needs a field to stand in.
      log: (fields) => {
        const out = scrub(fields);
        return typeof out === 'object' && out !== null ? (out as Record<string, unknown>) : { value: out };
      },
    },
    // Errors are made plain (and scrubbed) by formatters.log; pino's serializer would take
    // the plain copy for an error again and name its type "Object".
    serializers: { err: (err: unknown) => err },
    hooks: {
      // The fields (a first object) go through formatters.log; a message and its interpolated
      // values through here. Without a message, pino would copy an error's message (the first
      // argument's, or its `err` field's) into the line's raw: it is passed here, scrubbed.
      logMethod(args, method) {
        const [first, ...rest] = args;
        if (typeof first !== 'object' || first === null) return method.apply(this, args.map((a) => scrub(a)) as Parameters<typeof method>);
        const err = first instanceof Error ? first : (first as { msg?: unknown }).msg === undefined ? (first as { err?: unknown }).err : undefined;
        const message = rest.length === 0 && typeof err === 'object' && err !== null ? (err as { message?: unknown }).message : undefined;
        const scrubbed = message === undefined ? rest.map((a) => scrub(a)) : [scrub(message)];
        return method.apply(this, [first, ...scrubbed] as Parameters<typeof method>);
      },
    },
  };
  const log = destination ? pino(options, destination) : pino(options);
  // pino formats a child's bindings without formatters (it resets them for children): they
  // are scrubbed here, for every descendant, since each inherits this `child`.
  const child = log.child;
  log.child = function (this: Logger, bindings, childOptions) {
    return child.call(this, scrub(bindings) as typeof bindings, childOptions);
  } as Logger['child'];
  return log;
}
