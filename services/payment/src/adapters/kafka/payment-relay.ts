import type { Kafka } from 'kafkajs';
import type { Registry } from 'prom-client';
import type { Doorbell } from '@shop/eventsourcing';
import { startRelay, type Relay } from '@shop/eventsourcing/kafka';
import type { Logger } from '@shop/platform/log';
import type { Pool } from '@shop/platform/postgres/pool';
import { PAYMENT_STREAM_TYPE } from '../../domain/events.js';

export interface PaymentRelayOptions {
  pool: Pool;
  kafka: Kafka;
  /** The payment events topic. */
  topic: string;
  log: Logger;
  registry: Registry;
  /** Rung after each commit that wrote outbox rows. */
  doorbell?: Doorbell;
  /** Published rows are deleted once older than this (OUTBOX_RETENTION_MS). */
  retainPublishedMs?: number;
}

/**
 * Publishes the outbox's payment events to the payment topic in commit order, at least
 * once (key = payment id). One leader per database, whatever the replica count.
 */
export function startPaymentRelay(opts: PaymentRelayOptions): Promise<Relay> {
  return startRelay({
    pool: opts.pool,
    name: 'payment-outbox',
    table: 'outbox',
    kafka: opts.kafka,
    streamTypes: [PAYMENT_STREAM_TYPE],
    topicFor: () => opts.topic,
    log: opts.log,
    registry: opts.registry,
    ...(opts.doorbell ? { doorbell: opts.doorbell } : {}),
    ...(opts.retainPublishedMs === undefined ? {} : { retainPublishedMs: opts.retainPublishedMs }),
  });
}
