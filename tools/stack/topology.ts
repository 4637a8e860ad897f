/**
 * The one place that knows the local stack's ports and paths.
 *
 * Infrastructure servers, the application processes and Envoy all take their ports
 * from here; the Envoy config generator and the tests read it too. Every port can be
 * moved with SHOP_PORT_OFFSET (added to all of them) so that a second stack can run
 * beside the first on one machine.
 *
 * All ports sit below 32768, outside Linux's range for automatic outgoing ports
 * (ip_local_port_range), so that a client's own connection can never take a server's
 * port before the server binds it (seen with Kafka's broker-to-controller connection).
 */
import { fileURLToPath } from 'node:url';
import path from 'node:path';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

/** Everything installed or written at run time lives here (git-ignored). */
export const stackDir = process.env.SHOP_STACK_DIR ?? path.join(repoRoot, '.stack');

const offset = Number.parseInt(process.env.SHOP_PORT_OFFSET ?? '0', 10) || 0;
const p = (port: number) => port + offset;

export const infraPorts = {
  postgres: p(15432),
  kafka: p(19092),
  kafkaController: p(19093),
  nats: p(14222),
  natsMonitor: p(18222),
  ferretdb: p(17017),
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

export const grpcServices: GrpcServiceTopology[] = [
  { name: 'product', services: ['shop.product.v1.ProductService'], grpcPort: p(20051), envoyPort: p(21051), httpPort: p(9451) },
  { name: 'order', services: ['shop.order.v1.OrderService'], grpcPort: p(20052), envoyPort: p(21052), httpPort: p(9452) },
  { name: 'cart-command', services: ['shop.cart.v1.CartCommandService'], grpcPort: p(20053), envoyPort: p(21053), httpPort: p(9453) },
  { name: 'cart-query', services: ['shop.cart.v1.CartQueryService'], grpcPort: p(20054), envoyPort: p(21054), httpPort: p(9454) },
  { name: 'user-command', services: ['shop.user.v1.UserCommandService'], grpcPort: p(20055), envoyPort: p(21055), httpPort: p(9455) },
  { name: 'user-query', services: ['shop.user.v1.UserQueryService'], grpcPort: p(20056), envoyPort: p(21056), httpPort: p(9456) },
  { name: 'payment', services: ['shop.payment.v1.PaymentService'], grpcPort: p(20057), envoyPort: p(21057), httpPort: p(9457) },
  { name: 'reports', services: ['shop.reports.v1.ReportService'], grpcPort: p(20058), envoyPort: p(21058), httpPort: p(9458) },
];

/** Processes without a gRPC port of their own (consumers): their ops HTTP port. */
export const workers = {
  'cart-projector': { httpPort: p(9460) },
  'user-projector': { httpPort: p(9461) },
  notifications: { httpPort: p(9462) },
} as const;

export const bffPort = p(4000);
export const bffHttpMetricsPort = p(9440);
