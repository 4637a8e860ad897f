import { GraphQLError } from 'graphql';
import { readFileSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { createSchema, createYoga } from 'graphql-yoga';
import type { NatsConnection } from 'nats';
import type { Logger } from '@shop/platform/log';
import type { Caller, TokenVerifier } from '@shop/platform/auth';
import type { ServiceIdentity } from '@shop/platform/auth/caller';
import type { Revocations } from '@shop/platform/auth/revocations';
import { viewerMiddleware } from './auth/viewer.js';
import type { Clients } from './clients/index.js';
import type { BffConfig } from './config.js';
import { callMetadataOf, type GraphQLContext } from './context.js';
import { maskError } from './errors.js';
import { graphiqlAssets, graphiqlAssetsPath, graphiqlPageHeaders, renderGraphiQL } from './graphiql.js';
import { createLoaders } from './loaders/index.js';
import { limitPlugins, type GraphQLLimits } from './limits.js';
import { Cents } from './schema/cents.js';
import { SubscriptionGate } from './subscriptions.js';
import { productResolvers } from './resolvers/product.js';
import { cartResolvers } from './resolvers/cart.js';
import { userResolvers } from './resolvers/user.js';
import { orderResolvers } from './resolvers/order.js';
import { reportResolvers } from './resolvers/report.js';
import { ProductListCache } from './loaders/product-cache.js';
import { watchCatalog } from './loaders/catalog-watch.js';
import type { ListProductsResponse } from '@shop/contracts/shop/product/v1/service';

const typeDefs = readFileSync(new URL('./schema/schema.graphql', import.meta.url), 'utf8');

/** The BFF as a Hono app: GraphQL (and GraphiQL) at /graphql, liveness at /healthz. */
export function createApp(opts: {
  clients: Clients;
  nats: NatsConnection;
  verifier: TokenVerifier;
  /** The revoked users `verifier` refuses (main.ts), for deleteAccount to add its own. */
  revocations?: Revocations;
  /** The BFF's own identity towards the services, for the operations it does as the shop (an administrator's, checked here). */
  identity?: ServiceIdentity;
  config: Pick<
    BffConfig,
    | 'ADMIN_API_KEY'
    | 'GRAPHIQL'
    | 'GRAPHQL_INTROSPECTION'
    | 'ORDER_WAIT_MS'
    | 'PRODUCT_CACHE_TTL_MS'
    | 'SUBSCRIPTIONS_PER_CLIENT'
    | 'SUBSCRIPTIONS_PER_PROCESS'
    | 'SUBSCRIPTION_MAX_MS'
  >;
  log: Logger;
  /** Tighter GraphQL limits than limits.ts's (tests). */
  limits?: Partial<GraphQLLimits>;
}) {
  // Catalog pages shared by all requests, dropped at every change the product service announces.
  // At most 200 pages of at most 100 products: a bounded few megabytes.
  const productCache = new ProductListCache<ListProductsResponse>(opts.config.PRODUCT_CACHE_TTL_MS, 200);
  const catalogWatch = watchCatalog(opts.nats, productCache, opts.log);
  const subscriptions = new SubscriptionGate({
    perClient: opts.config.SUBSCRIPTIONS_PER_CLIENT,
    perProcess: opts.config.SUBSCRIPTIONS_PER_PROCESS,
    maxDurationMs: opts.config.SUBSCRIPTION_MAX_MS,
  });
  const yoga = createYoga<{ viewer: Caller | null }, GraphQLContext>({
    schema: createSchema<GraphQLContext>({
      typeDefs,
      resolvers: [{ Cents }, productResolvers, cartResolvers, userResolvers, orderResolvers, reportResolvers],
    }),
    // Refused at parse and validation, before any resolver runs (limits.ts).
    plugins: [...limitPlugins({ introspection: opts.config.GRAPHQL_INTROSPECTION, ...(opts.limits ? { limits: opts.limits } : {}) }), subscriptions.plugin()],
    graphqlEndpoint: '/graphql',
    graphiql: opts.config.GRAPHIQL,
    // Served from here (assets under /graphql/graphiql/), not from a CDN a closed network cannot reach.
    renderGraphiQL,
    maskedErrors: { maskError: maskError(opts.log) },
    logging: {
      debug: (...args) => opts.log.debug({ args }, 'yoga'),
      info: (...args) => opts.log.info({ args }, 'yoga'),
      warn: (...args) => opts.log.warn({ args }, 'yoga'),
      // yoga reports every error a resolver threw. A client's mistake (a domain error) is
      // answered with its code and is no fault of the server; an unexpected one has already
      // been logged by maskError, with the reference the client got. Anything else is ours.
      error: (...args) => (args[0] instanceof GraphQLError ? opts.log.debug({ args }, 'yoga') : opts.log.error({ args }, 'yoga')),
    },
    context: ({ request, viewer }) => {
      const correlationId = request.headers.get('x-request-id') ?? randomUUID();
      return {
        request,
        viewer,
        clients: opts.clients,
        loaders: createLoaders(opts.clients),
        config: opts.config,
        productCache,
        log: opts.log.child({ correlationId }),
        nats: opts.nats,
        ...(opts.revocations ? { revocations: opts.revocations } : {}),
        callMetadata: callMetadataOf(request, viewer, correlationId),
        asShop: async () => ({ ...callMetadataOf(request, null, correlationId), ...(opts.identity ? await opts.identity.metadata() : {}) }),
      };
    },
  });

  const app = new Hono<{ Variables: { viewer: Caller | null } }>();
  app.get('/healthz', (c) => c.json({ status: 'ok' }));
  // The access tokens' public keys, for Envoy's jwt_authn and any other verifier.
  app.get('/.well-known/jwks.json', async (c) => {
    try {
      const { jwksJson } = await opts.clients.userCommand.getJwks({});
      return c.body(jwksJson, 200, { 'content-type': 'application/json', 'cache-control': 'public, max-age=300' });
    } catch (err) {
      // user-command is down: a verifier should keep the keys it has and ask again (503), not
      // take the set as broken (500).
      opts.log.warn({ err }, 'the access-token keys could not be read from user-command');
      return c.json({ error: 'the keys are unavailable; retry later' }, 503, { 'retry-after': '5', 'cache-control': 'no-store' });
    }
  });
  if (opts.config.GRAPHIQL) {
    app.route(graphiqlAssetsPath, graphiqlAssets());
    app.use('/graphql', graphiqlPageHeaders());
  }
  // A GraphQL request is a few kilobytes; anything much larger is refused before it is parsed.
  app.use(
    '/graphql',
    bodyLimit({
      maxSize: 64 * 1024,
      onError: (c) => c.json({ errors: [{ message: 'the request body is larger than 64 KiB', extensions: { code: 'PAYLOAD_TOO_LARGE' } }] }, 413),
    }),
  );
  app.use('/graphql', viewerMiddleware(opts.verifier));
  app.on(['GET', 'POST', 'OPTIONS'], '/graphql', (c) => yoga.fetch(c.req.raw, { viewer: c.get('viewer') }));
  return Object.assign(app, {
    productCache,
    stopWatchingCatalog: () => catalogWatch.stop(),
    /** Completes every open subscription (SSE stream) and refuses new ones: at shutdown. Resolves once all have ended. */
    endSubscriptions: () => subscriptions.endAll(),
    subscriptions,
  });
}
