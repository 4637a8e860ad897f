import test from 'ava';
import { IllegalStateError } from '@shop/platform/errors';
import { deciderSpec } from '@shop/eventsourcing/testing';
import { checkFields, type Product } from './product.js';
import {
  commitAnswer,
  expiryOf,
  linesAtStake,
  releaseAnswer,
  reservationDecider,
  reserveAnswer,
  stockMoves,
  type ReservationCommand,
  type ReservationEvent,
} from './reservation.js';

/** The reservation's rules as specifications: given these past events, when this command, then these new events (or this error). */
const given = deciderSpec(reservationDecider);

const orderId = 'order-1';
const t0 = new Date('2030-01-01T12:00:00.000Z');
const at = (minutes: number) => new Date(t0.getTime() + minutes * 60_000);
const ttl = 15 * 60_000;

const lamp = (over: Partial<Product> = {}): Product => ({
  ...checkFields({ name: 'Desk lamp', description: '', category: 'home', sku: null, priceCents: 2599, currency: 'USD', quantityOnHand: 5, active: true }),
  id: 'p1',
  quantityReserved: 0,
  revision: 1,
  createdAt: t0,
  updatedAt: t0,
  ...over,
});
const lines = [{ productId: 'p1', quantity: 2 }];
const catalog = (p: Product = lamp()) => new Map([[p.id, p]]);

// Commands
const reserve = (over: Partial<Extract<ReservationCommand, { type: 'Reserve' }>> = {}): ReservationCommand => ({
  type: 'Reserve',
  orderId,
  lines,
  expireTime: undefined,
  defaultTtlMs: ttl,
  products: catalog(),
  now: t0,
  ...over,
});
const release = (now = at(1)): ReservationCommand => ({ type: 'Release', orderId, now });
const commit = (now = at(1)): ReservationCommand => ({ type: 'Commit', orderId, now });
const expire = (now: Date): ReservationCommand => ({ type: 'Expire', orderId, now });

// Events
const reserved = (expiresAt = at(15)): ReservationEvent => ({ type: 'ReservationMade', data: { orderId, lines, expiresAt, at: t0 } });
const refused = (available = 1): ReservationEvent => ({
  type: 'ReservationRefused',
  data: { orderId, lines, shortages: [{ productId: 'p1', requested: 2, available }], at: t0 },
});
const released = (reason: 'released' | 'expired', when = at(1)): ReservationEvent => ({
  type: 'ReservationReleased',
  data: { orderId, lines, reason, at: when },
});
const committed = (when = at(1)): ReservationEvent => ({ type: 'ReservationCommitted', data: { orderId, lines, at: when } });
const abandoned = (when = at(1)): ReservationEvent => ({ type: 'ReservationAbandoned', data: { orderId, at: when } });

// Reserve

test('reserving with enough stock holds it until now + the TTL', (t) => {
  given(t, []).when(reserve()).then([reserved(at(15))]);
});

test('the caller may name the deadline: in the future, at most 24 h ahead', (t) => {
  given(t, []).when(reserve({ expireTime: at(60) })).then([reserved(at(60))]);
  given(t, []).when(reserve({ expireTime: at(24 * 60) })).then([reserved(at(24 * 60))]);
  given(t, []).when(reserve({ expireTime: t0 })).thenInvalid('expire_time', /must be in the future/);
  given(t, []).when(reserve({ expireTime: at(-1) })).thenInvalid('expire_time', /must be in the future/);
  given(t, []).when(reserve({ expireTime: at(24 * 60 + 1) })).thenInvalid('expire_time', /at most 24 h ahead/);
});

test('a shortage refuses the whole order and says what is missing', (t) => {
  given(t, []).when(reserve({ products: catalog(lamp({ quantityOnHand: 3, quantityReserved: 2 })) })).then([refused(1)]);
  given(t, []).when(reserve({ products: catalog(lamp({ quantityOnHand: 1 })) })).then([refused(1)]);
  t.deepEqual(reserveAnswer(orderId, given(t, [refused(1)]).state()), { reserved: false, shortages: [{ productId: 'p1', requested: 2, available: 1 }], reason: '' });
});

test('a retry after a refusal answers the same shortages and changes nothing, even once stock is back', (t) => {
  given(t, [refused(1)]).when(reserve({ products: catalog(lamp({ quantityOnHand: 100 })) })).then([]);
  t.deepEqual(reserveAnswer(orderId, given(t, [refused(1)]).state()), { reserved: false, shortages: [{ productId: 'p1', requested: 2, available: 1 }], reason: '' });
});

test('a retry of a reservation answers reserved and holds nothing more', (t) => {
  given(t, [reserved()]).when(reserve({ now: at(5) })).then([]);
  t.deepEqual(reserveAnswer(orderId, given(t, [reserved()]).state()), { reserved: true, shortages: [], reason: '' });
});

test('other lines for an order already reserved or refused are refused as a conflict, not a retry', (t) => {
  const other = [{ productId: 'p1', quantity: 3 }];
  given(t, [reserved()]).when(reserve({ lines: other })).thenThrows(IllegalStateError, /already has a reserved reservation with other lines/);
  given(t, [refused()]).when(reserve({ lines: other })).thenThrows(IllegalStateError, /already has a refused reservation with other lines/);
});

test('an order released before its reservation arrived is not reserved: no stock held, a reason given', (t) => {
  given(t, [abandoned(at(1))]).when(reserve({ now: at(2) })).then([]);
  const answer = reserveAnswer(orderId, given(t, [abandoned(at(1))]).state());
  t.false(answer.reserved);
  t.deepEqual(answer.shortages, []);
  t.regex(answer.reason, /order order-1 was released at 2030-01-01T12:01:00.000Z, before its reservation was made: it holds no stock/);
});

test('a settled order is never reserved again, and the answer says why', (t) => {
  const cases: Array<[ReservationEvent[], RegExp]> = [
    [[reserved(), released('released')], /was released at 2030-01-01T12:01:00.000Z; an order is reserved at most once/],
    [[reserved(), released('expired', at(16))], /expired at 2030-01-01T12:15:00.000Z and was released/],
    [[reserved(), committed()], /was already committed/],
  ];
  for (const [history, reason] of cases) {
    given(t, history).when(reserve({ now: at(30) })).then([]);
    const answer = reserveAnswer(orderId, given(t, history).state());
    t.false(answer.reserved);
    t.regex(answer.reason, reason);
  }
});

test('a retry after the deadline finds the reservation lapsed: stock released as expired, not reserved', (t) => {
  given(t, [reserved(at(15))]).when(reserve({ now: at(15) })).then([released('expired', at(15))]);
  t.regex(reserveAnswer(orderId, given(t, [reserved(at(15)), released('expired', at(15))]).state()).reason, /expired at 2030-01-01T12:15:00.000Z/);
});

// Release

test('releasing a reservation gives its lines back', (t) => {
  given(t, [reserved()]).when(release()).then([released('released')]);
  t.deepEqual(releaseAnswer(orderId, given(t, [reserved(), released('released')]).state()), lines);
});

test('releasing again answers the same lines and changes nothing', (t) => {
  given(t, [reserved(), released('released')]).when(release(at(2))).then([]);
  t.deepEqual(releaseAnswer(orderId, given(t, [reserved(), released('released')]).state()), lines);
  given(t, [reserved(), released('expired', at(16))]).when(release(at(20))).then([]);
  t.deepEqual(releaseAnswer(orderId, given(t, [reserved(), released('expired', at(16))]).state()), lines);
});

test('releasing an order with no reservation is not an error: nothing released, the order recorded as abandoned', (t) => {
  given(t, []).when(release()).then([abandoned()]);
  const after = given(t, [abandoned()]).state();
  t.deepEqual(releaseAnswer(orderId, after), []);
  t.is(after.status, 'ABANDONED');
  given(t, [abandoned()]).when(release(at(2))).then([]);
});

test('releasing a refused order releases nothing', (t) => {
  given(t, [refused()]).when(release()).then([]);
  t.deepEqual(releaseAnswer(orderId, given(t, [refused()]).state()), []);
});

test('a committed reservation cannot be released: its stock has left', (t) => {
  given(t, [reserved(), committed()]).when(release(at(2))).thenThrows(IllegalStateError, /already committed/);
});

test('releasing after the deadline releases it as expired', (t) => {
  given(t, [reserved(at(15))]).when(release(at(20))).then([released('expired', at(20))]);
});

// Commit

test('committing a reservation sells its lines; committing again answers the same', (t) => {
  given(t, [reserved()]).when(commit()).then([committed()]);
  t.deepEqual(commitAnswer(orderId, given(t, [reserved(), committed()]).state()), lines);
  given(t, [reserved(), committed()]).when(commit(at(2))).then([]);
  t.deepEqual(commitAnswer(orderId, given(t, [reserved(), committed()]).state()), lines);
});

test('committing a reservation found past its deadline releases it as expired, then refuses saying so', (t) => {
  given(t, [reserved(at(15))]).when(commit(at(15))).then([released('expired', at(15))]);
  t.throws(() => commitAnswer(orderId, given(t, [reserved(at(15)), released('expired', at(15))]).state()), {
    instanceOf: IllegalStateError,
    message: 'reservation of order order-1 expired at 2030-01-01T12:15:00.000Z and was released',
  });
});

test('nothing to commit: never reserved, refused, released, expired or abandoned', (t) => {
  const cases: Array<[ReservationEvent[], RegExp]> = [
    [[], /order order-1 has no stock reservation/],
    [[refused()], /was refused for lack of stock/],
    [[reserved(), released('released')], /reservation of order order-1 was released at 2030-01-01T12:01:00.000Z/],
    [[reserved(), released('expired', at(16))], /expired at 2030-01-01T12:15:00.000Z and was released/],
    [[abandoned()], /was released at 2030-01-01T12:01:00.000Z before any stock was reserved/],
  ];
  for (const [history, message] of cases) {
    given(t, history).when(commit(at(30))).then([]);
    t.throws(() => commitAnswer(orderId, given(t, history).state()), { instanceOf: IllegalStateError, message });
  }
});

// Expiry

test('the deadline releases a reservation as expired, exactly once', (t) => {
  given(t, [reserved(at(15))]).when(expire(at(14))).then([]);
  given(t, [reserved(at(15))]).when(expire(at(15))).then([released('expired', at(15))]);
  given(t, [reserved(at(15)), released('expired', at(15))]).when(expire(at(16))).then([]);
  t.like(given(t, [reserved(at(15)), released('expired', at(15))]).state(), { status: 'EXPIRED', expiresAt: at(15), releasedAt: at(15), version: 2 });
});

test('settled reservations do not expire', (t) => {
  for (const history of [[reserved(), committed()], [reserved(), released('released')], [refused()], [abandoned()]]) {
    given(t, history).when(expire(at(60))).then([]);
  }
});

// Stock and versions

test('stock moves: reserve holds, release and expiry give back, commit sells', (t) => {
  t.deepEqual(stockMoves(reserved()), [{ productId: 'p1', reserved: 2, onHand: 0 }]);
  t.deepEqual(stockMoves(released('released')), [{ productId: 'p1', reserved: -2, onHand: 0 }]);
  t.deepEqual(stockMoves(released('expired')), [{ productId: 'p1', reserved: -2, onHand: 0 }]);
  t.deepEqual(stockMoves(committed()), [{ productId: 'p1', reserved: -2, onHand: -2 }]);
  t.deepEqual(stockMoves(refused()), []);
  t.deepEqual(stockMoves(abandoned()), []);
});

test('each published event is the next version of the order stream; an abandonment publishes nothing', (t) => {
  t.is(given(t, [reserved(), committed()]).state().version, 2);
  t.is(given(t, [refused()]).state().version, 1);
  t.is(given(t, [abandoned()]).state().version, 0);
});

test('the products to lock: those held, or those asked for by a first reservation', (t) => {
  const asked = [{ productId: 'p9', quantity: 1 }];
  t.deepEqual(linesAtStake(given(t, []).state(), asked), asked);
  t.deepEqual(linesAtStake(given(t, [reserved()]).state(), asked), lines);
  t.deepEqual(linesAtStake(given(t, [refused()]).state(), asked), []);
  t.deepEqual(linesAtStake(given(t, [abandoned()]).state(), asked), []);
});

test('the default deadline is now + the TTL', (t) => {
  t.deepEqual(expiryOf(undefined, t0, ttl), at(15));
});
