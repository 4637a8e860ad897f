import { ErrorCode, NatsError, type NatsConnection } from 'nats';
import { OrderStatusNotification } from '@shop/contracts/shop/notifications/v1/notifications';
import { subjects } from '@shop/platform/subjects';
import type { StatusPublisher } from '../../app/ports.js';

const encoder = new TextEncoder();

/** The broker did not confirm in time (e.g. a server that hangs without closing the connection). */
export class NatsFlushTimeoutError extends Error {
  constructor(ms: number) {
    super(`NATS flush took longer than ${ms} ms`);
    this.name = 'NatsFlushTimeoutError';
  }
}

/** Failures that say "NATS is out of reach for now", not "this message is wrong". */
const unavailable = new Set<string>([
  ErrorCode.Disconnect,
  ErrorCode.ConnectionClosed,
  ErrorCode.ConnectionDraining,
  ErrorCode.ConnectionRefused,
  ErrorCode.ConnectionTimeout,
  ErrorCode.Timeout,
]);

export const isNatsUnavailable = (err: unknown): boolean =>
  err instanceof NatsFlushTimeoutError || (err instanceof NatsError && unavailable.has(err.code));

/**
 * OrderStatusNotification in proto3 JSON on `shop.notifications.order.<customer_id>`
 * (core NATS). Published in order on one connection, then flushed: the server's PONG
 * comes after it has taken every message before the PING. The client rejects a pending
 * flush when the connection drops, so an outage surfaces here as a NatsError
 * (DISCONNECT) rather than as a silent loss.
 */
export function natsStatusPublisher(nc: NatsConnection, flushTimeoutMs = 5_000): StatusPublisher {
  return {
    async publish(notifications) {
      if (notifications.length === 0) return;
      for (const n of notifications) {
        nc.publish(subjects.orderStatus(n.customerId), encoder.encode(JSON.stringify(OrderStatusNotification.toJSON(n))));
      }
      await within(nc.flush(), flushTimeoutMs);
    },
    isUnavailable: isNatsUnavailable,
  };
}

function within(promise: Promise<void>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new NatsFlushTimeoutError(ms)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
