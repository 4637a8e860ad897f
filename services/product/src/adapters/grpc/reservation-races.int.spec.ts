import test from 'ava';
import * as grpc from '@grpc/grpc-js';
import type { ProductServiceClient } from '@shop/contracts/shop/product/v1/service';
import { StockReservationFailed } from '@shop/contracts/shop/product/v1/events';
import { promiseClient, type PromiseClient } from '@shop/platform/grpc/client';
import { newId } from '@shop/platform/ids';
import { testLogger } from '@shop/testing';
import { startProductService, type ProductServiceFixture } from '../../test-fixtures.js';

/**
 * Stock reservations racing each other and every other move of the same stock (commit,
 * release, restock, the sweeper's expiry), through the real gRPC server over a Postgres
 * database of this file's own. Multi-line orders name their products in opposite orders,
 * so row locks taken in the order asked would deadlock; counters updated from a stale read
 * would oversell. What must hold once everything settled: no call failed other than by a
 * business rule, and every product's counters are exactly what the answers add up to.
 */
const logs = testLogger();
let product: ProductServiceFixture;
let c: PromiseClient<ProductServiceClient>;

/**
 * Calls in flight at once: as many as the pool has connections, so that none waits for one
 * (a wait that a slow machine could stretch past the pool's timeout), and as many
 * transactions contend for the same rows in Postgres.
 */
const IN_FLIGHT = 16;

/** The service's clock runs this far ahead of the wall clock: the test moves it to pass deadlines. */
let skewMs = 0;
const clock = () => new Date(Date.now() + skewMs);
const meta = { actor: 'reservation-races-test' };

test.before(async () => {
  product = await startProductService(logs.log, 'races', { clock, poolMax: IN_FLIGHT, reservationTtlMs: 10 * 60_000 });
  // As the order service calls it, with the wire's status codes. The deadline only bounds a
  // hung call: a loaded machine may queue these behind each other.
  c = product.auth.asServiceClient(promiseClient(product.raw, 120_000, false), 'order');
});

test.after.always(async () => {
  await product?.close();
});

type Key = 'A' | 'B' | 'C' | 'D';
type Line = { productId: string; quantity: number };
/** A call's answer; a failure keeps its gRPC status, or the SQLSTATE of a use case called in-process. */
type Outcome<T> = { ok: true; value: T } | { ok: false; code: grpc.status | string; details: string };

const settle = <T>(call: Promise<T>): Promise<Outcome<T>> =>
  call.then(
    (value) => ({ ok: true as const, value }),
    (err: Error & { code?: grpc.status | string; details?: string }) => ({ ok: false as const, code: err.code ?? 'unknown', details: err.details ?? err.message }),
  );

/** A, B are scarce (orders compete for them); C, D have stock for every order. */
const initial: Record<Key, number> = { A: 20, B: 20, C: 1_000, D: 1_000 };
const keys = Object.keys(initial) as Key[];
const scarce = (k: Key) => k === 'A' || k === 'B';
/**
 * Every order names a plentiful product, so that each refusal (a scarce line short) also
 * shows that the lines that would have fit were not reserved.
 */
const patterns: Key[][] = [
  ['A', 'B', 'C'],
  ['A', 'C'],
  ['B', 'D'],
  ['A', 'B', 'D'],
  ['A', 'D', 'B', 'C'],
  ['B', 'C', 'A'],
];

/** A fixed shuffle (mulberry32), so that a failure replays with the same launch order. */
function shuffled<T>(items: T[], seed: number): T[] {
  let s = seed;
  const random = () => {
    s = (s + 0x6d2b79f5) | 0;
    let r = Math.imul(s ^ (s >>> 15), 1 | s);
    r = (r + Math.imul(r ^ (r >>> 7), 61 | r)) ^ r;
    return ((r ^ (r >>> 14)) >>> 0) / 2 ** 32;
  };
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

test('multi-line reservations listing their products in opposite orders, racing commits, releases, restocks and the sweeper: no deadlock, no oversell, all or nothing', async (t) => {
  const ids = {} as Record<Key, string>;
  for (const k of keys) {
    const { product } = await c.createProduct({
      name: `Part ${k}`,
      description: '',
      category: 'parts',
      price: { amountCents: 100, currency: 'USD' },
      quantityOnHand: initial[k],
    });
    ids[k] = product!.id;
  }
  const keyOf = new Map(keys.map((k) => [ids[k], k]));
  const linesOf = (pattern: Key[], qty: (k: Key) => number): Line[] => pattern.map((k) => ({ productId: ids[k], quantity: qty(k) }));

  // Reserved before the race, then settled during it: 6 committed, 6 released, and 6 past
  // their deadline, of which 2 are committed (refused), 2 released, and 2 left to the sweepers.
  const held = Array.from({ length: 18 }, (_, n) => ({ orderId: newId(), lines: linesOf(patterns[n % patterns.length]!, (k) => (scarce(k) ? 1 : 2)) }));
  const toCommit = held.slice(0, 6);
  const toRelease = held.slice(6, 12);
  const lapsing = held.slice(12);
  const [lapsedToCommit, lapsedToRelease, leftToSweeper] = [lapsing.slice(0, 2), lapsing.slice(2, 4), lapsing.slice(4)];
  for (const [n, o] of held.entries()) {
    const expireTime = n >= 12 ? new Date(clock().getTime() + 60_000).toISOString() : undefined;
    t.true((await c.reserveStock({ ...o, expireTime })).reserved, `set-up reservation ${n}`);
  }
  // The lapsing ones are now due; the race's own reservations get deadlines 10 minutes after this.
  skewMs = 2 * 60_000;

  // The race's reservations: the same product sets, every other round listed in reverse.
  const racing = Array.from({ length: 60 }, (_, i) => {
    const pattern = patterns[i % patterns.length]!;
    const ordered = Math.floor(i / patterns.length) % 2 === 0 ? pattern : [...pattern].reverse();
    return { orderId: newId(), lines: linesOf(ordered, (k) => (scarce(k) ? 1 + (i % 3) : 1 + (i % 4))) };
  });
  // Some orders are given up or paid for while their own reservation is in flight.
  const releasedEarly = racing.filter((_, i) => i % 10 === 3);
  const committedEarly = racing.filter((_, i) => i % 10 === 7);
  const restocks = shuffled(keys.flatMap((k) => Array.from({ length: scarce(k) ? 4 : 2 }, (_, n) => ({ key: k, quantity: 1 + (n % 2) }))), 7);

  const reserveAnswers = new Map<string, Outcome<{ reserved: boolean; shortages: Array<{ productId: string; requested: number; available: number }>; reason: string }>>();
  const commitAnswers = new Map<string, Outcome<{ lines: Line[] }>>();
  const releaseAnswers = new Map<string, Outcome<{ lines: Line[] }>>();
  const restockAnswers: Array<Outcome<unknown>> = [];
  const expiredBySweeper: string[] = [];
  const sweeps: Array<Outcome<void>> = [];
  // Two replicas' sweepers, called as the service's timer calls them.
  const sweep = async () =>
    sweeps.push(
      await settle(
        (async () => {
          for (let id = await product.reservations.expireNext(meta); id; id = await product.reservations.expireNext(meta)) expiredBySweeper.push(id);
        })(),
      ),
    );
  const calls: Array<() => Promise<unknown>> = [
    ...racing.map((o) => async () => reserveAnswers.set(o.orderId, await settle(c.reserveStock(o)))),
    ...[...toCommit, ...lapsedToCommit, ...committedEarly].map((o) => async () => commitAnswers.set(o.orderId, await settle(c.commitStock({ orderId: o.orderId })))),
    ...[...toRelease, ...lapsedToRelease, ...releasedEarly].map((o) => async () => releaseAnswers.set(o.orderId, await settle(c.releaseStock({ orderId: o.orderId })))),
    ...restocks.map((r) => async () => restockAnswers.push(await settle(c.restockProduct({ id: ids[r.key], quantity: r.quantity })))),
    sweep,
    sweep,
  ];
  const queue = shuffled(calls, 11);
  const worker = async () => {
    for (let call = queue.shift(); call; call = queue.shift()) await call();
  };
  try {
    await Promise.all(Array.from({ length: IN_FLIGHT }, worker));
  } finally {
    skewMs = 0;
  }

  // Every call answered OK, or FAILED_PRECONDITION where a business rule says so: never a
  // deadlock, a constraint or a lost lock surfacing as INTERNAL, ABORTED or UNAVAILABLE.
  const unexpected: string[] = [];
  const check = (what: string, o: Outcome<unknown>, failedPreconditionAllowed: boolean) => {
    if (!o.ok && !(failedPreconditionAllowed && o.code === grpc.status.FAILED_PRECONDITION)) unexpected.push(`${what}: ${typeof o.code === 'number' ? grpc.status[o.code] : o.code} ${o.details}`);
  };
  for (const [orderId, o] of reserveAnswers) check(`ReserveStock ${orderId}`, o, false);
  // A lapsed reservation cannot be sold; an order whose reservation is in flight may have none yet, or a refused one.
  const mayRefuseCommit = new Set([...lapsing, ...committedEarly].map((o) => o.orderId));
  for (const [orderId, o] of commitAnswers) check(`CommitStock ${orderId}`, o, mayRefuseCommit.has(orderId));
  for (const [orderId, o] of releaseAnswers) check(`ReleaseStock ${orderId}`, o, false);
  for (const o of restockAnswers) check('RestockProduct', o, false);
  for (const o of sweeps) check('sweeper', o, false);
  // INTERNAL answers carry no details: the server's log says what it was.
  const errors = logs
    .lines()
    .filter((l) => l.level === 50 && l.err)
    .map((l) => {
      const err = l.err as { code?: string; message?: string } | undefined;
      return `${String(l.msg)}: ${[err?.code, err?.message].filter(Boolean).join(' ')}`;
    });
  t.deepEqual(unexpected, [], `the server logged: ${[...new Set(errors)].join('; ')}`);
  t.deepEqual(errors, []);
  t.is(reserveAnswers.size + commitAnswers.size + releaseAnswers.size + restockAnswers.length + sweeps.length, calls.length);
  for (const o of lapsedToCommit) t.like(commitAnswers.get(o.orderId), { ok: false, code: grpc.status.FAILED_PRECONDITION });
  t.true(expiredBySweeper.every((id) => lapsing.some((o) => o.orderId === id)), 'the sweeper expires only reservations past their deadline');
  t.is(new Set(expiredBySweeper).size, expiredBySweeper.length, 'two sweepers never expire the same reservation twice');
  // Nothing else settles these: whichever sweeper ran, they were due, so it expired them.
  for (const o of leftToSweeper) t.true(expiredBySweeper.includes(o.orderId), `lapsed reservation ${o.orderId} expired by a sweeper`);
  const { rows: swept } = await product.pool.query<{ status: string }>(`SELECT status FROM order_reservations WHERE order_id = ANY($1)`, [leftToSweeper.map((o) => o.orderId)]);
  t.deepEqual(swept.map((r) => r.status), leftToSweeper.map(() => 'EXPIRED'));

  // What the answers say each order ended with.
  const answered = <T>(o: Outcome<T> | undefined) => (o?.ok ? o.value : undefined);
  const committed: Line[] = toCommit.flatMap((o) => answered(commitAnswers.get(o.orderId))?.lines ?? []);
  const stillHeld: Array<{ orderId: string; lines: Line[] }> = [];
  const refused: Array<{ orderId: string; lines: Line[]; shortages: Array<{ productId: string; requested: number; available: number }> }> = [];
  for (const [n, o] of toCommit.entries()) t.deepEqual(answered(commitAnswers.get(o.orderId))?.lines, o.lines, `commit ${n} sold what was reserved`);
  for (const [n, o] of [...toRelease, ...lapsedToRelease].entries()) t.deepEqual(answered(releaseAnswers.get(o.orderId))?.lines, o.lines, `release ${n} gave back what was reserved`);
  for (const o of racing) {
    const answer = answered(reserveAnswers.get(o.orderId))!;
    const sold = answered(commitAnswers.get(o.orderId))?.lines ?? [];
    const givenBack = answered(releaseAnswers.get(o.orderId))?.lines ?? [];
    if (answer.reserved) {
      if (sold.length > 0) committed.push(...sold);
      else if (givenBack.length === 0) stillHeld.push(o);
      for (const settled of [sold, givenBack]) if (settled.length > 0) t.deepEqual(settled, o.lines);
    } else if (answer.shortages.length > 0) {
      refused.push({ ...o, shortages: answer.shortages });
      t.deepEqual([sold, givenBack], [[], []], 'a refused reservation has nothing to sell or give back');
    } else {
      // Released before its reservation arrived: the order was given up and holds nothing.
      t.true(releasedEarly.includes(o), `refused without a shortage: ${answer.reason}`);
      t.regex(answer.reason, /before its reservation was made/);
    }
  }
  t.log(
    `${stillHeld.length} held, ${refused.length} refused, ${commitAnswers.size + releaseAnswers.size} commits and releases, ${restockAnswers.length} restocks, ${expiredBySweeper.length} expired by the sweeper`,
  );
  t.true(stillHeld.length > 0 && refused.length > 0, `the race both reserved (${stillHeld.length} held) and refused (${refused.length}) orders`);

  const sum = (lines: Line[], k: Key) => lines.filter((l) => l.productId === ids[k]).reduce((n, l) => n + l.quantity, 0);
  const restocked = (k: Key) => restocks.filter((r) => r.key === k).reduce((n, r) => n + r.quantity, 0);
  for (const k of keys) {
    const p = (await c.getProduct({ id: ids[k] })).product!;
    t.true(p.quantityReserved >= 0 && p.quantityReserved <= p.quantityOnHand, `${k}: ${p.quantityReserved} reserved of ${p.quantityOnHand} on hand`);
    t.is(p.quantityReserved, sum(stillHeld.flatMap((o) => o.lines), k), `${k}: reserved is what the held reservations hold`);
    t.is(p.quantityOnHand, initial[k] + restocked(k) - sum(committed, k), `${k}: on hand is initial + restocked - committed`);
  }

  // All or nothing: a refused order holds none of its lines, not even those that would have fit.
  const { rows } = await product.pool.query<{ order_id: string }>(`SELECT order_id FROM order_reservations WHERE status = 'RESERVED' ORDER BY order_id`);
  t.deepEqual(rows.map((r) => r.order_id), stillHeld.map((o) => o.orderId).sort());
  for (const o of refused) {
    const asked = new Map(o.lines.map((l) => [l.productId, l.quantity]));
    t.true(o.shortages.every((s) => asked.get(s.productId) === s.requested && s.available < s.requested), `shortages name short lines: ${JSON.stringify(o.shortages)}`);
    t.true(o.shortages.every((s) => scarce(keyOf.get(s.productId)!)), 'only a scarce product runs short');
    t.true(o.lines.length > o.shortages.length, 'some of its lines would have fit');
    const events = await product.pool.query<{ type: string }>(`SELECT type FROM outbox WHERE stream_type = 'stock-reservation' AND stream_id = $1`, [o.orderId]);
    t.deepEqual(events.rows.map((e) => e.type), [StockReservationFailed.$type], `order ${o.orderId}`);
  }
});
