/**
 * The one place that knows the local stack's ports and paths.
 *
 * Infrastructure servers, the application processes and Envoy all take their ports
 * from here (the processes' numbers from the process catalog, tools/catalog/catalog.ts);
 * the Envoy config generator and the tests read it too. Every port can be moved with
 * SHOP_PORT_OFFSET (added to all of them) so that a second stack can run
 * beside the first on one machine.
 *
 * All ports sit below 32768, outside Linux's range for automatic outgoing ports
 * (ip_local_port_range), so that a client's own connection can never take a server's
 * port before the server binds it (seen with Kafka's broker-to-controller connection).
 */
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { catalog, grpcProcesses, processes, type Catalog, type ProcessName } from '../catalog/catalog.js';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

/** Everything installed or written at run time lives here (git-ignored). */
export const stackDir = process.env.SHOP_STACK_DIR ?? path.join(repoRoot, '.stack');

const offset = Number.parseInt(process.env.SHOP_PORT_OFFSET ?? '0', 10) || 0;
/** A catalog port of the local stack, moved by SHOP_PORT_OFFSET. */
export const localPort = (port: number) => port + offset;
const p = localPort;

export const infraPorts = {
  postgres: p(15432),
  kafka: p(19092),
  kafkaController: p(19093),
  nats: p(14222),
  natsMonitor: p(18222),
  ferretdb: p(17017),
  /** Kafka Connect's REST API (the Debezium relay, RELAY=debezium only). */
  kafkaConnect: p(18083),
  envoyEdge: p(8080),
  envoyAdmin: p(9901),
} as const;

export const pgUser = 'shop';
export const pgPassword = 'shop';
/** The OS user that owns the Postgres data directory (Postgres refuses to run as root). */
export const pgOsUser = 'shop-pg';

export const urls = {
  postgres: (database = 'postgres') =>
    `postgres://${pgUser}:${pgPassword}@127.0.0.1:${infraPorts.postgres}/${database}`,
  kafkaBrokers: [`127.0.0.1:${infraPorts.kafka}`],
  nats: `nats://127.0.0.1:${infraPorts.nats}`,
  graphql: `http://127.0.0.1:${infraPorts.envoyEdge}/graphql`,
};

/**
 * A gRPC service of the system: its own port, and the port of the Envoy listener
 * the BFF (and anyone else) calls it through.
 */
export interface GrpcServiceTopology {
  /** Envoy cluster name and process name. */
  name: string;
  /** Fully qualified gRPC services it serves (besides health and reflection). */
  services: string[];
  grpcPort: number;
  envoyPort: number;
  /** HTTP port for /metrics, /healthz and /readyz. */
  httpPort: number;
}

/** From the process catalog (tools/catalog/catalog.ts), in the order of their ports. */
export const grpcServices: GrpcServiceTopology[] = grpcProcesses().map((s) => ({
  name: s.name,
  services: s.services ?? [],
  grpcPort: p(s.localPorts.grpc!),
  envoyPort: p(s.localPorts.envoy!),
  httpPort: p(s.localPorts.ops),
}));

type WorkerName = { [K in ProcessName]: Catalog[K]['kind'] extends 'worker' ? K : never }[ProcessName];

/** Processes without a gRPC port of their own (consumers): their ops HTTP port. */
export const workers = Object.fromEntries(
  processes()
    .filter((x) => x.kind === 'worker')
    .map((x) => [x.name, { httpPort: p(x.localPorts.ops) }]),
) as { readonly [K in WorkerName]: { readonly httpPort: number } };

export const bffPort = p(catalog.bff.localPorts.http);
export const bffHttpMetricsPort = p(catalog.bff.localPorts.ops);
