import { serve } from '@hono/node-server';
import { runProcess } from '@shop/platform/process';
import { configSchema } from './config.js';
import { createClients } from './clients/index.js';
import { createApp } from './app.js';

await runProcess('bff', configSchema, async ({ config, log, lifecycle }) => {
  const clients = createClients({ productAddr: config.PRODUCT_GRPC_ADDR, timeoutMs: config.GRPC_TIMEOUT_MS });
  lifecycle.onShutdown('grpc-clients', () => clients.close());
  const app = createApp({ clients, config, log });
  const server = serve({ fetch: app.fetch, port: config.PORT, hostname: '0.0.0.0' });
  await new Promise<void>((resolve, reject) => {
    server.once('listening', resolve);
    server.once('error', reject);
  });
  log.info({ port: config.PORT }, 'GraphQL listening at /graphql');
  lifecycle.onShutdown('http', () => new Promise<void>((resolve) => server.close(() => resolve())));
});
