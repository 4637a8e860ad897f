import test from 'ava';
import { int64, toProtoReport } from './report-mapping.js';

test('counts and amounts reach the contract exactly, each amount with its currency', (t) => {
  const max = BigInt(Number.MAX_SAFE_INTEGER);
  t.deepEqual(
    toProtoReport({
      days: [{ date: '2026-11-02', currency: 'EUR', orders: 2n, units: 5n, revenueCents: max }],
      products: [{ productId: 'p', productName: 'Mug', currency: 'USD', units: 3n, revenueCents: 1250n }],
      customers: [{ customerId: 'c', currency: 'USD', orders: 1n, revenueCents: 1250n }],
      totals: [{ currency: 'EUR', orders: 2n, units: 5n, revenueCents: max }],
    }),
    {
      days: [{ date: '2026-11-02', orders: 2, units: 5, revenue: { amountCents: Number.MAX_SAFE_INTEGER, currency: 'EUR' } }],
      products: [{ productId: 'p', productName: 'Mug', units: 3, revenue: { amountCents: 1250, currency: 'USD' } }],
      customers: [{ customerId: 'c', orders: 1, revenue: { amountCents: 1250, currency: 'USD' } }],
      totals: [{ orders: 2, units: 5, revenue: { amountCents: Number.MAX_SAFE_INTEGER, currency: 'EUR' } }],
    },
  );
});

test('an amount a JS number cannot hold exactly is refused, not rounded', (t) => {
  t.throws(() => int64(BigInt(Number.MAX_SAFE_INTEGER) + 1n, 'revenue'), { instanceOf: RangeError, message: /revenue 9007199254740992/ });
  t.throws(() => toProtoReport({ days: [], products: [], customers: [], totals: [{ currency: 'EUR', orders: 1n, units: 1n, revenueCents: 2n ** 60n }] }), { instanceOf: RangeError });
  t.is(int64(-5n, 'x'), -5);
});
