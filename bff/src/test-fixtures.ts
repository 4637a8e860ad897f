import type { NatsConnection } from 'nats';
import type { TokenVerifier } from '@shop/platform/auth';
import { createLogger } from '@shop/platform/log';
import { createApp } from './app.js';
import type { Clients } from './clients/index.js';
import type { BffConfig } from './config.js';
import type { GraphQLLimits } from './limits.js';

/** What createApp needs of the configuration, at the defaults of config.ts (GraphiQL and introspection on, as locally). */
export const testConfig = {
  ADMIN_API_KEY: 'admin-key-for-tests-0000',
  GRAPHIQL: false,
  GRAPHQL_INTROSPECTION: true,
  ORDER_WAIT_MS: 50,
  PRODUCT_CACHE_TTL_MS: 60_000,
  SUBSCRIPTIONS_PER_CLIENT: 10,
  SUBSCRIPTIONS_PER_PROCESS: 2_000,
  SUBSCRIPTION_MAX_MS: 60 * 60_000,
} satisfies Parameters<typeof createApp>[0]['config'];

/** A NATS connection on which nothing ever arrives. */
export const quietNats = { subscribe: () => ({ unsubscribe: () => undefined }), status: async function* () {} } as unknown as NatsConnection;

/** A "token" is the user id itself here: the verifier is not what the BFF's unit specs are about. */
export const trustingVerifier = { verify: async (token: string) => ({ userId: token }) } as unknown as TokenVerifier;

/** The BFF with fake service clients (only the methods a test uses) and no NATS traffic. */
export function testApp(
  clients: Partial<Clients>,
  opts: { config?: Partial<Pick<BffConfig, keyof typeof testConfig>>; nats?: NatsConnection; limits?: Partial<GraphQLLimits> } = {},
) {
  return createApp({
    clients: clients as Clients,
    nats: opts.nats ?? quietNats,
    verifier: trustingVerifier,
    config: { ...testConfig, ...opts.config },
    log: createLogger('bff-test', 'silent'),
    ...(opts.limits ? { limits: opts.limits } : {}),
  });
}

export interface GqlResult {
  status: number;
  data?: any;
  errors?: Array<{ message: string; extensions?: { code?: string; field?: string; [k: string]: unknown } }>;
}

/** One GraphQL request over HTTP, as a client sends it. */
export async function gql(app: ReturnType<typeof testApp>, query: string, variables: Record<string, unknown> = {}, headers: Record<string, string> = {}): Promise<GqlResult> {
  const res = await app.request('/graphql', { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify({ query, variables }) });
  return { status: res.status, ...((await res.json()) as Omit<GqlResult, 'status'>) };
}
