import { loadDescriptorSet } from '@shop/contracts/descriptors';
import { callerAuthenticator, type CallerAuthConfig } from '../auth/config.js';
import type { CallerAuthenticator } from '../auth/caller.js';
import type { ProcessContext } from '../process.js';
import { startGrpcServer, type GrpcServer, type ServiceBinding } from './server.js';

/** What serveGrpc reads: spread `grpcServerEnv` (../auth/config.ts) into the process's schema. */
export type GrpcServerConfig = { GRPC_PORT: number; LISTEN_HOST: string };

/**
 * Serves `services` as every gRPC process does: on GRPC_PORT at LISTEN_HOST, with health
 * following the process's readiness, reflection, metrics, and callers verified with
 * AUTH_JWKS and SERVICE_TOKEN_KEY (or the `authenticate` given: user-command verifies
 * the tokens it issues with its own keys). Registered last by a main, its shutdown hook
 * runs first: the server stops taking calls and drains before anything it uses stops.
 */
export function serveGrpc(p: ProcessContext<GrpcServerConfig & CallerAuthConfig>, services: ServiceBinding[]): Promise<GrpcServer>;
export function serveGrpc(p: ProcessContext<GrpcServerConfig>, services: ServiceBinding[], opts: { authenticate: CallerAuthenticator }): Promise<GrpcServer>;
export async function serveGrpc(
  p: ProcessContext<GrpcServerConfig & Partial<CallerAuthConfig>>,
  services: ServiceBinding[],
  opts?: { authenticate: CallerAuthenticator },
): Promise<GrpcServer> {
  const { config } = p;
  const authenticate = opts?.authenticate ?? callerAuthenticator(config as CallerAuthConfig);
  const server = await startGrpcServer({
    port: config.GRPC_PORT,
    host: config.LISTEN_HOST,
    services,
    descriptorSet: loadDescriptorSet(),
    log: p.log,
    registry: p.registry,
    readiness: p.readiness,
    authenticate,
  });
  p.lifecycle.onShutdown('grpc', () => server.shutdown());
  return server;
}
