/**
 * A process as every gRPC service's main wires it (runProcess, openPostgres, serveGrpc),
 * for health.int.spec.ts: what its health service says comes from that wiring alone.
 */
import { z } from 'zod';
import { callerAuthEnv } from '../auth/config.js';
import { baseEnv, grpcServerEnv, postgresEnv } from '../config.js';
import { openPostgres } from '../postgres/process.js';
import { runProcess } from '../process.js';
import { serveGrpc } from './server.js';

const schema = z.object({ ...baseEnv, ...grpcServerEnv, ...callerAuthEnv, ...postgresEnv });

await runProcess('health-fixture', schema, async (ctx) => {
  await openPostgres(ctx);
  await serveGrpc(ctx, []);
});
