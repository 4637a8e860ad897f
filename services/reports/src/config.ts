import { topics } from '@shop/platform/topics';
import { z } from 'zod';
import { baseEnv, grpcServerEnv, postgresEnv, kafkaEnv } from '@shop/platform/config';
import { callerAuthEnv } from '@shop/platform/auth/config';

export const configSchema = z.object({
  ...baseEnv,
  ...grpcServerEnv,
  ...callerAuthEnv,
  /** The reports database: the sales ledger. */
  ...postgresEnv,
  ...kafkaEnv,
  /** Where the order service's integration events are (OrderConfirmed feeds the reports). */
  ORDER_EVENTS_TOPIC: z.string().min(1).default(topics.orderEvents),
  /** Dead letters of the sales projection: confirmations it could not count, with the reason in a header. */
  REPORTS_DLQ_TOPIC: z.string().min(1).default('shop.reports.dlq'),
});
