import { format } from 'node:util';
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
 * A run of token characters holding a JWT from the "eyJ" of its header: the header's part
 * before it (`token_`, `x-`) and whatever follows its signature stay. The run is split at
 * its dots and each part looked at once, so the work is linear in the run.
 */
function censorJwts(run: string): string {
  if (!run.includes('.eyJ')) return run;
  const parts = run.split('.');
  const out: string[] = [];
  for (let i = 0; i < parts.length; i++) {
    const at = parts[i]!.indexOf('eyJ');
    if (at < 0 || !parts[i + 1]?.startsWith('eyJ')) out.push(parts[i]!);
    else {
      out.push(`${parts[i]!.slice(0, at)}${CENSOR}`);
      i += 2; // the payload and the signature
    }
  }
  return out.join('.');
}

/**
 * Secrets recognised by their shape wherever they stand, for the text no key names: an
 * error message or stack that echoes its input, a message built from a value. An attacker
 * chooses much of that text, so each pattern does work linear in it: a match may start only
 * where nothing before it could have started the same match (the start of a run of token
 * characters, a literal "Bearer", "$argon2", "://" or "-----BEGIN"), and no two starts walk
 * the same run far; `a.a.a…` or `eyJeyJ…` no longer costs a scan of the rest per character.
 */
const shapes: Array<[RegExp, string | ((match: string) => string)]> = [
  // JWTs (access tokens, service tokens), also glued to a word or a dash: a run of the
  // characters they are made of, matched whole (the text is cut to MAX_TEXT, which bounds
  // it), and censored from the "eyJ" that starts a header followed by a payload.
  [/[\w.-]+/g, censorJwts],
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

function censor(text: string): string {
  let out = text;
  for (const [pattern, replacement] of shapes) out = out.replace(pattern, replacement as string);
  return out;
}

/**
 * Longer strings are cut before the shapes look at them, so that the work per string (and
 * a line's size) has a bound whatever a log line is made to echo.
 */
const MAX_TEXT = 8 * 1024;

/** What a token, a key, a hash or a password is made of (base64 and base64url included). */
const tokenChar = /[\w.~+/=-]/;

/**
 * Where to cut `text` at `limit` or before: a run of token characters the cut falls in goes
 * whole, since its head alone (a token's first characters) would be a secret that no shape
 * knows any more; so does a URL whose credentials it falls in (postgres://user:pa|ss@host,
 * a password may hold characters that are no token's), whose password would have lost the
 * "@" it is known by. Anything else is a boundary: a quote, a comma, a brace, a space.
 */
function cutAt(text: string, limit: number): number {
  if (text.length <= limit) return text.length;
  let end = limit;
  if (tokenChar.test(text[end]!)) while (end > 0 && tokenChar.test(text[end - 1]!)) end--;
  const url = text.lastIndexOf('://', end - 3);
  const authority = url < 0 ? '' : text.slice(url + 3, end);
  if (url >= 0 && authority.includes(':') && !/[\s/@]/.test(authority)) {
    end = url;
    while (end > 0 && /[\w+.-]/.test(text[end - 1]!)) end--;
  }
  return end;
}

function scrubText(text: string): string {
  const end = cutAt(text, MAX_TEXT);
  const out = censor(text.slice(0, end));
  return end < text.length ? `${out}[cut ${text.length - end} chars]` : out;
}

/**
 * A stack over MAX_TEXT keeps its head (the error and where it was thrown) and its tail,
 * whole lines from STACK_TAIL characters before its end: pino appends each cause's stack
 * after "caused by:", so the root cause an operator looks for is at the end, and the head
 * alone would drop it. Head and tail together stay within MAX_TEXT, the same bound on the
 * work and on the line as for any string, rather than a larger budget that a long enough
 * message (echoed in the first line of every stack in the chain) would still exhaust.
 */
const STACK_TAIL = 2 * 1024;

function scrubStack(stack: string): string {
  if (stack.length <= MAX_TEXT) return scrubText(stack);
  const end = cutAt(stack, MAX_TEXT - STACK_TAIL);
  const from = stack.indexOf('\n', stack.length - STACK_TAIL);
  if (from < 0) return `${censor(stack.slice(0, end))}[cut ${stack.length - end} chars]`;
  // The tail may begin inside a private key whose BEGIN line stayed in the cut: up to its
  // END line, it is nothing but the key.
  const tail = stack.slice(from).replace(/^(?:(?!-----BEGIN )[\s\S])*?-----END [A-Z ]{0,40}PRIVATE KEY-----/, CENSOR);
  return `${censor(stack.slice(0, end))}[cut ${from - end} chars]${censor(tail)}`;
}

/** Deeper than any object a line is meant to carry: cut there, so a huge graph costs little. */
const MAX_DEPTH = 12;

/**
 * `value` as JSON would show it (toJSON honoured, so gRPC Metadata shows its headers; fetch
 * Headers and errors made plain), with every secret key's value censored and every string,
 * keys included, scrubbed. The caller's objects are never changed.
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
      // A key is text like any other: a header's name, a map's key can be a token.
      const key = scrubText(k);
      if (v !== undefined && (secret.has(normalize(k)) || (jwk && jwkPrivate.has(k)))) out[key] = CENSOR;
      else out[key] = k === 'stack' && typeof v === 'string' ? scrubStack(v) : scrub(v, depth + 1, ancestors);
    }
    return out;
  } finally {
    ancestors.delete(value);
  }
}

/**
 * A line's message with its arguments put in, then scrubbed: a secret is known by what
 * stands around it ("Bearer %s", "postgres://u:%s@h"), which its argument alone lacks. An
 * object argument is scrubbed first, for the keys that name secrets; the message is built
 * here, and pino, given no arguments, writes it as it is.
 */
function message(msg: unknown, args: unknown[]): unknown {
  if (args.length === 0) return scrub(msg);
  return scrubText(format(msg, ...args.map((a) => (typeof a === 'string' ? a : scrub(a)))));
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
        if (args.length === 0) return method.apply(this, args);
        const [first, ...rest] = args;
        if (typeof first !== 'object' || first === null) return method.call(this, message(first, rest) as string);
        if (rest.length > 0) return method.call(this, first, message(rest[0], rest.slice(1)) as string);
        const err = first instanceof Error ? first : (first as { msg?: unknown }).msg === undefined ? (first as { err?: unknown }).err : undefined;
        const copied = typeof err === 'object' && err !== null ? (err as { message?: unknown }).message : undefined;
        return copied === undefined ? method.call(this, first) : method.call(this, first, scrub(copied) as string);
      },
    },
  };
  // Synchronous writes to stdout. pino's default is asynchronous, flushed synchronously at
  // exit: a line whose write was still in flight then reached the pipe after the lines
  // flushed behind it (the shutdown hooks' last two lines came out swapped in fresh-clone
  // runs of health.int and the cart query's shutdown spec), and the lines just before an
  // exit are the ones an operator needs in order. The shop's processes log little (calls at
  // debug only), so a write per line costs nothing that shows.
  const log = pino(options, destination ?? pino.destination({ dest: 1, sync: true }));
  // pino formats a child's bindings without formatters (it resets them for children): they
  // are scrubbed here, for every descendant, since each inherits this `child`.
  const child = log.child;
  log.child = function (this: Logger, bindings, childOptions) {
    return child.call(this, scrub(bindings) as typeof bindings, childOptions);
  } as Logger['child'];
  return log;
}
