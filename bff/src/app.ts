import { GraphQLError } from 'graphql';
import { readFileSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { Hono } from 'hono';
import { createSchema, createYoga } from 'graphql-yoga';
import type { NatsConnection } from 'nats';
import type { Logger } from '@shop/platform/log';
import type { Caller, TokenVerifier } from '@shop/platform/auth';
import { viewerMiddleware } from './auth/viewer.js';
import type { Clients } from './clients/index.js';
import type { BffConfig } from './config.js';
import type { GraphQLContext } from './context.js';
import { maskError } from './errors.js';
import { createLoaders } from './loaders/index.js';
import { productResolvers } from './resolvers/product.js';
import { cartResolvers } from './resolvers/cart.js';
import { userResolvers } from './resolvers/user.js';

const typeDefs = readFileSync(new URL('./schema/schema.graphql', import.meta.url), 'utf8');

/** The BFF as a Hono app: GraphQL (and GraphiQL) at /graphql, liveness at /healthz. */
export function createApp(opts: {
  clients: Clients;
  nats: NatsConnection;
  verifier: TokenVerifier;
  config: Pick<BffConfig, 'ADMIN_API_KEY' | 'GRAPHIQL'>;
  log: Logger;
}) {
  const yoga = createYoga<{ viewer: Caller | null }, GraphQLContext>({
    schema: createSchema<GraphQLContext>({
      typeDefs,
      resolvers: [productResolvers, cartResolvers, userResolvers],
    }),
    graphqlEndpoint: '/graphql',
    graphiql: opts.config.GRAPHIQL,
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
        log: opts.log.child({ correlationId }),
        nats: opts.nats,
        callMetadata: {
          'x-correlation-id': correlationId,
          ...(request.headers.get('traceparent') ? { traceparent: request.headers.get('traceparent')! } : {}),
        },
      };
    },
  });

  const app = new Hono<{ Variables: { viewer: Caller | null } }>();
  app.get('/healthz', (c) => c.json({ status: 'ok' }));
  // The access tokens' public keys, for Envoy's jwt_authn and any other verifier.
  app.get('/.well-known/jwks.json', async (c) => {
    const { jwksJson } = await opts.clients.userCommand.getJwks({});
    return c.body(jwksJson, 200, { 'content-type': 'application/json', 'cache-control': 'public, max-age=300' });
  });
  app.use('/graphql', viewerMiddleware(opts.verifier));
  app.on(['GET', 'POST', 'OPTIONS'], '/graphql', (c) => yoga.fetch(c.req.raw, { viewer: c.get('viewer') }));
  return app;
}
