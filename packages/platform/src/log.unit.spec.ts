import test from 'ava';
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import { Registry } from 'prom-client';
import { createLogger } from './log.js';
import { prom } from './metrics.js';
import { wrapUnary } from './grpc/server.js';

/** A logger whose lines are kept, raw (what a log file holds) and parsed. */
function capture() {
  const raw: string[] = [];
  const log = createLogger('log-spec', 'debug', { write: (line: string) => void raw.push(line) });
  return { log, raw, last: () => JSON.parse(raw.at(-1)!) as Record<string, any> };
}

const marker = () => `secret-${randomUUID()}`;

/**
 * Every key a secret travels under in this system, spelled as each layer spells it:
 * GraphQL arguments (camelCase, and the earlier clients' access_token), proto fields
 * (snake_case), HTTP headers and gRPC metadata (kebab-case, any case), configuration.
 */
const secretKeys = [
  'password',
  'currentPassword',
  'newPassword',
  'passwordHash',
  'current_password',
  'new_password',
  'password_hash',
  'token',
  'accessToken',
  'refreshToken',
  'access_token',
  'refresh_token',
  'authorization',
  'Authorization',
  'proxy-authorization',
  'cookie',
  'set-cookie',
  'x-api-key',
  'X-Api-Key',
  'x-api-token',
  'x-service-token',
  'apiKey',
  'secret',
  'ADMIN_API_KEY',
  'SERVICE_TOKEN_KEY',
  'JWT_PRIVATE_KEY',
];

/** `value` under `key`, `depth` objects down: depth 0 is a field of the line itself. */
const nested = (depth: number, key: string, value: unknown): Record<string, unknown> =>
  depth === 0 ? { [key]: value, kept: 'visible' } : { level1: depth === 1 ? { [key]: value, kept: 'visible' } : nested(depth - 1, key, value) };
const at = (line: Record<string, any>, depth: number): Record<string, any> => (depth === 0 ? line : at(line.level1, depth - 1));

for (const key of secretKeys) {
  test(`"${key}" is redacted at any depth, in fields and in a child's bindings, and its neighbours are kept`, (t) => {
    const { log, raw, last } = capture();
    for (const depth of [0, 1, 2, 5]) {
      const secret = marker();
      log.info(nested(depth, key, secret), 'fields');
      t.false(raw.at(-1)!.includes(secret), `depth ${depth}: ${raw.at(-1)}`);
      t.like(at(last(), depth), { [key]: '[redacted]', kept: 'visible' }, `depth ${depth}`);
    }
    const secret = marker();
    log.child({ [key]: secret, kept: 'visible' }).child({ more: 1 }).info('child');
    t.false(raw.at(-1)!.includes(secret), raw.at(-1));
    t.like(last(), { [key]: '[redacted]', kept: 'visible', more: 1 });
  });
}

test('what only looks alike is kept: a page token, a token type, a username, an expiry, a sentence about bearer tokens', (t) => {
  const { log, last } = capture();
  const fields = { pageToken: 'p1', nextPageToken: 'p2', tokenType: 'Bearer', username: 'ada', login: 'ada@example.com', expiresIn: 900, userId: randomUUID(), passwords: 3 };
  log.info({ request: fields }, 'send a Bearer token in authorization');
  t.deepEqual(last().request, fields);
  t.is(last().msg, 'send a Bearer token in authorization');
});

test('gRPC metadata and requests as a server handler holds them: headers redacted, the correlation id kept', (t) => {
  const { log, raw, last } = capture();
  const [bearer, service, apiKey] = [marker(), marker(), marker()];
  const metadata = new grpc.Metadata();
  metadata.set('authorization', `Bearer ${bearer}`);
  metadata.set('x-service-token', service);
  metadata.set('x-api-key', apiKey);
  metadata.set('x-correlation-id', 'corr-1');
  const request = { login: 'ada', password: marker(), refreshToken: marker() };
  log.info({ metadata }, 'metadata');
  t.deepEqual(last().metadata, { authorization: '[redacted]', 'x-service-token': '[redacted]', 'x-api-key': '[redacted]', 'x-correlation-id': ['corr-1'] });
  log.warn({ ctx: { metadata, caller: { kind: 'anonymous' } }, request }, 'context');
  t.like(last(), { ctx: { metadata: { authorization: '[redacted]', 'x-correlation-id': ['corr-1'] } }, request: { login: 'ada', password: '[redacted]', refreshToken: '[redacted]' } });
  for (const secret of [bearer, service, apiKey, request.password, request.refreshToken]) t.false(raw.join('').includes(secret));
  t.is(metadata.get('authorization')[0], `Bearer ${bearer}`, "the caller's metadata is untouched");
  t.is(request.password.startsWith('secret-'), true, "the caller's request is untouched");
});

test('fetch Headers (a BFF request) are redacted like any object', (t) => {
  const { log, raw, last } = capture();
  const secret = marker();
  log.info({ headers: new Headers({ authorization: `Bearer ${secret}`, 'x-api-token': secret, 'x-request-id': 'r-1' }) }, 'headers');
  t.false(raw.at(-1)!.includes(secret));
  t.deepEqual(last().headers, { authorization: '[redacted]', 'x-api-token': '[redacted]', 'x-request-id': 'r-1' });
});

test("an error's own fields are redacted (a gRPC client error carries the call's metadata); type, message and stack stay", (t) => {
  const { log, raw, last } = capture();
  const secret = marker();
  const metadata = new grpc.Metadata();
  metadata.set('authorization', `Bearer ${secret}`);
  const err = Object.assign(new Error('14 UNAVAILABLE: no connection'), { code: 14, metadata, request: { newPassword: secret } });
  log.error({ err }, 'call failed');
  log.error(err, 'as the first argument');
  for (const line of raw) t.false(line.includes(secret), line);
  t.like(last().err, { type: 'Error', message: '14 UNAVAILABLE: no connection', code: 14, metadata: { authorization: '[redacted]' }, request: { newPassword: '[redacted]' } });
  t.regex(last().err.stack, /^Error: 14 UNAVAILABLE/);
});

test("the gRPC server's INTERNAL line: a handler's unexpected error that carries the request and the call's metadata is logged without their secrets", async (t) => {
  const { log, raw, last } = capture();
  const [password, bearer, service] = [marker(), marker(), marker()];
  const metadata = new grpc.Metadata();
  metadata.set('authorization', `Bearer ${bearer}`);
  metadata.set('x-service-token', service);
  metadata.set('x-correlation-id', 'corr-2');
  const request = { login: 'ada', password };
  // A library error that kept what it was given, as some do (a driver's query parameters).
  const handler = async (req: unknown, ctx: { metadata: grpc.Metadata }) => {
    throw Object.assign(new Error('driver failed'), { request: req, metadata: ctx.metadata });
  };
  const histogram = new prom.Histogram({ name: 'h', help: 'h', labelNames: ['grpc_service', 'grpc_method', 'grpc_code'] as const, registers: [new Registry()] });
  const wrapped = wrapUnary('test.v1.Test', 'Authenticate', handler, log, histogram);
  const call = { request, metadata, getDeadline: () => Infinity } as unknown as grpc.ServerUnaryCall<unknown, unknown>;
  const answer = await new Promise<Partial<grpc.StatusObject> | null>((resolve) => wrapped(call, ((err: Partial<grpc.StatusObject> | null) => resolve(err)) as grpc.sendUnaryData<unknown>));
  t.is(answer?.code, grpc.status.INTERNAL);
  const unhandled = raw.map((l) => JSON.parse(l) as Record<string, any>).find((l) => l.msg === 'unhandled error');
  t.like(unhandled?.err, { message: 'driver failed', request: { login: 'ada', password: '[redacted]' }, metadata: { authorization: '[redacted]', 'x-service-token': '[redacted]' } });
  t.is(unhandled?.correlationId, 'corr-2');
  t.like(last(), { code: 'INTERNAL', msg: 'call' });
  for (const secret of [password, bearer, service]) t.false(raw.join('').includes(secret), secret);
});

test('secrets recognised by their shape are censored in messages, error messages and any string: JWTs, bearer tokens, password hashes, URL passwords, private keys', (t) => {
  const { log, raw } = capture();
  const jwt = 'eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiJhZGEifQ.c2lnbmF0dXJl';
  const opaque = marker();
  const hash = '$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo';
  const pem = '-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIBxFyM1lSCz4cC0RGq6f\n-----END PRIVATE KEY-----';
  log.info(`refused ${jwt} and Bearer ${opaque}`);
  log.info('with %s', `postgres://shop:${opaque}@127.0.0.1:15432/user`);
  log.error({ err: new Error(`bad hash ${hash}`), note: `key ${pem}` }, 'shapes');
  const text = raw.join('');
  for (const secret of [jwt, opaque, hash, 'MC4CAQAwBQYDK2VwBCIEIBxFyM1lSCz4cC0RGq6f']) t.false(text.includes(secret), secret);
  t.true(text.includes('refused [redacted] and Bearer [redacted]'));
  t.true(text.includes('postgres://shop:[redacted]@127.0.0.1:15432/user'), 'the rest of the URL stays');
  t.true(text.includes('bad hash [redacted]'));
});

test('a circular object is logged without throwing, and the line stays valid JSON', (t) => {
  const { log, last } = capture();
  const loop: Record<string, unknown> = { token: marker(), name: 'loop' };
  loop.self = loop;
  log.info({ loop }, 'circular');
  t.deepEqual(last().loop, { token: '[redacted]', name: 'loop', self: '[Circular]' });
});

/**
 * Runs `act` while counting the characters that every regular-expression replace is given,
 * and returns the longest. A text over `refuse` characters is handed back unchanged, not
 * searched: a pattern whose work grows with the square of its text would otherwise spend
 * seconds on it before the check could say so.
 */
function longestSearched(refuse: number, act: () => void): number {
  const replace = RegExp.prototype[Symbol.replace];
  let longest = 0;
  RegExp.prototype[Symbol.replace] = function (this: RegExp, text: string, replacement: never) {
    longest = Math.max(longest, text.length);
    return text.length > refuse ? text : replace.call(this, text, replacement);
  };
  try {
    act();
  } finally {
    RegExp.prototype[Symbol.replace] = replace;
  }
  return longest;
}

test('a 64 KiB string an attacker shaped (a.a.a…, eyJeyJ…) is cut to 8 KiB, the cut marked, before any pattern searches it, in fields, messages and error messages', (t) => {
  const { log, raw, last } = capture();
  const limit = 8 * 1024;
  // Quadratic for a pattern that may start a match at each "a" or "eyJ" and scan the rest.
  for (const crafted of ['a.'.repeat(32 * 1024), 'eyJ'.repeat(22 * 1024)]) {
    const longest = longestSearched(limit, () => {
      log.info({ field: crafted }, crafted);
      log.error(new Error(crafted));
    });
    t.true(longest <= limit, `a pattern searched ${longest} characters`);
    const [fields, error] = raw.slice(-2).map((l) => JSON.parse(l) as Record<string, any>);
    for (const text of [fields!.field, fields!.msg, error!.msg, error!.err.message]) {
      t.regex(text, /\[cut \d+ chars\]$/);
      t.true(text.length < limit + 20, `${text.length} characters`);
    }
  }
  // The secrets before the cut are still censored, and a URL the cut falls in goes whole,
  // or the head of its password would be left with no "@" to be known by.
  const password = marker();
  const jwt = 'eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiJhZGEifQ.c2lnbmF0dXJl';
  let text = `refused ${jwt} for postgres://shop:${password}@127.0.0.1:15432/user `;
  while (text.length < limit - 30) text += 'x ';
  text += `postgres://shop:${password}@host/db`;
  t.true(text.indexOf(password, limit - 30) < limit && text.indexOf('@', limit - 30) > limit, 'the cut falls in the second password');
  log.info({ field: `${text} ${'y '.repeat(limit)}` });
  t.false(raw.at(-1)!.includes(password.slice(0, 12)), last().field.slice(-80));
  t.true(last().field.startsWith(`refused [redacted] for postgres://shop:[redacted]@127.0.0.1:15432/user x x `));
  t.regex(last().field, / x \[cut \d+ chars\]$/);
});

test('an error logged without a message of its own: the message pino copies into the line is scrubbed like the error', (t) => {
  const { log, raw, last } = capture();
  const [opaque, password] = [marker(), marker()];
  const jwt = 'eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiJhZGEifQ.c2lnbmF0dXJl';
  const err = new Error(`bad Bearer ${opaque} ${jwt} postgres://u:${password}@h/db`);
  const scrubbed = 'bad Bearer [redacted] [redacted] postgres://u:[redacted]@h/db';
  log.error(err);
  t.like(last(), { msg: scrubbed, err: { message: scrubbed } });
  log.error({ err, code: 13 });
  t.like(last(), { msg: scrubbed, code: 13, err: { message: scrubbed } });
  log.error(err, 'a message of its own');
  t.like(last(), { msg: 'a message of its own', err: { message: scrubbed } });
  log.error({ err, msg: 'in the fields' });
  t.is(last().msg, 'in the fields');
  for (const line of raw) for (const secret of [opaque, jwt, password]) t.false(line.includes(secret), line);
});

test("a JSON Web Key's private members are censored (and its public ones kept), an ordinary field named d is kept, and binary data is logged as its size", (t) => {
  const { log, raw, last } = capture();
  const ed = generateKeyPairSync('ed25519').privateKey.export({ format: 'jwk' });
  const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey.export({ format: 'jwk' });
  const bytes = Buffer.from(marker());
  log.info({ ed, keys: [rsa], point: { d: 4, x: 1, p: 'page' }, bytes, view: new Uint8Array(bytes) }, 'keys');
  t.deepEqual(last().ed, { ...ed, d: '[redacted]' });
  t.deepEqual(last().keys[0], { ...rsa, d: '[redacted]', p: '[redacted]', q: '[redacted]', dp: '[redacted]', dq: '[redacted]', qi: '[redacted]' });
  t.deepEqual(last().point, { d: 4, x: 1, p: 'page' });
  t.like(last(), { bytes: `[Buffer ${bytes.length} bytes]`, view: `[Uint8Array ${bytes.length} bytes]` });
  log.info(bytes);
  t.is(last().value, `[Buffer ${bytes.length} bytes]`);
  const text = raw.join('');
  for (const secret of [ed.d!, rsa.d!, rsa.p!, rsa.qi!, bytes.toString(), JSON.stringify([...bytes.subarray(0, 8)]).slice(1, -1)]) t.false(text.includes(secret), secret);
});

test("a field's name is scrubbed and cut like a value: a JWT or a bearer token used as a key, or in a header's name, is censored", (t) => {
  const { log, raw, last } = capture();
  const jwt = 'eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiJhZGEifQ.c2lnbmF0dXJl';
  const opaque = marker();
  log.info({ [jwt]: 1, headers: { [`Bearer ${opaque}`]: 'v', 'x-request-id': 'r-1' }, ['k '.repeat(8 * 1024)]: 2 }, 'keys');
  log.child({ [jwt]: 'bound' }).info('child');
  for (const line of raw) for (const secret of [jwt, opaque]) t.false(line.includes(secret), line.slice(0, 300));
  const [fields, child] = raw.map((l) => JSON.parse(l) as Record<string, any>);
  t.like(fields, { '[redacted]': 1, headers: { 'Bearer [redacted]': 'v', 'x-request-id': 'r-1' } });
  const long = Object.keys(fields!).find((k) => k.startsWith('k k'))!;
  t.regex(long, / \[cut \d+ chars\]$/);
  t.true(long.length < 8 * 1024 + 20, `${long.length} characters`);
  t.is(child!['[redacted]'], 'bound');
  t.is(last().msg, 'child');
});

test('a JWT glued to a word, a dash or a dot is censored from its "eyJ"; what only looks alike is kept', (t) => {
  const { log, raw, last } = capture();
  const jwt = 'eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiJhZGEifQ.c2lnbmF0dXJl';
  log.info(`refused token_${jwt}, x-${jwt}, id.${jwt}. and ${jwt}.${jwt}`);
  t.false(raw.at(-1)!.includes('eyJzdWIiOiJhZGEifQ'), raw.at(-1));
  t.is(last().msg, 'refused token_[redacted], x-[redacted], id.[redacted]. and [redacted].[redacted]');
  const alike = 'v1.2.3-rc.1 eyJust.a.word my_eyJ.value eyJ.';
  log.info(alike);
  t.is(last().msg, alike);
});

test('a message is scrubbed after its arguments are put in: a bearer token, a URL password, an object with a secret key', (t) => {
  const { log, raw, last } = capture();
  const [opaque, password, hidden] = [marker(), marker(), marker()];
  log.info('Bearer %s', opaque);
  t.is(last().msg, 'Bearer [redacted]');
  log.warn({ id: 1 }, 'connecting to postgres://shop:%s@127.0.0.1:15432/%s', password, 'user');
  t.like(last(), { id: 1, msg: 'connecting to postgres://shop:[redacted]@127.0.0.1:15432/user' });
  log.info('request %j took %d ms', { login: 'ada', password: hidden }, 12);
  t.is(last().msg, 'request {"login":"ada","password":"[redacted]"} took 12 ms');
  for (const line of raw) for (const secret of [opaque, password, hidden]) t.false(line.includes(secret), line);
});

test('a long text without spaces (JSON, a URL list) is cut after its last complete token, not dropped whole; a secret the cut falls in still goes', (t) => {
  const { log, raw, last } = capture();
  const limit = 8 * 1024;
  const json = JSON.stringify(Array.from({ length: 600 }, (_, i) => ({ id: i, name: `product-${i}` })));
  t.regex(json.slice(limit - 20, limit + 1), /"product-\d+$/, 'the cut falls in a name');
  log.info({ json });
  const head = last().json.replace(/\[cut \d+ chars\]$/, '');
  t.not(head, last().json, 'the cut is marked');
  t.true(json.startsWith(head) && head.length > limit - 32, `${head.length} characters kept`);
  t.regex(head, /\},\{"id":\d+,"name":"$/, 'the name the cut falls in goes whole');
  // A URL password with a character outside the token alphabet: the cut walks back to the
  // "!" and would leave "postgres://shop:<first half>!"; the whole URL goes instead.
  const [p1, p2] = [marker(), marker()];
  let text = '';
  while (text.length < limit - 80) text += '{"n":1},';
  text += `"postgres://shop:${p1}!${p2}@host/db"`;
  t.true(text.indexOf(p2) < limit && text.indexOf('@', limit - 80) > limit, 'the cut falls in the password');
  log.info({ text: `${text}${'{"n":1},'.repeat(512)}` });
  for (const part of [p1.slice(0, 12), p2.slice(0, 12)]) t.false(raw.at(-1)!.includes(part), last().text.slice(-80));
  t.regex(last().text, /\{"n":1\},"\[cut \d+ chars\]$/);
});

test("a long stack keeps its head and its tail, where the root cause is (\"caused by:\"), both scrubbed, within the same bound", (t) => {
  const { log, raw, last } = capture();
  const limit = 8 * 1024;
  const jwt = 'eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiJhZGEifQ.c2lnbmF0dXJl';
  const root = new Error(`disk full for Bearer ${jwt}`);
  const err = new Error(`outer ${'word '.repeat(2 * 1024)}`, { cause: root });
  log.error({ err }, 'failed');
  const stack: string = last().err.stack;
  t.true(stack.length < limit + 32, `${stack.length} characters`);
  t.regex(stack, /^Error: outer word word /);
  t.regex(stack, /\[cut \d+ chars\]\n/);
  t.regex(stack, /\ncaused by: Error: disk full for Bearer \[redacted\]\n {4}at /);
  t.false(raw.at(-1)!.includes('eyJzdWIiOiJhZGEifQ'));
  // A tail that begins inside a private key (its BEGIN line cut away) keeps none of its body.
  const body = Array.from({ length: 60 }, (_, i) => `MC4CAQAwBQYDK2VwBCIEIBxFyM1lSCz4cC0RGq6f${String(i).padStart(24, '0')}`).join('\n');
  const pem = `-----BEGIN PRIVATE KEY-----\n${body}\n-----END PRIVATE KEY-----`;
  log.error({ err: { stack: `Error: bad key\n${'    at f (file.js:1:1)\n'.repeat(300)}${pem}\ncaused by: Error: root` } });
  t.false(raw.at(-1)!.includes('MC4CAQAwBQYDK2VwBCIEIBxFyM1lSCz4cC0RGq6f'), last().err.stack.slice(-400));
  t.regex(last().err.stack, /^Error: bad key\n/);
  t.regex(last().err.stack, /\[redacted\]\ncaused by: Error: root$/);
});
