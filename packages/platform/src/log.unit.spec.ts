import test from 'ava';
import { randomUUID } from 'node:crypto';
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
