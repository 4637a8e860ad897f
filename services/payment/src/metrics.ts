import type { Registry } from 'prom-client';
import { prom } from '@shop/platform/metrics';
import type { PaymentsObserver } from './app/payments.js';

/** The payment's own metrics, counted once per recorded outcome (a redelivery counts nothing). */
export function paymentMetrics(registry: Registry): PaymentsObserver {
  const charges = new prom.Counter({
    name: 'payment_charges_total',
    help: 'Charges answered by the gateway and recorded, by outcome (succeeded, declined).',
    labelNames: ['outcome'] as const,
    registers: [registry],
  });
  const refunds = new prom.Counter({ name: 'payment_refunds_total', help: 'Charges paid back because their order was cancelled or failed.', registers: [registry] });
  return { charged: (outcome) => charges.inc({ outcome }), refunded: () => refunds.inc() };
}
