/**
 * Where things run in a container deployment (docker-compose.yml and k8s/), as the Envoy
 * generator sees it, derived from the process catalog (tools/catalog/catalog.ts).
 *
 * Unlike the local stack (tools/stack/topology.ts), every process has its own network
 * namespace here, so every gRPC service listens on the same ports and nothing moves
 * with SHOP_PORT_OFFSET: the rendered files must not depend on the environment of
 * whoever renders them. Only the Envoy next to a caller needs one port per service
 * (one egress listener each, on the pod's loopback); those keep the local stack's
 * numbers so that "product via Envoy is 21051" holds everywhere.
 */
import type { EnvoyTopology, GrpcRoute } from '@shop/envoy';
import { ACCESS_TOKEN_AUDIENCE, ACCESS_TOKEN_ISSUER } from '@shop/platform/auth';
import { catalog, containerPorts, grpcProcesses, processes } from '../catalog/catalog.js';

export { containerPorts };

export interface DeployedGrpcService {
  /** Process, Service and Envoy cluster name; the Kubernetes Service and compose service are named so. */
  name: string;
  /** Envoy egress listener callers reach this service through (127.0.0.1:PORT in a caller's pod). */
  envoyPort: number;
  /** Route deadline when the caller sets none (generator default: 10 s). */
  timeoutMs?: number;
  /** Whether the BFF has a client of it (in the bff entry's calls); its Envoy routes to every service regardless. */
  calledByBff: boolean;
}

/** Every gRPC service of the catalog. */
export const deployedGrpcServices: DeployedGrpcService[] = grpcProcesses().map((s) => ({
  name: s.name,
  envoyPort: s.localPorts.envoy!,
  ...(s.route?.timeoutMs === undefined ? {} : { timeoutMs: s.route.timeoutMs }),
  calledByBff: (catalog.bff.calls as string[]).includes(s.name),
}));

/**
 * Access tokens the Envoy edge checks (jwt_authn; keys from the BFF's
 * /.well-known/jwks.json): the issuer and audience set once in the platform, which
 * user-command signs with and every verifier checks.
 */
export const edgeJwt = { issuer: ACCESS_TOKEN_ISSUER, audience: ACCESS_TOKEN_AUDIENCE } as const;

/**
 * Processes other than the BFF that call gRPC services, and which ones (their catalog
 * "calls"). In Kubernetes each gets an Envoy sidecar of its own with one egress listener
 * per callee, on the same port as in the BFF pod (product: 127.0.0.1:21051), so every
 * service-to-service call goes through Envoy as the design says. Its config:
 * k8s/base/<caller>/envoy.yaml.
 */
export const serviceCallers: Record<string, string[]> = Object.fromEntries(
  processes()
    .filter((p) => p.kind !== 'bff' && (p.calls ?? []).length > 0)
    .map((p) => [p.name, p.calls!]),
);

const routes = (services = deployedGrpcServices): GrpcRoute[] =>
  services.map((s) => ({
    name: s.name,
    listenPort: s.envoyPort,
    // The service's DNS name: a headless Service in Kubernetes (one Envoy host per pod),
    // the compose service name under compose.
    upstream: { host: s.name, port: containerPorts.grpc },
    ...(s.timeoutMs === undefined ? {} : { timeoutMs: s.timeoutMs }),
  }));

/**
 * The Envoy sidecar in the BFF pod: the edge in front of the BFF container (same pod,
 * so 127.0.0.1 — not "localhost", which may resolve to ::1 while the BFF listens on
 * IPv4 only) and one egress listener per service, resolved through cluster DNS.
 */
export function kubernetesEnvoyTopology(): EnvoyTopology {
  return {
    listenHost: '0.0.0.0',
    // The egress listeners are for the BFF next to it: nothing outside the pod may call a
    // service through them (it would bypass the edge).
    egressHost: '127.0.0.1',
    adminPort: containerPorts.envoyAdmin,
    edgePort: containerPorts.edge,
    bff: { host: '127.0.0.1', port: containerPorts.bff },
    grpc: routes(),
    dns: true,
    jwt: { ...edgeJwt },
  };
}

/**
 * The Envoy sidecar of a calling service: egress listeners only, on the pod's loopback
 * (nothing outside the pod has a reason to use them). The generator always renders an
 * edge in front of a BFF; tools/deploy/envoy-configs.ts drops those two parts again.
 */
export function sidecarEnvoyTopology(caller: string): EnvoyTopology {
  const callees = serviceCallers[caller];
  if (!callees) throw new Error(`${caller} is not in serviceCallers`);
  const services = callees.map((name) => {
    const s = deployedGrpcServices.find((x) => x.name === name);
    if (!s) throw new Error(`${caller} calls ${name}, which is not in deployedGrpcServices`);
    return s;
  });
  // No edge in a sidecar, hence no token check either.
  const { jwt: _edgeOnly, ...egress } = kubernetesEnvoyTopology();
  return { ...egress, listenHost: '127.0.0.1', egressHost: '127.0.0.1', grpc: routes(services) };
}

/**
 * Envoy as its own compose service: the BFF and the services are compose DNS names, and
 * the egress listeners must be reachable from the other containers (only the edge port is
 * published on the host).
 */
export function composeEnvoyTopology(): EnvoyTopology {
  return { ...kubernetesEnvoyTopology(), egressHost: '0.0.0.0', bff: { host: 'bff', port: containerPorts.bff } };
}
