import { loadDescriptorSet } from '@shop/contracts/descriptors';
import type { Logger } from '@shop/platform/log';
import { createMetrics } from '@shop/platform/metrics';
import type { CallerAuthenticator } from '@shop/platform/auth/caller';
import { startGrpcServer, type GrpcServer, type ServiceBinding } from '@shop/platform/grpc/server';

/** The real gRPC server (health, reflection, error mapping, caller verification if given) on a free loopback port. */
export function serveGrpc(services: ServiceBinding[], log: Logger, name: string, authenticate?: CallerAuthenticator): Promise<GrpcServer> {
  return startGrpcServer({ port: 0, host: '127.0.0.1', services, descriptorSet: loadDescriptorSet(), log, registry: createMetrics(name), ...(authenticate ? { authenticate } : {}) });
}
