/**
 * The process catalog: every process of Shop, once. The local supervisor
 * (tools/stack/apps.ts), the Envoy configs, docker-compose.yml, k8s/base/<process>/ and the
 * NetworkPolicies are generated or derived from these entries (tools/catalog/generated.ts;
 * `npm run generate:deploy` writes them and a spec fails when a committed file drifts).
 *
 * What an entry says and what follows from it:
 * - kind: the shape of its Deployment (probes, Service, label app.kubernetes.io/component);
 * - database: DATABASE_URL (its own role, never the superuser), the Secret with its password,
 *   DATABASE_POOL_MAX and a Postgres egress rule;
 * - uses: KAFKA_BROKERS / NATS_URL, compose depends_on and egress rules;
 * - calls: <CALLEE>_GRPC_ADDR through Envoy in every target, an Envoy sidecar with one egress
 *   listener per callee (the BFF's Envoy is the edge and has a listener for every service),
 *   and egress rules to the callees;
 * - env: what is particular to the process, per target where the targets differ.
 *
 * The entries are in the local stack's order; it starts them in waves (tools/stack/apps.ts
 * startWave): the services and workers at once, then Envoy, then the BFF (ready only once
 * it has listed user-command's revocations through Envoy).
 */

export type Kind = 'grpc-service' | 'worker' | 'bff';
export type Infra = 'postgres' | 'kafka' | 'nats';
/** The local stack (tools/stack), docker-compose.yml, k8s/base. */
export type Target = 'local' | 'compose' | 'k8s';
/** A value per target; a target without one gets no variable (the process's default applies). */
export type PerTarget = Partial<Record<Target | 'container', string>>;
export type EnvValue = string | PerTarget;

/** A secret a process reads; its value per target comes from `secrets` below. */
export type SecretName = keyof typeof secrets;

export interface Resources {
  requests: { cpu: string; memory: string };
  limits: { cpu: string; memory: string };
}

export interface ProcessEntry {
  /** Source entry point; containers run containerArgs(entry) (tools/deploy/image.ts). */
  entry: string;
  kind: Kind;
  /** One line for the generated files' comments: what the process does. */
  summary: string;
  /** Fully qualified gRPC services it serves (besides health and reflection). */
  services?: string[];
  /**
   * Ports of the local stack (all move with SHOP_PORT_OFFSET). grpc and envoy for a gRPC
   * service: its own port and the Envoy listener callers reach it through (the same listener
   * number in containers, "product via Envoy is 21051" everywhere); http for the BFF's
   * GraphQL; ops for /metrics, /healthz and /readyz.
   */
  localPorts: { grpc?: number; envoy?: number; http?: number; ops: number };
  /** The service database (one role shop_<database> each, k8s/base/postgres/init-databases.sql). */
  database?: string;
  uses: Infra[];
  /** gRPC services it calls, always through Envoy. */
  calls?: string[];
  secrets?: SecretName[];
  env?: Record<string, EnvValue>;
  /** Compose: processes that must have started first (a query's /readyz waits for the read model its projector creates). */
  startsAfter?: string[];
  /** Envoy route deadline when the caller sets none (generator default: 10 s). */
  route?: { timeoutMs?: number };
  replicas?: number;
  resources?: Resources;
}

/**
 * How much each container may take, the same in compose and Kubernetes. The heap limit
 * (NODE_OPTIONS) sits below the memory limit, so the process fails with a heap error it
 * can log rather than an OOM kill.
 */
export const defaults = {
  replicas: 1,
  resources: { requests: { cpu: '50m', memory: '128Mi' }, limits: { cpu: '500m', memory: '384Mi' } } satisfies Resources,
  heapMb: 256,
  /**
   * V8's young generation, per semi-space (NODE_OPTIONS --max-semi-space-size, every target,
   * the local stack too). V8 grows it to 16 MB under load and keeps it: 32 MB of an idle
   * process's heap held by its two halves. At 4 MB an idle cart-command was 24 MB smaller;
   * the command path measured the same (bench/append-rate.ts, ChangeQuantity: 947/s with
   * 16 MB, 1,005/s with 4 MB, within the run-to-run noise).
   */
  semiSpaceMb: 4,
  /** Small pools: many processes share one Postgres (postgres.maxConnections). */
  databasePoolMax: 5,
  /** The Envoy next to a caller (or the compose Envoy): it only forwards. */
  envoyResources: { requests: { cpu: '25m', memory: '32Mi' }, limits: { cpu: '250m', memory: '128Mi' } } satisfies Resources,
};

/**
 * Health checks of every process, on its ops port (HTTP_PORT): /readyz answers 200 when its
 * checks pass (the local supervisor, compose and Kubernetes wait for it; 503 as soon as
 * shutdown begins), /healthz whether the process runs (liveness: a database outage must not
 * restart every pod into a crash loop, and gRPC health follows readiness). The start-up
 * check depends on the kind: a gRPC service answers the standard gRPC health service (with
 * time for migrations and for Postgres and Kafka to come up first), the BFF its GraphQL
 * port itself (the ops server starts first); a worker exits when it cannot reach its
 * infrastructure, so it needs none.
 */
export const health = {
  readinessPath: '/readyz',
  livenessPath: '/healthz',
  startup: {
    'grpc-service': { probe: 'grpc', periodSeconds: 2, failureThreshold: 90 },
    bff: { probe: 'http', path: '/healthz', periodSeconds: 1, failureThreshold: 60 },
    worker: undefined,
  },
  /** Seconds a process waits after it stops being ready before it stops taking calls (endpoint removal reaching Envoy). */
  preStopSeconds: 5,
} as const satisfies { startup: Record<Kind, unknown> } & Record<string, unknown>;

/** Infrastructure settings the generated manifests and the checks share. */
export const infrastructure = {
  postgres: { port: 5432, maxConnections: 200 },
  kafka: { port: 9092 },
  nats: { port: 4222 },
} as const;

/** Ports inside every container (the same in compose and in Kubernetes). */
export const containerPorts = {
  /** GRPC_PORT of every gRPC service. */
  grpc: 50051,
  /** HTTP_PORT of every process: /metrics, /healthz, /readyz. */
  ops: 9090,
  /** PORT of the BFF (GraphQL), reached through the Envoy edge. */
  bff: 4000,
  /** The public edge (Envoy), published on the host as 8080 too. */
  edge: 8080,
  /** Envoy admin; bound to 127.0.0.1 by the generator, never exposed. */
  envoyAdmin: 9901,
} as const;

/**
 * Secrets: a Secret key in Kubernetes (REPLACE ME in k8s/base/kustomization.yaml, development
 * values in the minikube overlay), a compose variable with a development-only default (so
 * `docker compose up` needs no hand-made environment; SHOP_ENVIRONMENT=development there), and
 * in the local stack a value tools/stack/dev-secrets.ts generates under .stack/secrets.
 */
export const secrets = {
  /** Signs the shop's own calls (the BFF's for an administrator, the order service's stock moves). */
  SERVICE_TOKEN_KEY: { k8s: { secret: 'service-auth', key: 'SERVICE_TOKEN_KEY' }, compose: { variable: 'SERVICE_TOKEN_KEY', development: 'development-only-service-token-key-compose' } },
  /** The public half of user-command's signing key, which the services verify customers' tokens with. */
  AUTH_JWKS: { k8s: { secret: 'service-auth', key: 'AUTH_JWKS' }, compose: { variable: 'AUTH_JWKS', developmentFile: 'k8s/overlays/minikube/development-only/auth-jwks.json' } },
  /**
   * user-command's access-token signing key, never generated at start: a key made up at start
   * would change on every restart and log everyone out. Compose's default is the minikube
   * overlay's development-only PEM, written as a one-line JWK with the kid AUTH_JWKS gives its
   * public half (tools/catalog/env.ts; generating stops if the two files are not one key pair).
   */
  JWT_PRIVATE_KEY: {
    k8s: { secret: 'user-command-secrets', key: 'JWT_PRIVATE_KEY', optional: true },
    compose: {
      variable: 'JWT_PRIVATE_KEY',
      developmentJwkOf: { pem: 'k8s/overlays/minikube/development-only/jwt-private-key.pem', jwks: 'k8s/overlays/minikube/development-only/auth-jwks.json' },
    },
  },
  /** The key id of JWT_PRIVATE_KEY (compose's JWK carries its own kid). */
  JWT_KEY_ID: { k8s: { secret: 'user-command-secrets', key: 'JWT_KEY_ID', optional: true } },
  /** The development default is the local stack's too (tools/stack/apps.ts adminApiKey). */
  ADMIN_API_KEY: { k8s: { secret: 'bff-secrets', key: 'ADMIN_API_KEY' }, compose: { variable: 'SHOP_ADMIN_API_KEY', development: 'local-admin-key-change-me' } },
} as const satisfies Record<string, SecretSource>;

export interface SecretSource {
  k8s: { secret: string; key: string; optional?: boolean };
  /**
   * Compose's variable and its development-only default: a literal, a file's content, or a
   * private key file as a JWK with the kid its public half has in a JWKS file.
   */
  compose?: { variable: string; development?: string; developmentFile?: string; developmentJwkOf?: { pem: string; jwks: string } };
}

/** Verifying callers (README, "Security model"): every gRPC service but user-command, which issues the tokens. */
const callerAuth: SecretName[] = ['SERVICE_TOKEN_KEY', 'AUTH_JWKS'];

/**
 * How long a query process waits for min_version. The default (2 s) suits a cluster; the local
 * stack runs every process and the whole test suite on two cores, where a projector can lag
 * longer. Below Envoy's 10 s route timeout, so the caller gets the query's answer rather than Envoy's.
 */
const readYourWritesWaitMs = { local: '8000' };

/** A charge of exactly this amount is declined by the mock gateway of the local stack and compose (a "test card"; see services/payment). */
export const paymentDeclineAmountCents = 1313;

export const catalog = {
  product: {
    entry: 'services/product/src/main.ts',
    kind: 'grpc-service',
    summary: 'the catalog and stock (CRUD on its own database, outbox relay to Kafka, CatalogChanged on NATS for the BFF cache)',
    services: ['shop.product.v1.ProductService'],
    localPorts: { grpc: 20051, envoy: 21051, ops: 9451 },
    database: 'product',
    uses: ['postgres', 'kafka', 'nats'],
    secrets: callerAuth,
  },
  'cart-command': {
    entry: 'services/cart/src/command/main.ts',
    kind: 'grpc-service',
    summary: "the cart's command side over its event store, with the relay of that store to Kafka",
    services: ['shop.cart.v1.CartCommandService'],
    localPorts: { grpc: 20053, envoy: 21053, ops: 9453 },
    database: 'cart',
    uses: ['postgres', 'kafka'],
    calls: ['product'],
    secrets: callerAuth,
  },
  'cart-projector': {
    entry: 'services/cart/src/projector/main.ts',
    kind: 'worker',
    summary: "consumes the cart's events, writes the read model cart-query serves, announces changes on NATS",
    localPorts: { ops: 9460 },
    database: 'cart',
    uses: ['postgres', 'kafka', 'nats'],
  },
  'cart-query': {
    entry: 'services/cart/src/query/main.ts',
    kind: 'grpc-service',
    summary: "serves the cart read model",
    services: ['shop.cart.v1.CartQueryService'],
    localPorts: { grpc: 20054, envoy: 21054, ops: 9454 },
    database: 'cart',
    uses: ['postgres'],
    secrets: callerAuth,
    env: { MIN_VERSION_WAIT_MS: readYourWritesWaitMs },
    startsAfter: ['cart-projector'],
  },
  'user-command': {
    entry: 'services/user/src/command/main.ts',
    kind: 'grpc-service',
    summary: 'registration, sign-in and token issuance over the user event store, with its relay to Kafka; verification mails go out on NATS',
    services: ['shop.user.v1.UserCommandService'],
    localPorts: { grpc: 20055, envoy: 21055, ops: 9455 },
    database: 'user',
    uses: ['postgres', 'kafka', 'nats'],
    secrets: ['SERVICE_TOKEN_KEY', 'JWT_PRIVATE_KEY', 'JWT_KEY_ID'],
    env: {
      USER_EVENTS_TOPIC: { container: 'shop.user.events' },
      RELAY: { container: 'builtin' },
      JWT_ACCESS_TTL_SECONDS: { container: '900' },
      JWT_REFRESH_TTL_SECONDS: { container: '2592000' },
      // Every test and benchmark is one client of the local stack (127.0.0.1), as at its edge.
      REGISTRATIONS_PER_ADDRESS: { local: '100000' },
      SIGN_IN_FAILURES_PER_ADDRESS: { local: '100000' },
    },
  },
  'user-projector': {
    entry: 'services/user/src/projector/main.ts',
    kind: 'worker',
    summary: "consumes the user's events and writes the read model user-query serves",
    localPorts: { ops: 9461 },
    database: 'user',
    uses: ['postgres', 'kafka'],
    env: { USER_EVENTS_TOPIC: { container: 'shop.user.events' } },
  },
  'user-query': {
    entry: 'services/user/src/query/main.ts',
    kind: 'grpc-service',
    summary: 'serves the user read model',
    services: ['shop.user.v1.UserQueryService'],
    localPorts: { grpc: 20056, envoy: 21056, ops: 9456 },
    database: 'user',
    uses: ['postgres'],
    secrets: callerAuth,
    env: { MIN_VERSION_WAIT_MS: readYourWritesWaitMs },
    startsAfter: ['user-projector'],
  },
  order: {
    entry: 'services/order/src/main.ts',
    kind: 'grpc-service',
    summary: 'orders and the checkout workflow (Kafka), prices and stock reservations from product',
    services: ['shop.order.v1.OrderService'],
    localPorts: { grpc: 20052, envoy: 21052, ops: 9452 },
    database: 'order',
    uses: ['postgres', 'kafka'],
    calls: ['product'],
    secrets: callerAuth,
    // Long enough for a burst of checkouts on a loaded two-core machine; the order service's tests use a short one.
    env: { CHECKOUT_TIMEOUT_MS: { local: '60000' } },
  },
  payment: {
    entry: 'services/payment/src/main.ts',
    kind: 'grpc-service',
    summary: 'the mock payment gateway, driven by the order events on Kafka',
    services: ['shop.payment.v1.PaymentService'],
    localPorts: { grpc: 20057, envoy: 21057, ops: 9457 },
    database: 'payment',
    uses: ['postgres', 'kafka'],
    secrets: callerAuth,
    // The "test card" (production declines nothing on purpose; the minikube overlay sets it too).
    env: { PAYMENT_DECLINE_AMOUNTS_CENTS: { local: String(paymentDeclineAmountCents), compose: String(paymentDeclineAmountCents) } },
  },
  reports: {
    entry: 'services/reports/src/main.ts',
    kind: 'grpc-service',
    summary: 'sales reports projected from the order events',
    services: ['shop.reports.v1.ReportService'],
    localPorts: { grpc: 20058, envoy: 21058, ops: 9458 },
    database: 'reports',
    uses: ['postgres', 'kafka'],
    secrets: callerAuth,
  },
  notifications: {
    entry: 'services/notifications/src/main.ts',
    kind: 'worker',
    summary: 'pushes order statuses from Kafka to NATS (GraphQL subscriptions)',
    localPorts: { ops: 9462 },
    uses: ['kafka', 'nats'],
  },
  bff: {
    entry: 'bff/src/main.ts',
    kind: 'bff',
    summary: 'the GraphQL API, behind the Envoy edge; subscriptions fed from NATS',
    localPorts: { http: 4000, ops: 9440 },
    uses: ['nats'],
    // Payment is driven by Kafka: the BFF has no client of it (its Envoy still routes to it).
    calls: ['product', 'cart-command', 'cart-query', 'user-command', 'user-query', 'order', 'reports'],
    secrets: ['SERVICE_TOKEN_KEY', 'ADMIN_API_KEY'],
    env: {
      GRPC_TIMEOUT_MS: { container: '5000' },
      // Password hashing (register, login) queues on CPU under load.
      GRPC_PASSWORD_TIMEOUT_MS: { container: '10000' },
      // Off in production (the minikube overlay turns both on); a developer's stack wants both.
      GRAPHIQL: { local: 'true', compose: 'true', k8s: 'false' },
      GRAPHQL_INTROSPECTION: { local: 'true', compose: 'true', k8s: 'false' },
    },
  },
} satisfies Record<string, ProcessEntry>;

export type Catalog = typeof catalog;
export type ProcessName = keyof Catalog;

/** Every entry with its name, in catalog (start) order. */
export const processes = (): Array<ProcessEntry & { name: string }> =>
  Object.entries(catalog as Record<string, ProcessEntry>).map(([name, entry]) => ({ name, ...entry }));

export const processOf = (name: string): ProcessEntry & { name: string } => {
  const p = processes().find((x) => x.name === name);
  if (!p) throw new Error(`${name} is not in tools/catalog/catalog.ts`);
  return p;
};

/** The gRPC services, in the order of their local ports (the order tools/stack/topology.ts has always listed them in). */
export const grpcProcesses = () =>
  processes()
    .filter((p) => p.kind === 'grpc-service')
    .sort((a, b) => a.localPorts.grpc! - b.localPorts.grpc!);

/** Envoy listener port (without offset) of a gRPC service, which every caller reaches it through. */
export const envoyPortOf = (name: string): number => {
  const p = processOf(name);
  if (p.kind !== 'grpc-service' || p.localPorts.envoy === undefined) throw new Error(`${name} is not a gRPC service with an Envoy listener`);
  return p.localPorts.envoy;
};

/** The caller's variable for a callee's address: cart-command → CART_COMMAND_GRPC_ADDR. */
export const addressVariable = (callee: string) => `${callee.toUpperCase().replaceAll('-', '_')}_GRPC_ADDR`;

/** A value of `env` for a target, or undefined when the target has none. */
export function valueFor(v: EnvValue, target: Target): string | undefined {
  if (typeof v === 'string') return v;
  return v[target] ?? (target === 'local' ? undefined : v.container);
}
