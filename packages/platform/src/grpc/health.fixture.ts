/**
 * A process as every gRPC service's main wires it (runProcess, a Postgres readiness check,
 * startGrpcServer given the process's readiness), for health.int.spec.ts: what its health
 * service says comes from that wiring alone.
 */
import { z } from 'zod';
import { loadDescriptorSet } from '@shop/contracts/descriptors';
import { baseEnv, env } from '../config.js';
import { createPool } from '../postgres/pool.js';
import { runProcess } from '../process.js';
import { startGrpcServer } from './server.js';

const schema = z.object({ ...baseEnv, GRPC_PORT: env.port(), DATABASE_URL: env.databaseUrl() });

await runProcess('health-fixture', schema, async ({ config, log, registry, lifecycle, readiness }) => {
  const pool = createPool({ url: config.DATABASE_URL, max: 2, log, application: 'health-fixture' });
  lifecycle.onShutdown('postgres', () => pool.end());
  readiness.add({ name: 'postgres', check: async () => void (await pool.query('SELECT 1')) });
  const server = await startGrpcServer({ port: config.GRPC_PORT, host: config.LISTEN_HOST, services: [], descriptorSet: loadDescriptorSet(), log, registry, readiness });
  lifecycle.onShutdown('grpc', () => server.shutdown());
});
