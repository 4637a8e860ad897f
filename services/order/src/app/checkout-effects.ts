import {
  CommitStock,
  ConfirmOrder,
  CreateOrder,
  FailOrder,
  MarkCancelled,
  MarkPaid,
  MarkStockReserved,
  ReleaseStock,
  ReserveStock,
  StockCommitAnswered,
  StockReleaseAnswered,
  StockReservationAnswered,
} from '@shop/contracts/shop/order/v1/checkout';
import { OrderCancelled, OrderConfirmed, OrderFailed, OrderPaid, OrderPlaced, OrderStockReserved } from '@shop/contracts/shop/order/v1/events';
import type { Registry } from 'prom-client';
import { event, type EventMetadata } from '@shop/eventsourcing';
import type { PostgresEventStore } from '@shop/eventsourcing/postgres';
import { WorkflowRuntime, type LocalEffect, type RemoteEffect } from '@shop/eventsourcing/kafka';
import type { Logger } from '@shop/platform/log';
import type { Clock } from '@shop/platform/ids';
import { enqueue, type OutboxEvent } from '@shop/platform/outbox';
import type { Pool, Queryable } from '@shop/platform/postgres/pool';
import { checkoutCodec, checkoutWorkflow, type CheckoutCommand, type CheckoutInput, type CheckoutOptions } from '../domain/checkout.js';
import { placeOrder, transition, type Order, type OrderStatus } from '../domain/order.js';
import { fromProtoLine, toProtoLine, toProtoStatus, totalMoney } from './contract-mapping.js';
import { traceOf, type CheckoutRuntime } from './orders.js';
import type { Inventory, OrderRepository } from './ports.js';

export const ORDER_STREAM_TYPE = 'order';

type Command<T extends CheckoutCommand['type']> = Extract<CheckoutCommand, { type: T }>;

/**
 * The checkout workflow's commands to the order itself, applied in the transaction that
 * records them: the order row, its status history and its integration event (outbox)
 * change together with the workflow's stream, or not at all.
 */
export function localEffects(repo: OrderRepository, clock: Clock): Partial<Record<CheckoutCommand['type'], LocalEffect<CheckoutCommand>>> {
  /** Moves the order to `to` and writes the event `eventOf` describes. */
  const change =
    <T extends CheckoutCommand['type']>(
      to: OrderStatus,
      eventOf: (before: Order, after: Order, command: Command<T>) => { type: string; data: unknown },
      detail: (command: Command<T>) => { reason?: string; paymentId?: string } = () => ({}),
    ): LocalEffect<CheckoutCommand> =>
    async (tx: Queryable, command: CheckoutCommand, orderId: string, meta: EventMetadata) => {
      const before = await repo.find(tx, orderId, true);
      // The workflow creates the order before any other command: a missing one is a bug.
      if (!before) throw new Error(`order ${orderId} does not exist`);
      const { reason = '', paymentId } = detail(command as Command<T>);
      const after = { ...transition(before, to, clock(), reason), ...(paymentId ? { paymentId } : {}) };
      await repo.save(tx, before, after);
      await enqueue(tx, [outboxEvent(after, eventOf(before, after, command as Command<T>), meta)]);
    };

  return {
    [CreateOrder.$type]: async (tx, command, _orderId, meta) => {
      const c = (command as Command<typeof CreateOrder.$type>).data;
      const order = placeOrder({
        id: c.orderId,
        customerId: c.customerId,
        cartId: c.cartId || null,
        checkoutId: c.checkoutId,
        lines: c.lines.map(fromProtoLine),
        currency: c.total?.currency || 'USD',
        at: clock(),
      });
      await repo.insert(tx, order);
      const placed = event(OrderPlaced, {
        orderId: order.id,
        customerId: order.customerId,
        cartId: order.cartId ?? '',
        checkoutId: order.checkoutId,
        lines: order.lines.map((l) => toProtoLine(l, order.currency)),
        total: totalMoney(order),
      });
      await enqueue(tx, [outboxEvent(order, { type: placed.type, data: OrderPlaced.toJSON(placed.data) }, meta)]);
    },
    [MarkStockReserved.$type]: change('STOCK_RESERVED', (_, o) => ({
      type: OrderStockReserved.$type,
      data: OrderStockReserved.toJSON({ orderId: o.id, customerId: o.customerId, total: totalMoney(o) }),
    })),
    [MarkPaid.$type]: change<typeof MarkPaid.$type>(
      'PAID',
      (_, o, c) => ({ type: OrderPaid.$type, data: OrderPaid.toJSON({ orderId: o.id, customerId: o.customerId, paymentId: c.data.paymentId, amount: c.data.amount }) }),
      (c) => ({ paymentId: c.data.paymentId }),
    ),
    [ConfirmOrder.$type]: change('CONFIRMED', (_, o) => ({
      type: OrderConfirmed.$type,
      data: OrderConfirmed.toJSON({ orderId: o.id, customerId: o.customerId, lines: o.lines.map((l) => toProtoLine(l, o.currency)), total: totalMoney(o) }),
    })),
    [FailOrder.$type]: change<typeof FailOrder.$type>(
      'FAILED',
      (before, o, c) => ({ type: OrderFailed.$type, data: OrderFailed.toJSON({ orderId: o.id, customerId: o.customerId, reason: c.data.reason, previousStatus: toProtoStatus[before.status] }) }),
      (c) => ({ reason: c.data.reason }),
    ),
    [MarkCancelled.$type]: change<typeof MarkCancelled.$type>(
      'CANCELLED',
      (before, o, c) => ({ type: OrderCancelled.$type, data: OrderCancelled.toJSON({ orderId: o.id, customerId: o.customerId, reason: c.data.reason, previousStatus: toProtoStatus[before.status] }) }),
      (c) => ({ reason: c.data.reason }),
    ),
  };
}

/**
 * The workflow's commands to the inventory (the product service), sent after the step
 * that issued them committed; each answer is the workflow's next input.
 */
export function remoteEffects(inventory: Inventory): Partial<Record<CheckoutCommand['type'], RemoteEffect<CheckoutInput, CheckoutCommand>>> {
  return {
    [ReserveStock.$type]: async (command, orderId, meta) => {
      const c = (command as Command<typeof ReserveStock.$type>).data;
      const answer = await inventory.reserve(orderId, c.lines.map((l) => ({ productId: l.productId, quantity: l.quantity })), new Date(c.expireTime!), traceOf(meta));
      return [event(StockReservationAnswered, answer.reserved ? { orderId, reserved: true, shortfalls: [], reason: '' } : { orderId, reserved: false, shortfalls: answer.shortfalls, reason: answer.reason })];
    },
    [CommitStock.$type]: async (_command, orderId, meta) => {
      const answer = await inventory.commit(orderId, traceOf(meta));
      return [event(StockCommitAnswered, { orderId, committed: answer.committed, reason: answer.committed ? '' : answer.reason })];
    },
    [ReleaseStock.$type]: async (_command, orderId, meta) => {
      const answer = await inventory.release(orderId, traceOf(meta));
      return [event(StockReleaseAnswered, { orderId, unitsReleased: answer.unitsReleased })];
    },
  };
}

/** An order event for the outbox: stream `order`, version = the order's revision after the change. */
function outboxEvent(o: Order, e: { type: string; data: unknown }, meta: EventMetadata): OutboxEvent {
  return { streamType: ORDER_STREAM_TYPE, streamId: o.id, version: o.revision, type: e.type, data: e.data, metadata: { ...meta, actor: meta.actor ?? 'system:checkout' } };
}

/** The checkout workflow with its effects, on the order database (its event store, pending commands and timers). */
export function checkoutRuntime(deps: {
  pool: Pool;
  store: PostgresEventStore;
  repo: OrderRepository;
  inventory: Inventory;
  clock: Clock;
  log: Logger;
  registry: Registry;
  options: CheckoutOptions;
  graceMs?: number;
}): CheckoutRuntime {
  return new WorkflowRuntime({
    workflow: checkoutWorkflow(deps.options),
    pool: deps.pool,
    store: deps.store,
    codec: checkoutCodec,
    local: localEffects(deps.repo, deps.clock),
    remote: remoteEffects(deps.inventory),
    log: deps.log,
    registry: deps.registry,
    ...(deps.graceMs === undefined ? {} : { graceMs: deps.graceMs }),
  });
}
