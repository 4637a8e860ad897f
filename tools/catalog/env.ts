/**
 * A process's environment in each target, from its catalog entry. One function for all
 * three, so that a variable added for one target is visibly absent or different in the others.
 */
import { createPrivateKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { repoRoot } from '../stack/topology.js';
import { containerPorts, defaults, envoyPortOf, addressVariable, infrastructure, secrets, valueFor, type ProcessEntry, type SecretName, type SecretSource, type Target } from './catalog.js';

/** A variable: a literal, or (Kubernetes) a key of a Secret. */
export type EnvVar = { name: string; value: string } | { name: string; secretKeyRef: { name: string; key: string; optional?: boolean } };

/** What only the local stack knows: its ports (moved by SHOP_PORT_OFFSET), addresses and generated secrets. */
export interface LocalContext {
  port: (n: number) => number;
  kafkaBrokers: string;
  natsUrl: string;
  databaseUrl: (database: string) => string;
  secret: (name: SecretName) => string;
  logLevel: string;
}

export type Context = { target: 'local'; local: LocalContext } | { target: 'compose' | 'k8s' };

/**
 * A private key file (PEM) as the one-line JWK compose can hold, with the key id its public
 * half has in the JWKS file; stops when that JWKS does not hold the key's public half.
 */
function developmentJwk({ pem, jwks }: { pem: string; jwks: string }): string {
  const jwk = createPrivateKey(readFileSync(path.join(repoRoot, pem), 'utf8')).export({ format: 'jwk' });
  const { keys } = JSON.parse(readFileSync(path.join(repoRoot, jwks), 'utf8')) as { keys: Array<{ x?: string; kid?: string }> };
  const published = keys.find((k) => k.x === jwk.x);
  if (!published?.kid) throw new Error(`${jwks} has no key with the public half of ${pem} (x ${jwk.x}): make them one key pair`);
  return JSON.stringify({ ...jwk, kid: published.kid });
}

/** The value compose interpolates: the variable from the shell or .env, else the development-only default. */
function composeSecret(name: SecretName): string | undefined {
  const c = (secrets[name] as SecretSource).compose;
  if (!c) return undefined;
  const development = c.developmentJwkOf
    ? developmentJwk(c.developmentJwkOf)
    : c.developmentFile
      ? readFileSync(path.join(repoRoot, c.developmentFile), 'utf8').trim()
      : c.development;
  return `\${${c.variable}:-${development}}`;
}

/** The compose variable holding a database role's password, which Postgres creates the role with too. */
export const databasePasswordVariable = (database: string) => `${database.toUpperCase()}_DB_PASSWORD`;
export const composeDatabasePassword = (database: string) => `\${${databasePasswordVariable(database)}:-development-only-${database}}`;

export function environment(p: ProcessEntry, ctx: Context): EnvVar[] {
  const { target } = ctx;
  const local = ctx.target === 'local' ? ctx.local : undefined;
  const container = target !== 'local';
  const vars: EnvVar[] = [];
  const add = (name: string, value: string | undefined) => {
    if (value !== undefined) vars.push({ name, value });
  };

  // What every process shares. SHOP_ENVIRONMENT=development accepts the development-only
  // secrets; k8s/base is production (the minikube overlay sets it); compose takes it from
  // the shell or .env, development unless said otherwise.
  if (local) add('NODE_ENV', 'development');
  if (local) add('SHOP_ENVIRONMENT', 'development');
  if (target === 'compose') add('SHOP_ENVIRONMENT', '${SHOP_ENVIRONMENT:-development}');
  for (const s of p.secrets ?? []) {
    if (target === 'k8s') vars.push({ name: s, secretKeyRef: { name: secrets[s].k8s.secret, key: secrets[s].k8s.key, ...('optional' in secrets[s].k8s ? { optional: true } : {}) } });
    else add(s, local ? local.secret(s) : composeSecret(s));
  }
  if (p.kind === 'grpc-service') add('GRPC_PORT', String(local ? local.port(p.localPorts.grpc!) : containerPorts.grpc));
  if (p.kind === 'bff') add('PORT', String(local ? local.port(p.localPorts.http!) : containerPorts.bff));
  add('HTTP_PORT', String(local ? local.port(p.localPorts.ops) : containerPorts.ops));
  // Each container's network is its boundary: listen on every interface (loopback otherwise).
  if (container) add('LISTEN_HOST', '0.0.0.0');
  add('LOG_LEVEL', local ? local.logLevel : 'info');

  if (p.database) {
    const db = p.database;
    if (local) add('DATABASE_URL', local.databaseUrl(db));
    else if (target === 'compose') add('DATABASE_URL', `postgres://shop_${db}:${composeDatabasePassword(db)}@postgres:${infrastructure.postgres.port}/${db}`);
    else {
      // The database's own role (k8s/base/postgres/init-databases.sql); $(DATABASE_PASSWORD) is expanded by the kubelet.
      vars.push({ name: 'DATABASE_PASSWORD', secretKeyRef: { name: `database-${db}`, key: 'DATABASE_PASSWORD' } });
      add('DATABASE_URL', `postgres://shop_${db}:$(DATABASE_PASSWORD)@postgres:${infrastructure.postgres.port}/${db}`);
    }
    if (container) add('DATABASE_POOL_MAX', String(defaults.databasePoolMax));
  }
  if (p.uses.includes('kafka')) add('KAFKA_BROKERS', local ? local.kafkaBrokers : `kafka:${infrastructure.kafka.port}`);
  if (p.uses.includes('nats')) add('NATS_URL', local ? local.natsUrl : `nats://nats:${infrastructure.nats.port}`);
  // Every call goes through Envoy: the local Envoy, compose's envoy service, or the pod's sidecar.
  for (const callee of p.calls ?? []) {
    const port = envoyPortOf(callee);
    add(addressVariable(callee), local ? `127.0.0.1:${local.port(port)}` : target === 'compose' ? `envoy:${port}` : `127.0.0.1:${port}`);
  }
  for (const [name, v] of Object.entries(p.env ?? {})) add(name, valueFor(v, target));
  add('NODE_OPTIONS', [`--max-semi-space-size=${defaults.semiSpaceMb}`, ...(container ? [`--max-old-space-size=${defaults.heapMb}`] : [])].join(' '));
  return vars;
}

/** The environment as a plain map (local and compose have no Secret references). */
export function envRecord(p: ProcessEntry, ctx: Context): Record<string, string> {
  return Object.fromEntries(
    environment(p, ctx).map((v) => {
      if (!('value' in v)) throw new Error(`${v.name}: a Secret reference has no value in ${ctx.target}`);
      return [v.name, v.value];
    }),
  );
}

export type { Target };
