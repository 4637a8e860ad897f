import { z } from 'zod';
import { baseEnv, env, natsEnv } from '@shop/platform/config';

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
  /** NATS, where projectors announce read-model changes (GraphQL subscriptions). */
  ...natsEnv,
  /** Deadline for each gRPC call the BFF makes. */
  GRPC_TIMEOUT_MS: env.durationMs(5_000),
  /** Deadline of the gRPC calls that hash or check a password (register, login, password change); Envoy caps a call at 10 s. */
  GRPC_PASSWORD_TIMEOUT_MS: env.durationMs(10_000),
  /** Secret that admin operations (createProduct) require in the `x-api-key` header. */
  ADMIN_API_KEY: env.secret(16),
  /** The key the shop's services sign their own calls with: the BFF's admin operations go as the shop (platform auth/caller.ts). */
  SERVICE_TOKEN_KEY: env.secret(32),
  /** How long `checkOut` waits for the order its checkout places before answering without it. */
  ORDER_WAIT_MS: env.durationMs(2_000),
  /** Longest a cached product list is served (it is also dropped on every catalog change announced on NATS). */
  PRODUCT_CACHE_TTL_MS: env.durationMs(30_000),
  /** GraphiQL in the browser at /graphql. Off unless asked for: the local stack turns it on. */
  GRAPHIQL: env.bool(false),
  /** Whether the schema answers introspection (`__schema`, `__type`). Off unless asked for: the local stack turns it on. */
  GRAPHQL_INTROSPECTION: env.bool(false),
  /** Open subscriptions (SSE streams) one client may hold: a signed-in viewer, else one client address. */
  SUBSCRIPTIONS_PER_CLIENT: z.coerce.number().int().min(1).default(10),
  /** Open subscriptions this BFF process holds at most, all clients together. */
  SUBSCRIPTIONS_PER_PROCESS: z.coerce.number().int().min(1).default(2_000),
  /** Longest a subscription stays open; it then ends cleanly and the client subscribes again. */
  SUBSCRIPTION_MAX_MS: env.durationMs(60 * 60_000),
});
export type BffConfig = z.infer<typeof configSchema>;
