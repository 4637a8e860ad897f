/**
 * Application processes of the local stack, started by `npm run stack -- up` after the
 * infrastructure: the processes of the catalog (tools/catalog/catalog.ts) in its order, with
 * Envoy just before the BFF, started in waves (startWave). Every port comes from topology.ts; every process gets its
 * configuration as environment variables (tools/catalog/env.ts), exactly as in a container.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { defaultEdgeLimits, renderEnvoyConfig, type EnvoyTopology } from '@shop/envoy';
import { envoyBinary } from './install/envoy.js';
import { buildAll } from '../build/build.js';
import { compiledPath } from '../build/workspaces.js';
import { StackError, elapsed, say } from './log.js';
import { type ProcessSpec } from './supervisor.js';
import { bffPort, grpcServices, infraPorts, localPort, repoRoot, stackDir, urls, workers } from './topology.js';
import { seedDemoCatalog } from './seed.js';
import { edgeJwt } from '../deploy/topology.js';
import { DEV_SIGNING_KEY_ID, devAccessTokenJwks, devServiceTokenKey, devSigningKey } from './dev-secrets.js';
import { ensureServiceDatabase, serviceDatabaseUrl } from './service-databases.js';
import { health, paymentDeclineAmountCents, processOf, processes, secrets, type ProcessEntry, type SecretName } from '../catalog/catalog.js';
import { envRecord, type LocalContext } from '../catalog/env.js';
import { debeziumOutboxes, debeziumRelaySpec, retireDebeziumRelay } from './debezium/stack.js';

/**
 * Which relay publishes the CRUD services' outboxes: their own (builtin, the default) or
 * Debezium (RELAY=debezium npm start): a Kafka Connect worker after the services, which then
 * skip their outbox relay (their config.ts). See tools/stack/debezium/README.md.
 */
export const relay = process.env.RELAY === 'debezium' ? 'debezium' : 'builtin';
/** The processes whose outbox Debezium publishes instead. */
const outboxServices = new Set<string>(debeziumOutboxes.map((o) => o.process));

/**
 * Where the cart keeps its events: Postgres (the default) or MongoDB (EVENT_STORE=mongodb npm
 * start): the stack's FerretDB, for the cart's command, projector and query processes.
 */
const eventStore = process.env.EVENT_STORE === 'mongodb' ? 'mongodb' : 'postgres';

/** The admin secret of the local stack (override with SHOP_ADMIN_API_KEY). Not a production secret. */
export const adminApiKey = process.env.SHOP_ADMIN_API_KEY ?? secrets.ADMIN_API_KEY.compose.development;

/** A charge of exactly this amount is declined by the local stack's mock gateway (a "test card"; see services/payment). */
export { paymentDeclineAmountCents };

/** `/readyz` of a process's ops server answers 200. */
const httpReady = (port: number, pathname = '/readyz') => async () => {
  const res = await fetch(`http://127.0.0.1:${port}${pathname}`);
  if (!res.ok) throw new Error(`${pathname} answered ${res.status}: ${await res.text()}`);
};

/**
 * The processes run the compiled JavaScript (`npm run build`, which `up` and `restart` run
 * first: 0.3 s), as the image does: no TypeScript compiler in them, nor tsx's module loader
 * thread beside each (about 20 MB of memory each, 80 MB for the BFF, and a fraction of a
 * second's start: bench/process-footprint.ts). SHOP_RUN_TS=1 runs the TypeScript through tsx.
 */
export const runTypeScript = process.env.SHOP_RUN_TS === '1';

/** Compiles the workspaces the processes run (unless they run TypeScript). */
export async function buildForStack(): Promise<void> {
  if (runTypeScript) return;
  const started = Date.now();
  const built = await buildAll();
  say('stack', 'build', `${built.length} workspaces compiled (${elapsed(started)})`);
}

/**
 * SHOP_PROFILE=<dir> (with `npm run stack -- restart <names>`): each process started writes a
 * V8 CPU profile into <dir>/<name>/ when it stops (`--cpu-prof`; Node refuses the flag in
 * NODE_OPTIONS). Open it in Chrome DevTools or speedscope; bench/README.md, "Profiling".
 */
const profileArgs = (name: string): string[] =>
  process.env.SHOP_PROFILE ? ['--cpu-prof', `--cpu-prof-dir=${path.resolve(process.env.SHOP_PROFILE, name)}`] : [];

/**
 * SHOP_STACK_ENV (JSON, `{"<process>": {"<VARIABLE>": "<value>"}}`) sets variables of the
 * processes a command starts over the stack's own, until they are started again without it:
 * a benchmark runs the BFF without its product cache with
 * `SHOP_STACK_ENV='{"bff":{"PRODUCT_CACHE_TTL_MS":"0"}}' npm run stack -- restart bff`.
 * The process still checks every value at its start, as it checks its own.
 */
export function stackEnvOverrides(raw: string | undefined, names: string[]): Record<string, Record<string, string>> {
  if (!raw) return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch (err) {
    throw new StackError(`SHOP_STACK_ENV is not JSON (${(err as Error).message}); expected {"<process>": {"<VARIABLE>": "<value>"}}`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new StackError('SHOP_STACK_ENV: expected {"<process>": {"<VARIABLE>": "<value>"}}');
  for (const [name, vars] of Object.entries(parsed)) {
    if (!names.includes(name)) throw new StackError(`SHOP_STACK_ENV: unknown process ${name}; known: ${names.join(', ')}`);
    if (typeof vars !== 'object' || vars === null || Array.isArray(vars) || !Object.values(vars).every((v) => typeof v === 'string')) {
      throw new StackError(`SHOP_STACK_ENV.${name}: expected {"<VARIABLE>": "<value>"} with string values`);
    }
  }
  return parsed as Record<string, Record<string, string>>;
}

function nodeProcess(p: ProcessEntry & { name: string }, env: Record<string, string>): ProcessSpec {
  const httpPort = Number(env.HTTP_PORT);
  const listening = [p.localPorts.grpc, p.localPorts.http].filter((x): x is number => x !== undefined).map(localPort);
  return {
    name: p.name,
    command: process.execPath,
    args: ['--enable-source-maps', ...profileArgs(p.name), ...(runTypeScript ? ['--import', 'tsx', p.entry] : ['--conditions=compiled', compiledPath(p.entry)])],
    cwd: repoRoot,
    env,
    ports: [...listening, httpPort],
    ready: httpReady(httpPort, health.readinessPath),
    readyTimeoutMs: 60_000,
  };
}

/** What only the local stack knows, for tools/catalog/env.ts. */
const localSecrets: Record<SecretName, () => string> = {
  SERVICE_TOKEN_KEY: devServiceTokenKey,
  AUTH_JWKS: devAccessTokenJwks,
  JWT_PRIVATE_KEY: devSigningKey,
  JWT_KEY_ID: () => DEV_SIGNING_KEY_ID,
  ADMIN_API_KEY: () => adminApiKey,
};
const localContext = (): LocalContext => ({
  port: localPort,
  kafkaBrokers: urls.kafkaBrokers.join(','),
  natsUrl: urls.nats,
  databaseUrl: serviceDatabaseUrl,
  secret: (name) => localSecrets[name](),
  logLevel: process.env.LOG_LEVEL ?? 'info',
});

/** The topology Envoy is generated from for the local stack. */
export function localEnvoyTopology(): EnvoyTopology {
  return {
    listenHost: '127.0.0.1',
    adminPort: infraPorts.envoyAdmin,
    edgePort: infraPorts.envoyEdge,
    bff: { host: '127.0.0.1', port: bffPort },
    grpc: grpcServices.map((s) => {
      const timeoutMs = processOf(s.name).route?.timeoutMs;
      return { name: s.name, listenPort: s.envoyPort, upstream: { host: '127.0.0.1', port: s.grpcPort }, ...(timeoutMs === undefined ? {} : { timeoutMs }) };
    }),
    jwt: { ...edgeJwt },
    // Every test and benchmark is one client here (127.0.0.1), so it gets the share of many.
    edgeLimits: { ...defaultEdgeLimits, perClient: { maxTokens: 1000, tokensPerFill: 500, fillIntervalMs: 1000 } },
  };
}

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

/**
 * When each process starts (ProcessSpec.wave; supervisor.ts startAll):
 * - services: every service and worker at once. Each needs only the infrastructure to become
 *   ready (a gRPC client connects when first called), except that a query process is ready
 *   once its projector has made the read model's tables (the catalog's startsAfter): they
 *   start together, and the query's readiness waits (60 s at most) for its projector's.
 * - envoy, debezium: once the services are ready (the Debezium worker reads the outbox
 *   tables the services' migrations create).
 * - bff: last. It is ready only once it has listed the access revocations from user-command
 *   through Envoy (Envoy's jwt_authn fetches the BFF's keys when it can).
 */
export const startWave = { services: 0, envoy: 1, debezium: 1, bff: 2 } as const;

/**
 * The local stack's process specs, from the catalog, without touching anything (no database,
 * no relay): what appSpecs starts once it has prepared the stack, and what a spec may read.
 */
export function localProcessSpecs(): ProcessSpec[] {
  const all = processes();
  const local = localContext();
  const relayEnv = (p: { name: string }): Record<string, string> => (relay === 'debezium' && outboxServices.has(p.name) ? { RELAY: relay } : {});
  const storeEnv = (p: ProcessEntry): Record<string, string> =>
    eventStore === 'mongodb' && p.database === 'cart' ? { EVENT_STORE: eventStore, MONGODB_URL: `mongodb://127.0.0.1:${infraPorts.ferretdb}/` } : {};
  const overrides = stackEnvOverrides(process.env.SHOP_STACK_ENV, all.map((p) => p.name));
  // The developer's own NODE_OPTIONS (an --inspect, a --require) still reach the apps: after
  // the catalog's, so that theirs win where both set a flag.
  const nodeOptions = (env: Record<string, string>): Record<string, string> =>
    process.env.NODE_OPTIONS && env.NODE_OPTIONS ? { NODE_OPTIONS: `${env.NODE_OPTIONS} ${process.env.NODE_OPTIONS}` } : {};
  const envOf = (p: ProcessEntry & { name: string }) => {
    const env = { ...envRecord(p, { target: 'local', local }), ...relayEnv(p), ...storeEnv(p) };
    return { ...env, ...nodeOptions(env), ...overrides[p.name] };
  };
  return [
    ...all.flatMap((p) => [
      ...(p.kind === 'bff' ? [{ ...envoySpec(localEnvoyTopology()), wave: startWave.envoy }] : []),
      { ...nodeProcess(p, envOf(p)), wave: p.kind === 'bff' ? startWave.bff : startWave.services },
    ]),
    ...(relay === 'debezium' ? [{ ...debeziumRelaySpec(infraPorts.kafkaConnect), wave: startWave.debezium }] : []),
  ];
}

/** Prepares the running stack for the processes, then answers their specs (localProcessSpecs). */
export async function appSpecs(): Promise<ProcessSpec[]> {
  // Each service's processes connect as that database's own role, never as the superuser.
  for (const database of new Set(processes().flatMap((p) => (p.database ? [p.database] : [])))) await ensureServiceDatabase(database);
  // Back on the built-in relay: a replication slot left by an earlier Debezium run would keep
  // WAL. One still in use (a worker left running, with product and order still on RELAY=debezium:
  // npm start leaves running processes as they are) is kept; `restart` stops that worker first.
  if (relay === 'builtin') await retireDebeziumRelay();
  return localProcessSpecs();
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
    ...grpcServices.map((s) => [`${s.name} gRPC`, `127.0.0.1:${s.grpcPort} (via Envoy 127.0.0.1:${s.envoyPort}, metrics http://127.0.0.1:${s.httpPort}/metrics)`]),
    ...Object.entries(workers).map(([name, w]) => [name, `metrics http://127.0.0.1:${w.httpPort}/metrics`]),
    ['Postgres', urls.postgres()],
    ['Kafka', urls.kafkaBrokers.join(',')],
    ['NATS', urls.nats],
    ['admin x-api-key', adminApiKey],
  ];
  const width = Math.max(...rows.map(([k]) => k!.length));
  console.log('\nShop is up:');
  for (const [k, v] of rows) console.log(`  ${k!.padEnd(width)}  ${v}`);
}
