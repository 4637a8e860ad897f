/**
 * A process as every gRPC service's main wires it (runProcess, openPostgres, serveGrpc),
 * for health.int.spec.ts: what its health service says comes from that wiring alone.
 */
import { z } from 'zod';
import { grpcServerEnv } from '../auth/config.js';
import { baseEnv, postgresEnv } from '../config.js';
import { openPostgres } from '../postgres/process.js';
import { runProcess } from '../process.js';
import { serveGrpc } from './serve.js';

const schema = z.object({ ...baseEnv, ...grpcServerEnv, ...postgresEnv });

await runProcess('health-fixture', schema, async (p) => {
  await openPostgres(p);
  await serveGrpc(p, []);
});
