import { topics } from '@shop/platform/topics';
import { z } from 'zod';
import { baseEnv, env } from '@shop/platform/config';
import { callerAuthEnv } from '@shop/platform/auth/config';

export const configSchema = z.object({
  ...baseEnv,
  ...callerAuthEnv,
  GRPC_PORT: env.port(),
  /** The reports database: the sales ledger. */
  DATABASE_URL: env.databaseUrl(),
  DATABASE_POOL_MAX: env.poolMax(),
  KAFKA_BROKERS: env.list(),
  /** Where the order service's integration events are (OrderConfirmed feeds the reports). */
  ORDER_EVENTS_TOPIC: z.string().min(1).default(topics.orderEvents),
  /** Dead letters of the sales projection: confirmations it could not count, with the reason in a header. */
  REPORTS_DLQ_TOPIC: z.string().min(1).default('shop.reports.dlq'),
});
