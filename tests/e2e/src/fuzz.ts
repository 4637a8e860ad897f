import { randomBytes } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import { create, createFileRegistry, fromBinary, toBinary, toJson, type DescMethod, type DescService } from '@bufbuild/protobuf';
import { FileDescriptorSetSchema } from '@bufbuild/protobuf/wkt';
import fc from 'fast-check';
import { importPKCS8, SignJWT } from 'jose';
import pg from 'pg';
import { loadDescriptorSet } from '@shop/contracts/descriptors';
import { ACCESS_TOKEN_AUDIENCE, ACCESS_TOKEN_ISSUER } from '@shop/platform/auth';
import { createServiceIdentity } from '@shop/platform/auth/caller';
import { DEV_SIGNING_KEY_ID, devServiceTokenKey, devSigningKey } from '@shop/tools/dev-secrets';
import { grpcServices, urls } from '@shop/tools/topology';

/**
 * Shared pieces of the input-fuzzing specs (fuzz-grpc, fuzz-graphql): the contract's
 * methods read from the descriptor set, a gRPC caller that sends any request the wire
 * allows (int64 beyond 2^53, enum numbers no enum has, timestamps no Date can hold), the
 * local stack's tokens, and fast-check arbitraries of malformed values.
 */

// ---------------------------------------------------------------- runs

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

// ---------------------------------------------------------------- the contract

const registry = createFileRegistry(fromBinary(FileDescriptorSetSchema, loadDescriptorSet()));

/** Every service of the shop's contract (package `shop.*`), from the generated descriptor set. */
export function shopServices(): DescService[] {
  const services: DescService[] = [];
  for (const type of registry) if (type.kind === 'service' && type.typeName.startsWith('shop.')) services.push(type);
  return services.sort((a, b) => a.typeName.localeCompare(b.typeName));
}

/** `shop.cart.v1.CartCommandService/AddItem` → its descriptor. */
export function shopMethods(): Map<string, DescMethod> {
  return new Map(shopServices().flatMap((s) => s.methods.map((m) => [`${s.typeName}/${m.name}`, m] as const)));
}

// ---------------------------------------------------------------- callers

let identity: ReturnType<typeof createServiceIdentity> | undefined;

/** A service token of the local stack (`npm run token -- service fuzz`). */
export async function asService(): Promise<Record<string, string>> {
  identity ??= createServiceIdentity({ name: 'fuzz', key: devServiceTokenKey(), ttlSeconds: 600 });
  return identity.metadata();
}

let signingKey: Promise<CryptoKey> | undefined;

/** A customer's access token, signed with the local stack's key (`npm run token -- customer <id>`). */
export async function asCustomer(userId: string): Promise<Record<string, string>> {
  signingKey ??= importPKCS8(devSigningKey(), 'EdDSA');
  const token = await new SignJWT({})
    .setProtectedHeader({ alg: 'EdDSA', kid: DEV_SIGNING_KEY_ID })
    .setSubject(userId)
    .setIssuer(ACCESS_TOKEN_ISSUER)
    .setAudience(ACCESS_TOKEN_AUDIENCE)
    .setIssuedAt()
    .setExpirationTime('10m')
    .sign(await signingKey);
  return { authorization: `Bearer ${token}` };
}

/** What came back from a call: the response, or the status with the field the server named (`shop-error-field`). */
export type Outcome =
  | { ok: true; code: 'OK'; response: unknown }
  | { ok: false; code: string; details: string; field: string | undefined };

/**
 * Calls the services on their own gRPC ports (the unit under test is each service's input
 * handling; the Envoy listeners only forward). The request is a message init of the
 * @bufbuild/protobuf runtime built from the descriptor set: int64 as bigint, enums as any
 * number, so that whatever the wire can carry can be sent.
 *
 * Each instance has connections of its own (a local subchannel pool): an answer that
 * breaks a connection shows in the test that provoked it, not in its neighbours'.
 */
export class ShopGrpc {
  private readonly clients = new Map<string, grpc.Client>();

  private client(service: string): grpc.Client {
    let client = this.clients.get(service);
    if (!client) {
      const topology = grpcServices.find((s) => s.services.includes(service));
      if (!topology) throw new Error(`no process of the stack serves ${service} (tools/stack/topology.ts)`);
      client = new grpc.Client(`127.0.0.1:${topology.grpcPort}`, grpc.credentials.createInsecure(), { 'grpc.use_local_subchannel_pool': 1 });
      this.clients.set(service, client);
    }
    return client;
  }

  /**
   * A service answers a malformed request in milliseconds; no answer within `timeoutMs`
   * (generous: this is no timing check, two busy cores run the whole suite) means the
   * request hung the call or broke its connection, and is a finding. A process that is not
   * listening (one the stack is restarting) is waited for, up to a minute: that is no
   * answer of the service to this request.
   */
  async call(method: DescMethod, request: Record<string, unknown>, metadata: Record<string, string> = {}, timeoutMs = 30_000): Promise<Outcome> {
    const until = Date.now() + 60_000;
    for (;;) {
      const out = await this.once(method, request, metadata, timeoutMs);
      // No answer: the next call starts on a new connection, so that what this request did
      // to its connection is not blamed on the next (a shrunk counterexample stays honest).
      if (out.code === 'DEADLINE_EXCEEDED' || out.code === 'UNAVAILABLE') this.reconnect(method.parent.typeName);
      if (out.ok || out.code !== 'UNAVAILABLE' || !/ECONNREFUSED|No connection established/.test(out.details) || Date.now() > until) return out;
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  }

  private reconnect(service: string): void {
    this.clients.get(service)?.close();
    this.clients.delete(service);
  }

  private once(method: DescMethod, request: Record<string, unknown>, metadata: Record<string, string>, timeoutMs: number): Promise<Outcome> {
    const message = create(method.input, request as never);
    const md = new grpc.Metadata();
    for (const [k, v] of Object.entries(metadata)) md.set(k, v);
    return new Promise((resolve) => {
      this.client(method.parent.typeName).makeUnaryRequest(
        `/${method.parent.typeName}/${method.name}`,
        () => Buffer.from(toBinary(method.input, message)),
        (bytes: Buffer) => toJson(method.output, fromBinary(method.output, bytes)),
        message,
        md,
        { deadline: Date.now() + timeoutMs },
        (err, response) => {
          if (!err) return resolve({ ok: true, code: 'OK', response });
          resolve({ ok: false, code: grpc.status[err.code] ?? String(err.code), details: err.details, field: err.metadata?.get('shop-error-field')[0]?.toString() });
        },
      );
    });
  }

  close(): void {
    for (const c of this.clients.values()) c.close();
  }
}

/** A property's failure: the message is the report (its stack would only point here). */
export function finding(message: string): Error {
  const err = new Error(message);
  err.stack = message;
  return err;
}

/** One line for an assertion message: the outcome without the bulk of a huge echo. */
export const show = (o: Outcome): string => clip(o.ok ? `OK ${JSON.stringify(o.response)}` : `${o.code} "${o.details}" field=${o.field ?? '(none)'}`);

export const clip = (s: string, max = 300): string => (s.length > max ? `${s.slice(0, max)}… (${s.length} chars)` : s);

/** A value for a failure report: long strings cut, bigints printed. */
export const brief = (v: unknown): string =>
  clip(JSON.stringify(v, (_, x) => (typeof x === 'bigint' ? `${x}n` : typeof x === 'string' && x.length > 80 ? `${x.slice(0, 40)}…(${x.length} chars)` : x)) ?? String(v), 400);

// ---------------------------------------------------------------- arbitraries

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

// ---------------------------------------------------------------- request paths

const camel = (snake: string) => snake.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());

/**
 * Sets `value` at a field path as servers name it (proto: `lines[1].product_id`,
 * `price.amount_cents`; GraphQL, `as-is`: `products[0]._id`) in a request, creating the
 * objects on the way; `undefined` removes the field.
 */
export function setPath(target: Record<string, unknown>, path: string, value: unknown, names: 'proto' | 'as-is' = 'proto'): void {
  const steps = path.split('.').flatMap((part) => {
    const m = /^(\w+)((?:\[\d+\])*)$/.exec(part);
    if (!m) throw new Error(`bad path ${path}`);
    return [names === 'proto' ? camel(m[1]!) : m[1]!, ...[...m[2]!.matchAll(/\[(\d+)\]/g)].map((x) => Number(x[1]))];
  });
  let node: Record<string | number, unknown> = target;
  steps.forEach((step, i) => {
    if (i === steps.length - 1) {
      if (value === undefined) delete node[step];
      else node[step] = value;
      return;
    }
    const next = steps[i + 1];
    node[step] ??= typeof next === 'number' ? [] : {};
    node = node[step] as Record<string | number, unknown>;
  });
}

// ---------------------------------------------------------------- judging

/** What an answer must never show a client: a stack frame, SQL, a file of the server. */
export const internals = /\bat [\w$.<>]+ \(|\.(?:ts|js|mjs):\d+|node_modules|\b(?:SELECT|INSERT INTO|UPDATE \w+ SET|DELETE FROM)\b|ECONNREFUSED|TypeError|RangeError/;

/**
 * Why a gRPC answer to a malformed request is wrong, or undefined when it is right: one of
 * `expected` (INVALID_ARGUMENT naming `field`, or a part of it, as `shop-error-field` and as
 * the message's first word), never INTERNAL or UNKNOWN, no internals in the message.
 */
export function judgeGrpc(out: Outcome, expected: readonly string[], field: string): string | undefined {
  if (out.code === 'INTERNAL' || out.code === 'UNKNOWN') return `answered ${out.code} (a malformed request is the client's error, never the server's)`;
  if (!expected.includes(out.code)) return `answered ${out.code}, expected ${expected.join(' or ')}`;
  if (out.ok) return undefined;
  if (internals.test(out.details)) return 'the message shows server internals';
  if (out.code === 'INVALID_ARGUMENT') {
    if (!within(out.field, field)) return `INVALID_ARGUMENT names the field "${out.field ?? '(no shop-error-field trailer)'}", expected "${field}"`;
    if (!out.details.startsWith(`${out.field}: `)) return `the message does not start with "${out.field}: "`;
  }
  return undefined;
}

/** `named` is `field` or a part of it (`update_mask[0]`, `price.currency` of `price`): either names the offending field. */
export const within = (named: string | undefined, field: string): boolean =>
  named !== undefined && (named === field || named.startsWith(`${field}[`) || named.startsWith(`${field}.`));

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

/** Ids a storage check may look up: what Postgres text can hold, of a sane length. */
export const lookupable = (ids: Iterable<unknown>): string[] =>
  [...new Set([...ids].filter((v): v is string => typeof v === 'string' && v.length > 0 && v.length <= 200 && !v.includes('\u0000')))].map((s) => Buffer.from(s).toString('utf8'));

// ---------------------------------------------------------------- databases

const pools = new Map<string, pg.Pool>();

/** A service's database as the stack's superuser sees it, for the "nothing stored" checks (by the ids a test made only). */
export function database(name: 'cart' | 'user' | 'order' | 'product' | 'payment'): pg.Pool {
  let pool = pools.get(name);
  if (!pool) pools.set(name, (pool = new pg.Pool({ connectionString: urls.postgres(name), max: 2 })));
  return pool;
}

export async function closeDatabases(): Promise<void> {
  await Promise.all([...pools.values()].map((p) => p.end()));
  pools.clear();
}

/** Rows of `sql` (which takes the ids as $1, a text[]), as "database: row" lines; none when `ids` is empty. */
export async function rowsFor(name: Parameters<typeof database>[0], sql: string, ids: Iterable<unknown>): Promise<string[]> {
  const list = lookupable(ids);
  if (list.length === 0) return [];
  const { rows } = await database(name).query(sql, [list]);
  return rows.map((r) => `${name}: ${JSON.stringify(r)}`);
}

// ---------------------------------------------------------------- what "nothing stored" means, per service

/** Events of these carts (the cart event store: one stream per cart id). */
export const cartEvents = (cartIds: unknown[]) => rowsFor('cart', 'SELECT stream_id, type, version FROM events WHERE stream_id = ANY($1)', cartIds);

/** Events of these users (the user event store: one stream per user id). */
export const userEvents = (userIds: unknown[]) => rowsFor('user', 'SELECT stream_id, type, version FROM events WHERE stream_id = ANY($1)', userIds);

/** Username claims (taken at registration, in the append's transaction). */
export const usernameClaims = (usernames: unknown[]) =>
  rowsFor('user', "SELECT kind, value FROM user_uniqueness WHERE kind = 'username' AND value = ANY($1)", usernames.map((u) => String(u).trim().toLowerCase()));

/** Orders with these ids (= checkout ids) or of these customers, and their checkout workflow streams. */
export async function ordersOf(ids: unknown[], customers: unknown[] = []): Promise<string[]> {
  return [
    ...(await rowsFor('order', 'SELECT id, status FROM orders WHERE id::text = ANY($1) OR checkout_id::text = ANY($1)', ids)),
    ...(await rowsFor('order', 'SELECT id, customer_id, status FROM orders WHERE customer_id::text = ANY($1)', customers)),
    ...(await rowsFor('order', 'SELECT stream_id, type, version FROM events WHERE stream_id = ANY($1)', ids)),
  ];
}

/** Stock reservations of these orders, and their outbox events. */
export async function reservationsOf(orderIds: unknown[]): Promise<string[]> {
  return [
    ...(await rowsFor('product', 'SELECT order_id, status FROM order_reservations WHERE order_id::text = ANY($1)', orderIds)),
    ...(await rowsFor('product', 'SELECT stream_type, stream_id, type FROM outbox WHERE stream_id = ANY($1)', orderIds)),
  ];
}

/** Products with `marker` in a text field (a test puts its marker in every field it does not break). */
export const productsMarked = (marker: string) =>
  rowsFor(
    'product',
    `SELECT id, name, category FROM products, unnest($1::text[]) AS m WHERE strpos(name, m) > 0 OR strpos(description, m) > 0 OR strpos(category, m) > 0 OR strpos(coalesce(sku, ''), m) > 0`,
    [marker],
  );

/** A product as it was made: revision 1, not deleted (the malformed changes changed nothing). */
export async function productUnchanged(id: string): Promise<string[]> {
  const { rows } = await database('product').query('SELECT revision, deleted_at, name, quantity_on_hand FROM products WHERE id = $1', [id]);
  const row = rows[0];
  return row && Number(row.revision) === 1 && row.deleted_at === null ? [] : [`product ${id} changed: ${JSON.stringify(row)}`];
}

/** A user as registered: one event in their stream. */
export async function userUnchanged(id: string): Promise<string[]> {
  const { rows } = await database('user').query('SELECT type, version FROM events WHERE stream_id = $1 ORDER BY version', [id]);
  return rows.length === 1 ? [] : [`user ${id} has events ${JSON.stringify(rows)}`];
}

// ---------------------------------------------------------------- fixtures

export const hex = (bytes = 5) => randomBytes(bytes).toString('hex');

const contract = shopMethods();
const rpc = (name: string) => contract.get(name)!;

/** A product of the fuzz tests (category `fuzz-fixture`), made as the shop. */
export async function createProduct(grpc: ShopGrpc, name: string): Promise<string> {
  const out = await grpc.call(
    rpc('shop.product.v1.ProductService/CreateProduct'),
    { name, description: 'made by the fuzz tests', category: 'fuzz-fixture', price: { amountCents: 1_500n, currency: 'USD' }, quantityOnHand: 1_000 },
    await asService(),
  );
  if (!out.ok) throw new Error(`fixture product: ${show(out)}`);
  return (out.response as { product: { id: string } }).product.id;
}

export async function deleteProduct(grpc: ShopGrpc, id: string): Promise<void> {
  await grpc.call(rpc('shop.product.v1.ProductService/DeleteProduct'), { id }, await asService());
}

/** A registered user (and their password), registered as an anonymous client would. */
export async function registerUser(grpc: ShopGrpc): Promise<{ id: string; password: string }> {
  const username = `fz${hex(6)}`;
  const password = `pw ${hex(8)}`;
  const out = await grpc.call(rpc('shop.user.v1.UserCommandService/RegisterUser'), { username, email: `${username}@example.com`, password }, {});
  if (!out.ok) throw new Error(`fixture user: ${show(out)}`);
  return { id: (out.response as { userId: string }).userId, password };
}

/** Deletes a user as the shop may (their personal data erased, their name freed). */
export async function deleteUser(grpc: ShopGrpc, id: string): Promise<void> {
  await grpc.call(rpc('shop.user.v1.UserCommandService/DeleteAccount'), { userId: id }, await asService());
}
