import { serve } from '@hono/node-server';
import { openNats } from '@shop/platform/nats';
import { runProcess } from '@shop/platform/process';
import { ACCESS_TOKEN_AUDIENCE, ACCESS_TOKEN_ISSUER, createTokenVerifier } from '@shop/platform/auth';
import { createServiceIdentity } from '@shop/platform/auth/caller';
import { followRevocations, Revocations, revocationsReadiness } from '@shop/platform/auth/revocations';
import { configSchema } from './config.js';
import { createClients } from './clients/index.js';
import { createApp } from './app.js';

await runProcess('bff', configSchema, async (ctx) => {
  const { config, log, lifecycle, readiness } = ctx;
  const clients = createClients(
    {
      product: config.PRODUCT_GRPC_ADDR,
      cartCommand: config.CART_COMMAND_GRPC_ADDR,
      cartQuery: config.CART_QUERY_GRPC_ADDR,
      userCommand: config.USER_COMMAND_GRPC_ADDR,
      userQuery: config.USER_QUERY_GRPC_ADDR,
      order: config.ORDER_GRPC_ADDR,
      reports: config.REPORTS_GRPC_ADDR,
    },
    { defaultMs: config.GRPC_TIMEOUT_MS, passwordMs: config.GRPC_PASSWORD_TIMEOUT_MS },
  );
  lifecycle.onShutdown('grpc-clients', () => clients.close());
  const nats = await openNats(ctx);
  const identity = createServiceIdentity({ name: 'bff', key: config.SERVICE_TOKEN_KEY });
  // Deleted accounts' tokens, refused at once (the edge only checks signatures). Not ready
  // until the first listing succeeds, so that a new replica does not serve the tokens of
  // accounts deleted before it started; ready anyway after 30 s without user-command, with
  // a warning, rather than keep the shop down. ListRevocations answers by pages of 5,000.
  const revocations = new Revocations();
  const following = followRevocations({
    nats,
    revocations,
    log,
    list: async (since) => clients.userCommand.listRevocations({ since }, { metadata: await identity.metadata() }),
  });
  readiness.add(revocationsReadiness(following.primed, log));
  lifecycle.own('revocations', following);
  const verifier = createTokenVerifier({
    issuer: ACCESS_TOKEN_ISSUER,
    audience: ACCESS_TOKEN_AUDIENCE,
    fetchJwks: async () => JSON.parse((await clients.userCommand.getJwks({})).jwksJson),
    onRefreshError: (err) => log.warn({ err }, 'the access token keys could not be refreshed: the last good ones are still used'),
    revocations,
  });
  const app = createApp({ clients, nats, verifier, revocations, identity, config, log });
  const server = serve({ fetch: app.fetch, port: config.PORT, hostname: config.LISTEN_HOST }) as import('node:http').Server;
  // Longer than Envoy's idle timeout for its connections to us (50 s): Envoy closes an idle
  // connection first, so it never reuses one we are closing (a reset under load otherwise).
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;
  await new Promise<void>((resolve, reject) => {
    server.once('listening', resolve);
    server.once('error', reject);
  });
  log.info({ port: config.PORT }, 'GraphQL listening at /graphql');
  lifecycle.onShutdown(
    'http',
    () =>
      new Promise<void>((resolve) => {
        // server.close closes the connections idle at that moment only; a connection whose
        // last response (a subscription just completed) is still finishing becomes idle a
        // moment later and would otherwise stay open until the client drops it.
        const sweep = setInterval(() => server.closeIdleConnections(), 100);
        server.close(() => {
          clearInterval(sweep);
          resolve();
        });
      }),
  );
  // Registered last, so run first: an open SSE stream would keep server.close waiting until
  // the forced exit. Completed streams tell their clients to subscribe again (elsewhere).
  lifecycle.onShutdown('subscriptions', () => app.endSubscriptions());
});
