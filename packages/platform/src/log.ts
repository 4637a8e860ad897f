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
 * Secrets recognised by their shape wherever they stand, for the text no key names: an
 * error message or stack that echoes its input, a message built from a value.
 */
const shapes: Array<[RegExp, string]> = [
  // JWTs: access tokens, service tokens.
  [/eyJ[\w-]*\.eyJ[\w-]*\.[\w-]*/g, CENSOR],
  // An opaque token after "Bearer" (long enough not to be the next word of a sentence).
  [/\b(Bearer\s+)[\w.~+/=-]{16,}/gi, `$1${CENSOR}`],
  // Password hashes (PHC strings).
  [/\$argon2(?:id|i|d)\$[^\s"',;]*/g, CENSOR],
  // The password of a connection URL (postgres://user:password@host).
  [/\b([a-z][\w+.-]*:\/\/[^\s:/@]*:)[^\s@/]+@/gi, `$1${CENSOR}@`],
  [/-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?-----END [A-Z ]*PRIVATE KEY-----/g, CENSOR],
];

function scrubText(text: string): string {
  let out = text;
  for (const [pattern, replacement] of shapes) out = out.replace(pattern, replacement);
  return out;
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
    if (typeof (value as { toJSON?: unknown }).toJSON === 'function') return scrub((value as { toJSON(): unknown }).toJSON(), depth + 1, ancestors);
    if (Array.isArray(value)) return value.map((v) => scrub(v, depth + 1, ancestors));
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = secret.has(normalize(k)) && v !== undefined ? CENSOR : scrub(v, depth + 1, ancestors);
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
      log: (fields) => scrub(fields) as Record<string, unknown>,
    },
    // Errors are made plain (and scrubbed) by formatters.log; pino's serializer would take
    // the plain copy for an error again and name its type "Object".
    serializers: { err: (err: unknown) => err },
    hooks: {
      // The fields (a first object) go through formatters.log; a message and its interpolated values through here.
      logMethod(args, method) {
        const [first, ...rest] = args;
        const scrubbed = [typeof first === 'object' && first !== null ? first : scrub(first), ...rest.map((a) => scrub(a))];
        return method.apply(this, scrubbed as Parameters<typeof method>);
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
