import { z } from 'zod';
import { baseEnv, env } from '@shop/platform/config';

export const configSchema = z.object({
  ...baseEnv,
  /** The GraphQL HTTP port (behind the Envoy edge). */
  PORT: env.port(),
  /** gRPC address of the product service, normally an Envoy listener (host:port). */
  PRODUCT_GRPC_ADDR: z.string().min(1),
  CART_COMMAND_GRPC_ADDR: z.string().min(1),
  CART_QUERY_GRPC_ADDR: z.string().min(1),
  USER_COMMAND_GRPC_ADDR: z.string().min(1),
  USER_QUERY_GRPC_ADDR: z.string().min(1),
  ORDER_GRPC_ADDR: z.string().min(1),
  REPORTS_GRPC_ADDR: z.string().min(1),
  /** Access tokens must carry this issuer and audience (user-command signs them). */
  JWT_ISSUER: z.string().min(1).default('shop'),
  JWT_AUDIENCE: z.string().min(1).default('shop-api'),
  /** NATS, where projectors announce read-model changes (GraphQL subscriptions). */
  NATS_URL: z.string().min(1),
  /** Deadline for each gRPC call the BFF makes. */
  GRPC_TIMEOUT_MS: env.durationMs(5_000),
  /** Deadline of the gRPC calls that hash or check a password (register, login, password change); Envoy caps a call at 10 s. */
  GRPC_PASSWORD_TIMEOUT_MS: env.durationMs(10_000),
  /** Secret that admin operations (createProduct) require in the `x-api-key` header. */
  ADMIN_API_KEY: env.secret(16),
  /** How long `checkOut` waits for the order its checkout places before answering without it. */
  ORDER_WAIT_MS: env.durationMs(2_000),
  /** Longest a cached product list is served (it is also dropped on every catalog change announced on NATS). */
  PRODUCT_CACHE_TTL_MS: env.durationMs(30_000),
  /** GraphiQL in the browser at /graphql. */
  GRAPHIQL: env.bool(true),
});
export type BffConfig = z.infer<typeof configSchema>;
