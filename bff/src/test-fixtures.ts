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

/**
 * Opens a subscription as an SSE client would; `next()` answers each `next` payload in turn,
 * then 'complete' when the server completes the stream, or 'closed' when it ends without.
 */
export async function subscribe(app: ReturnType<typeof testApp>, query: string, headers: Record<string, string> = {}) {
  const res = await app.request('/graphql', { method: 'POST', headers: { 'content-type': 'application/json', accept: 'text/event-stream', ...headers }, body: JSON.stringify({ query }) });
  if (res.status !== 200) throw new Error(`subscription refused: ${res.status} ${await res.text()}`);
  const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  const events: any[] = [];
  return {
    // No deadline of its own: ava's timeout bounds a stream that never ends.
    async next(): Promise<any> {
      while (events.length === 0) {
        const chunk = await reader.read();
        if (chunk.done) return 'closed';
        buffer += chunk.value;
        let end: number;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const event = /^event: (.*)$/m.exec(block)?.[1];
          const data = /^data: (.*)$/m.exec(block)?.[1];
          if (event === 'next' && data) events.push(JSON.parse(data));
          if (event === 'complete') events.push('complete');
        }
      }
      return events.shift();
    },
    close: () => reader.cancel(),
  };
}

export type Subscription = Awaited<ReturnType<typeof subscribe>>;
