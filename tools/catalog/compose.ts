/**
 * docker-compose.yml, in full, from the catalog: the infrastructure, every process of the
 * catalog and one Envoy that every caller goes through (compose's own DNS names, one
 * listener per service). Pool sizes, resources and environment are the catalog's, so they
 * match k8s/base.
 */
import { containerArgs, infraImages, shopImage, shopUser } from '../deploy/image.js';
import { containerPorts, defaults, health, infrastructure, processes, type Infra, type ProcessEntry, type Resources } from './catalog.js';
import { composeDatabasePassword, databasePasswordVariable, envRecord } from './env.js';
import { drainSeconds, envoyReadyCommand } from './k8s.js';

type Obj = Record<string, unknown>;

export const composeFile = 'docker-compose.yml';

/** The tag `docker compose up --build` gives the image it builds from ./Dockerfile. */
const composeShopImage = `${shopImage}:dev`;

const hardened = { cap_drop: ['ALL'], security_opt: ['no-new-privileges:true'] };

/** Kubernetes quantities as compose writes them: 500m → 0.5 CPUs, 384Mi → 384m bytes (binary units). */
const cpus = (q: string) => (q.endsWith('m') ? String(Number(q.slice(0, -1)) / 1000) : q);
const bytes = (q: string) => q.replace(/Mi$/, 'm').replace(/Gi$/, 'g');
const deployResources = (r: Resources, replicas = 1): Obj => ({
  deploy: {
    ...(replicas === 1 ? {} : { replicas }),
    resources: { limits: { cpus: cpus(r.limits.cpu), memory: bytes(r.limits.memory) }, reservations: { cpus: cpus(r.requests.cpu), memory: bytes(r.requests.memory) } },
  },
});

const healthy = { condition: 'service_healthy' };

/** Every database of the catalog: Postgres creates one role each with the password its processes use. */
const databases = () => [...new Set(processes().flatMap((p) => (p.database ? [p.database] : [])))];

function infrastructureServices(): Obj {
  return {
    postgres: {
      image: infraImages.postgres,
      '#command': "The same limit as k8s/base/postgres: the processes' pools (DATABASE_POOL_MAX) must fit in it.",
      command: ['postgres', '-c', `max_connections=${infrastructure.postgres.maxConnections}`],
      '#user': "The image's postgres user: no root start-up, so all capabilities can go.",
      user: '999:999',
      read_only: true,
      tmpfs: ['/tmp', '/var/run/postgresql'],
      ...hardened,
      environment: {
        POSTGRES_USER: 'shop',
        POSTGRES_PASSWORD: '${POSTGRES_PASSWORD:-shop}',
        POSTGRES_DB: 'postgres',
        // One role per service database, created with these passwords by init-databases.sql.
        ...Object.fromEntries(databases().map((d) => [databasePasswordVariable(d), composeDatabasePassword(d)])),
      },
      volumes: ['postgres-data:/var/lib/postgresql/data', './k8s/base/postgres/init-databases.sql:/docker-entrypoint-initdb.d/10-init-databases.sql:ro'],
      '#healthcheck': 'Over TCP: during initialisation the image runs a socket-only server, so this only passes once the init script has run and the real server listens.',
      healthcheck: { test: ['CMD', 'pg_isready', '-h', '127.0.0.1', '-U', 'shop', '-d', 'postgres'], interval: '5s', timeout: '3s', retries: 5, start_period: '30s' },
      restart: 'unless-stopped',
    },
    kafka: {
      image: infraImages.kafka,
      '#cap_drop': "Runs as the image's appuser. Its start script renders /opt/kafka/config from the KAFKA_* variables, so the root filesystem stays writable for this container.",
      ...hardened,
      environment: {
        '#KAFKA_NODE_ID': 'A single KRaft node (broker and controller in one process), as in the local stack.',
        KAFKA_NODE_ID: 1,
        KAFKA_PROCESS_ROLES: 'broker,controller',
        KAFKA_LISTENERS: `PLAINTEXT://:${infrastructure.kafka.port},CONTROLLER://:9093`,
        KAFKA_ADVERTISED_LISTENERS: `PLAINTEXT://kafka:${infrastructure.kafka.port}`,
        KAFKA_LISTENER_SECURITY_PROTOCOL_MAP: 'CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT',
        KAFKA_CONTROLLER_LISTENER_NAMES: 'CONTROLLER',
        KAFKA_INTER_BROKER_LISTENER_NAME: 'PLAINTEXT',
        KAFKA_CONTROLLER_QUORUM_VOTERS: '1@localhost:9093',
        '#CLUSTER_ID': 'A fixed id: the data volume is formatted with it on the first start and must match on every later one.',
        CLUSTER_ID: 'A6rHnpjvTkustrTmsIDrYw',
        '#KAFKA_LOG_DIRS': "A subdirectory, as in k8s/: a volume's root may hold lost+found, which is no topic.",
        KAFKA_LOG_DIRS: '/var/lib/kafka/data/kraft',
        '#KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR': 'One node: every replication factor must be 1 or internal topics are never created.',
        KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR: 1,
        KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR: 1,
        KAFKA_TRANSACTION_STATE_LOG_MIN_ISR: 1,
        KAFKA_DEFAULT_REPLICATION_FACTOR: 1,
        KAFKA_MIN_INSYNC_REPLICAS: 1,
        KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS: 0,
        '#KAFKA_AUTO_CREATE_TOPICS_ENABLE': 'Services create their topics explicitly; a typo must fail, not create a topic.',
        KAFKA_AUTO_CREATE_TOPICS_ENABLE: 'false',
        KAFKA_NUM_PARTITIONS: 3,
        KAFKA_HEAP_OPTS: '-Xms256m -Xmx512m',
      },
      volumes: ['kafka-data:/var/lib/kafka/data'],
      '#healthcheck': 'A real request to the broker, not just an open port (a JVM start: keep it rare).',
      healthcheck: {
        test: ['CMD-SHELL', `/opt/kafka/bin/kafka-broker-api-versions.sh --bootstrap-server localhost:${infrastructure.kafka.port} > /dev/null 2>&1`],
        interval: '15s',
        timeout: '20s',
        retries: 10,
        start_period: '60s',
      },
      restart: 'unless-stopped',
    },
    nats: {
      '#image': 'The alpine variant of the same release: the default image is built from scratch, with no program a healthcheck could run (k8s/ uses it with an HTTP probe).',
      image: infraImages.natsAlpine,
      command: ['nats-server', '-js', '-sd', '/data', '-m', '8222'],
      user: '65534:65534',
      read_only: true,
      '#tmpfs': 'JetStream here carries real-time pushes only: nothing needs to outlive the container.',
      tmpfs: ['/data:mode=1777'],
      ...hardened,
      '#healthcheck': '/healthz answers 200 once JetStream is up, not just the listener; the BFF and the NATS clients wait for it.',
      healthcheck: { test: ['CMD', 'wget', '-q', '-O', '/dev/null', 'http://127.0.0.1:8222/healthz'], interval: '5s', timeout: '3s', retries: 5 },
      restart: 'unless-stopped',
    },
  };
}

function appService(p: ProcessEntry & { name: string }): Obj {
  const infra: Infra[] = [...(p.database ? (['postgres'] as const) : []), ...p.uses.filter((u) => u !== 'postgres')];
  const dependsOn: Obj = {
    ...Object.fromEntries(infra.map((i) => [i, healthy])),
    // A query's /readyz waits for the read model, which its projector creates.
    ...Object.fromEntries((p.startsAfter ?? []).map((s) => [s, { condition: 'service_started' }])),
    // Its calls go through Envoy, which waits for the services (the BFF is ready only once
    // it has listed user-command's revocations through Envoy).
    ...(p.kind === 'bff' ? { envoy: healthy } : {}),
  };
  return {
    image: composeShopImage,
    build: { context: '.' },
    command: containerArgs(p.entry),
    '#user': "The image's user, repeated so that it cannot silently become root.",
    user: `${shopUser.uid}:${shopUser.gid}`,
    read_only: true,
    tmpfs: ['/tmp'],
    ...hardened,
    restart: 'unless-stopped',
    '#stop_grace_period': `Each process drains on SIGTERM (SHUTDOWN_TIMEOUT_MS, ${drainSeconds} s by default) before exiting.`,
    stop_grace_period: '20s',
    ...deployResources(p.resources ?? defaults.resources, p.replicas ?? defaults.replicas),
    healthcheck: {
      '#test': "/readyz checks the process's dependencies; node is the only program in the image that can make an HTTP request.",
      test: ['CMD', 'node', '-e', `fetch('http://127.0.0.1:${containerPorts.ops}${health.readinessPath}').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))`],
      interval: '5s',
      timeout: '3s',
      retries: 3,
      start_period: '60s',
    },
    '#environment': `${p.name}: ${p.summary}. Secrets default to development-only values (see the top of this file).`,
    environment: envRecord(p, { target: 'compose' }),
    ...(Object.keys(dependsOn).length > 0 ? { '#depends_on': 'Its infrastructure healthy first; what else it waits for, and why, is in tools/catalog/compose.ts.', depends_on: dependsOn } : {}),
  };
}

function envoyService(): Obj {
  return {
    image: infraImages.envoy,
    '#entrypoint': "Straight to the binary: the image's entrypoint switches users with su-exec, which needs root; here Envoy starts as a non-root user instead. Hot restart is never done in a container; disabling it also avoids its shared memory.",
    entrypoint: ['/usr/local/bin/envoy'],
    command: ['-c', '/etc/envoy/envoy.yaml', '--disable-hot-restart', '--log-level', 'warn'],
    user: '101:101',
    read_only: true,
    tmpfs: ['/tmp'],
    ...hardened,
    ...deployResources(defaults.envoyResources),
    volumes: ['./tools/deploy/compose/envoy.yaml:/etc/envoy/envoy.yaml:ro'],
    '#ports': `The public edge: GraphQL at http://127.0.0.1:${containerPorts.edge}/graphql, on this machine only (the development-only admin key is public). Nothing else is published. To reach it from other machines, set your own secrets first (see the top of this file), then publish ${containerPorts.edge}:${containerPorts.edge} in a docker-compose.override.yml.`,
    ports: [`127.0.0.1:${containerPorts.edge}:${containerPorts.edge}`],
    '#healthcheck': "The admin listener is bound to 127.0.0.1 inside the container; bash's /dev/tcp does the HTTP request (the image has no curl). /ready answers LIVE when serving.",
    healthcheck: {
      test: ['CMD', ...envoyReadyCommand],
      interval: '5s',
      timeout: '3s',
      retries: 5,
    },
    '#depends_on': "Every gRPC service it routes to; the BFF (the edge's upstream) starts after it.",
    depends_on: Object.fromEntries(processes().filter((p) => p.kind === 'grpc-service').map((p) => [p.name, healthy])),
    restart: 'unless-stopped',
  };
}

export const composeHeader = `# Shop with containers: \`docker compose up --build --wait\`, then
#   curl -s http://127.0.0.1:8080/graphql -H 'content-type: application/json' -d '{"query":"{ products { _id name price } }"}'
#
# The same processes and configuration as the local stack (\`npm start\`) and k8s/: every
# app container runs the one image built from ./Dockerfile with its own entry, and Envoy's
# config is generated (tools/deploy/compose/envoy.yaml).
#
# Secrets come from the environment (or an .env file beside this one) with development-only
# defaults (SHOP_ENVIRONMENT=development accepts them): set POSTGRES_PASSWORD (the
# superuser's, Postgres only), <DATABASE>_DB_PASSWORD for each service database's own role
# (URL-safe characters: they go into DATABASE_URL), SHOP_ADMIN_API_KEY (16+ characters),
# JWT_PRIVATE_KEY and AUTH_JWKS together (user-command's signing key and its public half as
# GetJwks answers it) and SERVICE_TOKEN_KEY (32+ characters) for anything but a try-out on
# your own machine. SHOP_ENVIRONMENT defaults to development; SHOP_ENVIRONMENT=production
# refuses the development-only defaults, so every secret above must then be set.
#
# Envoy's edge (${containerPorts.edge}) is published on 127.0.0.1 only. To open it to other machines,
# once the secrets are your own, add a docker-compose.override.yml beside this file:
#   services:
#     envoy:
#       ports: !override ["${containerPorts.edge}:${containerPorts.edge}"]
`;

export function renderComposeObject(): Obj {
  return {
    name: 'shop',
    services: {
      ...infrastructureServices(),
      ...Object.fromEntries(processes().map((p) => [p.name, appService(p)])),
      envoy: envoyService(),
    },
    volumes: { 'postgres-data': null, 'kafka-data': null },
  };
}
