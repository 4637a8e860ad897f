import { randomUUID } from 'node:crypto';
import { OrderCancelled, OrderFailed, OrderStockReserved } from '@shop/contracts/shop/order/v1/events';
import { OrderStatus } from '@shop/contracts/shop/order/v1/order';
import type { RecordedEvent } from '@shop/eventsourcing';
import { processorMigrations, relayMigrations } from '@shop/eventsourcing/kafka';
import type { Logger } from '@shop/platform/log';
import { outboxMigrations } from '@shop/platform/outbox';
import { migrate } from '@shop/platform/postgres/migrate';
import { createPool, type Pool } from '@shop/platform/postgres/pool';
import { createTestDatabase, type TestDatabase } from '@shop/testing';
import type { ChargeOutcome } from './domain/payment.js';
import type { ChargeRequest, PaymentGateway, RefundRequest } from './app/ports.js';
import { paymentMigrations } from './migrations.js';

/** Test set-ups over the real stack: a database per test file, order events as the order service writes them. */

export async function paymentDatabase(log: Logger): Promise<{ db: TestDatabase; pool: Pool }> {
  const db = await createTestDatabase('payment');
  const pool = createPool({ url: db.url, log });
  await migrate(pool, [outboxMigrations, relayMigrations, processorMigrations, paymentMigrations], log);
  return { db, pool };
}

export interface GatewayCall {
  kind: 'charge' | 'refund';
  idempotencyKey: string;
  orderId: string;
}

/** A gateway that records every call it gets (before passing it on), to count charges by key. */
export function recordingGateway(inner: PaymentGateway): { gateway: PaymentGateway; calls: (orderId: string, kind?: GatewayCall['kind']) => GatewayCall[] } {
  const calls: GatewayCall[] = [];
  return {
    gateway: {
      charge(request: ChargeRequest): Promise<ChargeOutcome> {
        calls.push({ kind: 'charge', idempotencyKey: request.idempotencyKey, orderId: request.orderId });
        return inner.charge(request);
      },
      refund(request: RefundRequest): Promise<void> {
        calls.push({ kind: 'refund', idempotencyKey: request.idempotencyKey, orderId: request.orderId });
        return inner.refund(request);
      },
    },
    calls: (orderId, kind) => calls.filter((c) => c.orderId === orderId && (kind === undefined || c.kind === kind)),
  };
}

const orderEvent = (type: string, orderId: string, version: number, data: unknown): RecordedEvent => ({
  id: randomUUID(),
  type,
  streamId: orderId,
  streamType: 'order',
  version,
  position: version,
  occurredAt: new Date().toISOString(),
  data,
  metadata: { correlationId: `corr-${orderId}` },
});

/** The order events the payment reacts to, as the order service's outbox writes them (version 2 reserved, 3 ended). */
export const stockReserved = (orderId: string, customerId: string, cents: number, version = 2) =>
  orderEvent(OrderStockReserved.$type, orderId, version, OrderStockReserved.toJSON({ orderId, customerId, total: { amountCents: cents, currency: 'USD' } }));

export const orderCancelled = (orderId: string, customerId: string, reason: string, version = 3) =>
  orderEvent(OrderCancelled.$type, orderId, version, OrderCancelled.toJSON({ orderId, customerId, reason, previousStatus: OrderStatus.ORDER_STATUS_STOCK_RESERVED }));

export const orderFailed = (orderId: string, customerId: string, reason: string, version = 3) =>
  orderEvent(OrderFailed.$type, orderId, version, OrderFailed.toJSON({ orderId, customerId, reason, previousStatus: OrderStatus.ORDER_STATUS_STOCK_RESERVED }));

/** The payment events of an order in the outbox, in version order. */
export async function outboxOf(pool: Pool, orderId: string): Promise<Array<{ type: string; version: number; stream_id: string; data: Record<string, unknown>; metadata: Record<string, unknown> }>> {
  const { rows } = await pool.query(
    `SELECT type, version, stream_id, data, metadata FROM outbox WHERE stream_type = 'payment' AND data ->> 'orderId' = $1 ORDER BY version`,
    [orderId],
  );
  return rows;
}

export async function paymentRows(pool: Pool, orderId: string): Promise<Array<Record<string, unknown>>> {
  const { rows } = await pool.query('SELECT id, status, amount_cents, currency, failure_reason, refund_reason, version, customer_id FROM payments WHERE order_id = $1', [orderId]);
  return rows;
}
