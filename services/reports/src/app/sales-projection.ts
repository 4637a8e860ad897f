import { OrderConfirmed } from '@shop/contracts/shop/order/v1/events';
import { startProcessor, type Processor, type ProcessorOptions } from '@shop/eventsourcing/kafka';
import { salesFactsOf } from '../domain/sales.js';
import type { SalesLedger } from './ports.js';

export const SALES_PROCESSOR = 'reports.sales';

export interface SalesProjectionOptions extends Omit<ProcessorOptions, 'name' | 'handle' | 'accepts' | 'onDeadLetter'> {
  ledger: SalesLedger;
}

/**
 * Confirmed orders → the sales ledger, on the shared processor (offsets after the write,
 * retries, DLQ). Only OrderConfirmed counts: a report is about completed orders, and the
 * event carries the lines and prices it needs.
 *
 * Idempotent without an inbox: the ledger's key is (order, product), and a fact already
 * there is left alone, so a redelivered confirmation (a crash before the offset commit, a
 * rebalance) adds nothing. A malformed event fails the batch for good, so the processor
 * isolates it and sends it to the DLQ; the others of the batch are recorded.
 */
export function startSalesProjection(opts: SalesProjectionOptions): Promise<Processor> {
  const { ledger, ...processor } = opts;
  return startProcessor({
    ...processor,
    name: SALES_PROCESSOR,
    accepts: (event) => event.type === OrderConfirmed.$type,
    async handle(events) {
      const facts = events.flatMap(salesFactsOf);
      const recorded = await ledger.record(facts);
      return { applied: recorded.size, duplicates: events.length - recorded.size };
    },
  });
}
