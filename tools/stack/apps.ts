/**
 * Application processes of the local stack, started by `npm run stack -- up` after the
 * infrastructure: the services, the BFF, then Envoy in front of them. Every port comes
 * from topology.ts; every process gets its configuration as environment variables,
 * exactly as in a container.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { defaultEdgeLimits, renderEnvoyConfig, type EnvoyTopology } from '@shop/envoy';
import { envoyBinary } from './install/envoy.js';
import { type ProcessSpec } from './supervisor.js';
import { bffHttpMetricsPort, bffPort, grpcServices, infraPorts, repoRoot, stackDir, urls, workers } from './topology.js';
import { seedDemoCatalog } from './seed.js';
import { edgeJwt } from '../deploy/topology.js';
import { DEV_SIGNING_KEY_ID, devAccessTokenJwks, devServiceTokenKey, devSigningKey } from './dev-secrets.js';
import { ensureServiceDatabase, serviceDatabaseUrl } from './service-databases.js';

/** The admin secret of the local stack (override with SHOP_ADMIN_API_KEY). Not a production secret. */
export const adminApiKey = process.env.SHOP_ADMIN_API_KEY ?? 'local-admin-key-change-me';

/** A charge of exactly this amount is declined by the local stack's mock gateway (a "test card"; see services/payment). */
export const paymentDeclineAmountCents = 1313;

/**
 * How long an order of the local stack waits for its stock and payment. Long enough for a
 * burst of checkouts on a loaded two-core machine; the order service's tests use a short one.
 */
const checkoutTimeoutMs = 60_000;

/**
 * How long a query process waits for min_version. The default (2 s) suits a cluster; the local stack runs
 * every process and the whole test suite on two cores, where a projector can lag longer. Below Envoy's 10 s
 * route timeout, so the caller gets the query's answer rather than Envoy's.
 */
const readYourWritesWaitMs = '8000';

const service = (name: string) => {
  const s = grpcServices.find((x) => x.name === name);
  if (!s) throw new Error(`unknown service ${name}`);
  return s;
};

/** `/readyz` of a process's ops server answers 200. */
const httpReady = (port: number, pathname = '/readyz') => async () => {
  const res = await fetch(`http://127.0.0.1:${port}${pathname}`);
  if (!res.ok) throw new Error(`${pathname} answered ${res.status}: ${await res.text()}`);
};

function nodeProcess(name: string, entry: string, env: Record<string, string>, ports: number[], httpPort: number): ProcessSpec {
  return {
    name,
    command: process.execPath,
    args: ['--enable-source-maps', '--import', 'tsx', entry],
    cwd: repoRoot,
    // SHOP_ENVIRONMENT: the local stack's defaults (admin key, database passwords) are for development only.
    env: { NODE_ENV: 'development', SHOP_ENVIRONMENT: 'development', LOG_LEVEL: process.env.LOG_LEVEL ?? 'info', HTTP_PORT: String(httpPort), ...env },
    ports: [...ports, httpPort],
    ready: httpReady(httpPort),
    readyTimeoutMs: 60_000,
  };
}

/** The topology Envoy is generated from for the local stack. */
export function localEnvoyTopology(): EnvoyTopology {
  return {
    listenHost: '127.0.0.1',
    adminPort: infraPorts.envoyAdmin,
    edgePort: infraPorts.envoyEdge,
    bff: { host: '127.0.0.1', port: bffPort },
    grpc: grpcServices
      .filter((s) => implemented.includes(s.name))
      .map((s) => ({ name: s.name, listenPort: s.envoyPort, upstream: { host: '127.0.0.1', port: s.grpcPort } })),
    jwt: { ...edgeJwt },
    // Every test and benchmark is one client here (127.0.0.1), so it gets the share of many.
    edgeLimits: { ...defaultEdgeLimits, perClient: { maxTokens: 1000, tokensPerFill: 500, fillIntervalMs: 1000 } },
  };
}

/** Services with a process today; the others join as they are built. */
const implemented = ['product', 'order', 'payment', 'reports', 'cart-command', 'cart-query', 'user-command', 'user-query'];

/** What a service needs to verify its callers (platform auth/config.ts). */
const callerAuth = () => ({ AUTH_JWKS: devAccessTokenJwks(), SERVICE_TOKEN_KEY: devServiceTokenKey() });

export function envoySpec(topology: EnvoyTopology, name = 'envoy'): ProcessSpec {
  const configFile = path.join(stackDir, 'envoy', `${name}.yaml`);
  return {
    name,
    command: envoyBinary(),
    args: ['-c', configFile, '--use-dynamic-base-id', '--log-level', 'warn', '--drain-time-s', '2'],
    cwd: repoRoot,
    ports: [topology.edgePort, topology.adminPort, ...topology.grpc.map((g) => g.listenPort)],
    prepare: async () => {
      mkdirSync(path.dirname(configFile), { recursive: true });
      writeFileSync(configFile, renderEnvoyConfig(topology));
    },
    ready: async () => {
      const res = await fetch(`http://127.0.0.1:${topology.adminPort}/ready`);
      if (!res.ok) throw new Error(`envoy /ready answered ${res.status}`);
    },
  };
}

export async function appSpecs(): Promise<ProcessSpec[]> {
  const product = service('product');
  const cartCommand = service('cart-command');
  const cartQuery = service('cart-query');
  const userCommand = service('user-command');
  const userQuery = service('user-query');
  const order = service('order');
  const payment = service('payment');
  const reports = service('reports');
  const via = (s: { envoyPort: number }) => `127.0.0.1:${s.envoyPort}`;
  const kafka = urls.kafkaBrokers.join(',');
  // Each service's processes connect as that database's own role, never as the superuser.
  await ensureServiceDatabase('product');
  await ensureServiceDatabase('cart');
  await ensureServiceDatabase('user');
  await ensureServiceDatabase('order');
  await ensureServiceDatabase('payment');
  await ensureServiceDatabase('reports');
  return [
    nodeProcess('product', 'services/product/src/main.ts', { GRPC_PORT: String(product.grpcPort), DATABASE_URL: serviceDatabaseUrl('product'), KAFKA_BROKERS: kafka, NATS_URL: urls.nats, ...callerAuth() }, [product.grpcPort], product.httpPort),
    nodeProcess(
      'cart-command',
      'services/cart/src/command/main.ts',
      // The product lookup goes through Envoy, like every service-to-service call.
      { GRPC_PORT: String(cartCommand.grpcPort), DATABASE_URL: serviceDatabaseUrl('cart'), KAFKA_BROKERS: kafka, PRODUCT_GRPC_ADDR: via(product), ...callerAuth() },
      [cartCommand.grpcPort],
      cartCommand.httpPort,
    ),
    nodeProcess(
      'cart-projector',
      'services/cart/src/projector/main.ts',
      { DATABASE_URL: serviceDatabaseUrl('cart'), KAFKA_BROKERS: kafka, NATS_URL: urls.nats },
      [],
      workers['cart-projector'].httpPort,
    ),
    nodeProcess('cart-query', 'services/cart/src/query/main.ts', { GRPC_PORT: String(cartQuery.grpcPort), DATABASE_URL: serviceDatabaseUrl('cart'), MIN_VERSION_WAIT_MS: readYourWritesWaitMs, ...callerAuth() }, [cartQuery.grpcPort], cartQuery.httpPort),
    nodeProcess(
      'user-command',
      'services/user/src/command/main.ts',
      {
        GRPC_PORT: String(userCommand.grpcPort),
        DATABASE_URL: serviceDatabaseUrl('user'),
        KAFKA_BROKERS: kafka,
        NATS_URL: urls.nats,
        JWT_PRIVATE_KEY: devSigningKey(),
        JWT_KEY_ID: DEV_SIGNING_KEY_ID,
        SERVICE_TOKEN_KEY: devServiceTokenKey(),
        // Every test and benchmark is one client here (127.0.0.1), as at the edge (localEnvoyTopology).
        REGISTRATIONS_PER_ADDRESS: '100000',
        SIGN_IN_FAILURES_PER_ADDRESS: '100000',
      },
      [userCommand.grpcPort],
      userCommand.httpPort,
    ),
    nodeProcess('user-projector', 'services/user/src/projector/main.ts', { DATABASE_URL: serviceDatabaseUrl('user'), KAFKA_BROKERS: kafka }, [], workers['user-projector'].httpPort),
    nodeProcess('user-query', 'services/user/src/query/main.ts', { GRPC_PORT: String(userQuery.grpcPort), DATABASE_URL: serviceDatabaseUrl('user'), MIN_VERSION_WAIT_MS: readYourWritesWaitMs, ...callerAuth() }, [userQuery.grpcPort], userQuery.httpPort),
    nodeProcess(
      'order',
      'services/order/src/main.ts',
      { GRPC_PORT: String(order.grpcPort), DATABASE_URL: serviceDatabaseUrl('order'), KAFKA_BROKERS: kafka, PRODUCT_GRPC_ADDR: via(product), CHECKOUT_TIMEOUT_MS: String(checkoutTimeoutMs), ...callerAuth() },
      [order.grpcPort],
      order.httpPort,
    ),
    nodeProcess(
      'payment',
      'services/payment/src/main.ts',
      { GRPC_PORT: String(payment.grpcPort), DATABASE_URL: serviceDatabaseUrl('payment'), KAFKA_BROKERS: kafka, ...callerAuth(), PAYMENT_DECLINE_AMOUNTS_CENTS: String(paymentDeclineAmountCents) },
      [payment.grpcPort],
      payment.httpPort,
    ),
    nodeProcess('reports', 'services/reports/src/main.ts', { GRPC_PORT: String(reports.grpcPort), DATABASE_URL: serviceDatabaseUrl('reports'), KAFKA_BROKERS: kafka, ...callerAuth() }, [reports.grpcPort], reports.httpPort),
    nodeProcess('notifications', 'services/notifications/src/main.ts', { KAFKA_BROKERS: kafka, NATS_URL: urls.nats }, [], workers.notifications.httpPort),
    // Before the BFF: the BFF is not ready until it has listed the access revocations from
    // user-command, through Envoy; Envoy's jwt_authn fetches the BFF's keys when it can.
    envoySpec(localEnvoyTopology()),
    nodeProcess(
      'bff',
      'bff/src/main.ts',
      {
        PORT: String(bffPort),
        PRODUCT_GRPC_ADDR: via(product),
        CART_COMMAND_GRPC_ADDR: via(cartCommand),
        CART_QUERY_GRPC_ADDR: via(cartQuery),
        USER_COMMAND_GRPC_ADDR: via(userCommand),
        USER_QUERY_GRPC_ADDR: via(userQuery),
        ORDER_GRPC_ADDR: via(order),
        REPORTS_GRPC_ADDR: via(reports),
        NATS_URL: urls.nats,
        ADMIN_API_KEY: adminApiKey,
        SERVICE_TOKEN_KEY: devServiceTokenKey(),
        // Off by default (config.ts); a developer's stack wants both.
        GRAPHIQL: 'true',
        GRAPHQL_INTROSPECTION: 'true',
      },
      [bffPort],
      bffHttpMetricsPort,
    ),
  ];
}

/** Loads the demo catalog (idempotent) and prints where everything is. */
export async function afterUp(): Promise<void> {
  const created = await seedDemoCatalog(urls.graphql, adminApiKey);
  console.log(`[stack] demo catalog: ${created} products added`);
  const rows = [
    ['GraphQL (Envoy edge)', urls.graphql],
    ['GraphiQL', urls.graphql],
    ['BFF direct', `http://127.0.0.1:${bffPort}/graphql`],
    ['Envoy admin', `http://127.0.0.1:${infraPorts.envoyAdmin}`],
    ...grpcServices
      .filter((s) => implemented.includes(s.name))
      .map((s) => [`${s.name} gRPC`, `127.0.0.1:${s.grpcPort} (via Envoy 127.0.0.1:${s.envoyPort}, metrics http://127.0.0.1:${s.httpPort}/metrics)`]),
    ['cart-projector', `metrics http://127.0.0.1:${workers['cart-projector'].httpPort}/metrics`],
    ['user-projector', `metrics http://127.0.0.1:${workers['user-projector'].httpPort}/metrics`],
    ['notifications', `metrics http://127.0.0.1:${workers.notifications.httpPort}/metrics`],
    ['Postgres', urls.postgres()],
    ['Kafka', urls.kafkaBrokers.join(',')],
    ['NATS', urls.nats],
    ['admin x-api-key', adminApiKey],
  ];
  const width = Math.max(...rows.map(([k]) => k!.length));
  console.log('\nShop is up:');
  for (const [k, v] of rows) console.log(`  ${k!.padEnd(width)}  ${v}`);
}
