import test from 'ava';
import { randomUUID } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import { PaymentStatus } from '@shop/contracts/shop/payment/v1/payment';
import { PaymentServiceClient } from '@shop/contracts/shop/payment/v1/service';
import { insecure, promiseClient, type PromiseClient } from '@shop/platform/grpc/client';
import type { GrpcServer } from '@shop/platform/grpc/server';
import { newId, systemClock } from '@shop/platform/ids';
import type { Pool } from '@shop/platform/postgres/pool';
import { createTestAuth, serveGrpc, testLogger, type TestAuth, type TestDatabase } from '@shop/testing';
import { Payments, standaloneStep } from '../../app/payments.js';
import { paymentDatabase } from '../../test-fixtures.js';
import { MockPaymentGateway, TEST_AMOUNT_DECLINE } from '../gateway/mock-gateway.js';
import { postgresPayments } from '../postgres/payment-repository.js';
import { paymentService } from './payment-handlers.js';

/** GetPayment as a client sees it: the real gRPC server over a real Postgres database of its own. */
const { log } = testLogger();
let db: TestDatabase;
let pool: Pool;
let server: GrpcServer;
let raw: PaymentServiceClient;
let c: PromiseClient<PaymentServiceClient>;
let anonymous: PromiseClient<PaymentServiceClient>;
let auth: TestAuth;

const customerId = randomUUID();
const paid = randomUUID();
const declined = randomUUID();
test("a customer sees their own payment only (no customer_id needed); without a token it is UNAUTHENTICATED", async (t) => {
  // Before: an absent customer_id meant staff, to anyone who reached the port.
  const none = await t.throwsAsync<grpc.ServiceError>(anonymous.getPayment({ orderId: paid, customerId: '' }));
  t.is(none?.code, grpc.status.UNAUTHENTICATED);
  t.is((await anonymous.getPayment({ orderId: paid, customerId: '' }, await auth.asCustomer(customerId))).payment?.orderId, paid);
  const stranger = await t.throwsAsync<grpc.ServiceError>(anonymous.getPayment({ orderId: paid, customerId: '' }, await auth.asCustomer(randomUUID())));
  t.is(stranger?.code, grpc.status.PERMISSION_DENIED);
  const naming = await t.throwsAsync<grpc.ServiceError>(anonymous.getPayment({ orderId: paid, customerId }, await auth.asCustomer(randomUUID())));
  t.is(naming?.code, grpc.status.PERMISSION_DENIED, 'a customer cannot name another');
});

const refunded = randomUUID();

test.before(async () => {
  ({ db, pool } = await paymentDatabase(log));
  const payments = new Payments({
    db: pool,
    repo: postgresPayments,
    gateway: new MockPaymentGateway({ failureRate: 0, seed: 'test', declineAmountsCents: [666] }),
    clock: systemClock,
    newId,
  });
  const step = standaloneStep(pool, log);
  const usd = (amountCents: number) => ({ amountCents, currency: 'USD' });
  await payments.charge({ orderId: paid, customerId, amount: usd(2599) }, step, {});
  await payments.charge({ orderId: declined, customerId, amount: usd(666) }, step, {});
  await payments.charge({ orderId: refunded, customerId, amount: usd(100) }, step, {});
  await payments.refund(refunded, 'order cancelled: changed my mind', step, {});
  auth = await createTestAuth();
  server = await serveGrpc([paymentService(payments)], log, 'payment-test', auth.authenticate);
  raw = new PaymentServiceClient(`127.0.0.1:${server.port}`, insecure());
  // Raw errors: the status code and the field trailer as they cross the wire.
  // As the shop (a service); customers' calls pass their own token (auth.asCustomer).
  c = auth.asServiceClient(promiseClient(raw, 5_000, false), 'payment-test');
  anonymous = promiseClient(raw, 5_000, false);
});

test.after.always(async () => {
  raw?.close();
  await server?.shutdown();
  await pool?.end();
  await db?.drop();
});

test('the payment of an order, for staff and for its customer', async (t) => {
  const { payment } = await c.getPayment({ orderId: paid });
  t.like(payment, { orderId: paid, customerId, amount: { amountCents: 2599, currency: 'USD' }, status: PaymentStatus.PAYMENT_STATUS_SUCCEEDED, failureReason: '', refundReason: '' });
  t.regex(payment!.id, /^[0-9a-f-]{36}$/);
  t.truthy(payment!.createTime);
  t.truthy(payment!.updateTime);
  t.deepEqual((await c.getPayment({ orderId: paid, customerId })).payment, payment);
  // service.proto: an empty customer_id is staff.
  t.deepEqual((await c.getPayment({ orderId: paid, customerId: '' })).payment, payment);
  // One spelling per id: an upper-case order id finds the same payment.
  t.deepEqual((await c.getPayment({ orderId: paid.toUpperCase(), customerId: customerId.toUpperCase() })).payment, payment);
});

test('a declined payment says why; a refunded one says why too', async (t) => {
  t.like((await c.getPayment({ orderId: declined })).payment, { status: PaymentStatus.PAYMENT_STATUS_FAILED, failureReason: TEST_AMOUNT_DECLINE, refundReason: '' });
  t.like((await c.getPayment({ orderId: refunded })).payment, { status: PaymentStatus.PAYMENT_STATUS_REFUNDED, refundReason: 'order cancelled: changed my mind', failureReason: '' });
});

test('an order without a payment is NOT_FOUND', async (t) => {
  const err = await t.throwsAsync<grpc.ServiceError>(c.getPayment({ orderId: randomUUID() }));
  t.is(err?.code, grpc.status.NOT_FOUND);
});

test("another customer's payment is PERMISSION_DENIED", async (t) => {
  const err = await t.throwsAsync<grpc.ServiceError>(c.getPayment({ orderId: paid, customerId: randomUUID() }));
  t.is(err?.code, grpc.status.PERMISSION_DENIED);
  t.notRegex(err?.details ?? '', /2599/, 'nothing of the payment is told');
});

for (const [what, request, field] of [
  ['a malformed order id', { orderId: '42' }, 'order_id'],
  ['a missing order id', { orderId: '' }, 'order_id'],
  ['a malformed customer id', { orderId: randomUUID(), customerId: 'bob' }, 'customer_id'],
] as const) {
  test(`${what} is INVALID_ARGUMENT naming ${field}`, async (t) => {
    const err = await t.throwsAsync<grpc.ServiceError>(c.getPayment(request));
    t.is(err?.code, grpc.status.INVALID_ARGUMENT);
    t.true(err?.details.startsWith(`${field}:`), err?.details);
    t.deepEqual(err?.metadata.get('shop-error-field'), [field]);
  });
}
