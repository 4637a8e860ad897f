import { createPrivateKey, createPublicKey } from 'node:crypto';
import { z } from 'zod';

/**
 * Reads a process's configuration from the environment once, at start-up.
 * Every problem is reported at once, each line naming the variable, so a bad
 * deployment fails fast with a message an operator can act on.
 */
export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

export function loadConfig<S extends z.ZodObject>(
  schema: S,
  env: Record<string, string | undefined> = process.env,
): z.infer<S> {
  const result = schema.safeParse(env);
  const problems = result.success
    ? []
    : result.error.issues.map((issue) => {
        const name = issue.path.join('.') || '(environment)';
        const value = env[String(issue.path[0])];
        return value === undefined ? `${name} is required (${issue.message})` : `${name}: ${issue.message}`;
      });
  problems.push(...secretProblems(schema, env));
  if (problems.length > 0) throw new ConfigError(problems);
  return result.data as z.infer<S>;
}

/**
 * Where a process runs. Only the local stack, the tests, docker-compose.yml and the minikube
 * overlay say `development`; unset means production, so that a deployment that forgets it
 * gets the strict checks rather than the lenient ones.
 */
export const shopEnvironmentVariable = 'SHOP_ENVIRONMENT';

type SecretKind = 'key' | 'database-url' | 'signing-key' | 'optional-keys';
/** Schemas made by env.secret / env.databaseUrl / env.signingKey, checked again in production. */
const secretKinds = new WeakMap<z.ZodType, SecretKind>();
const secret = <T extends z.ZodType>(schema: T, kind: SecretKind): T => {
  secretKinds.set(schema, kind);
  return schema;
};

/** Shortest secret accepted in production (`openssl rand -hex 24` gives 48 characters). */
export const productionSecretMinLength = 32;

/**
 * Words of the placeholders and defaults this repository ships (k8s base REPLACE-ME values,
 * the local stack's `local-admin-key-change-me`, the minikube overlay's development-only
 * values): a secret containing one was copied, not generated.
 */
const placeholderWords = ['replace-me', 'replace_me', 'replaceme', 'change-me', 'change_me', 'changeme', 'development', 'placeholder', 'example', 'insecure', 'local-admin'];

/** Why `value` is no production secret, or undefined when it may be one. */
export function weakSecretReason(value: string): string | undefined {
  const lower = value.toLowerCase();
  const word = placeholderWords.find((w) => lower.includes(w));
  if (word) return `contains "${word}": a placeholder or default, not a generated secret`;
  if (value.length < productionSecretMinLength) return `is ${value.length} characters; production needs at least ${productionSecretMinLength}`;
  // "aaaa…" or "abababab…" is long enough but no secret.
  if (new Set(value).size < 8) return 'uses fewer than 8 distinct characters';
  return undefined;
}

const howToGenerate = 'generate one, e.g. `openssl rand -hex 24`';

/**
 * The public key (JWK `x`) of the development-only signing key this repository ships
 * (k8s/overlays/minikube/development-only, docker-compose.yml's default): its private half
 * is public, so production refuses it as a signing key and as a trusted key, whatever it
 * is called.
 */
const developmentPublicKeys = ['GcACrPGFh52MP3euCIitR393rLd9ipql-9p682rx2Z8'];

function isDevelopmentKey(value: string): boolean {
  if (developmentPublicKeys.some((x) => value.includes(x))) return true;
  try {
    const privateKey = value.trim().startsWith('{') ? createPrivateKey({ key: JSON.parse(value), format: 'jwk' }) : createPrivateKey(value);
    const { x } = createPublicKey(privateKey).export({ format: 'jwk' });
    return x !== undefined && developmentPublicKeys.includes(x);
  } catch {
    return false; // not a private key: the schema or the process reports that
  }
}

function secretProblem(name: string, kind: SecretKind, value: string | undefined): string | undefined {
  switch (kind) {
    case 'key': {
      if (value === undefined) return undefined; // the schema reports a missing value
      const reason = weakSecretReason(value);
      return reason && `${name} ${reason} (${shopEnvironmentVariable}=production: ${howToGenerate})`;
    }
    case 'database-url': {
      const password = value === undefined ? undefined : urlPassword(value);
      if (password === undefined) return undefined; // unset, or no URL: the schema reports that
      if (password === '') return `${name} has no password (${shopEnvironmentVariable}=production: give the service's database role one, ${howToGenerate})`;
      const reason = weakSecretReason(password);
      return reason && `${name}: its password ${reason} (${shopEnvironmentVariable}=production: ${howToGenerate}, URL-safe)`;
    }
    case 'signing-key': {
      const generate = 'generate one with `openssl genpkey -algorithm ed25519`';
      if (value === undefined || value.trim() === '') {
        return `${name} is required when ${shopEnvironmentVariable}=production (a key generated at start would differ per replica and per restart): ${generate}`;
      }
      const word = placeholderWords.find((w) => value.toLowerCase().includes(w));
      if (word) return `${name} contains "${word}": a placeholder, not a key (${shopEnvironmentVariable}=production: ${generate})`;
      if (isDevelopmentKey(value)) return `${name} is the development-only key this repository ships, whose private half anyone can read (${shopEnvironmentVariable}=production: ${generate})`;
      return undefined;
    }
    case 'optional-keys': {
      // Unset is fine; what is set is held to the rules of a signing key.
      if (value === undefined || value.trim() === '') return undefined;
      return secretProblem(name, 'signing-key', value);
    }
    default: {
      const never: never = kind;
      return never;
    }
  }
}

/**
 * The password of a URL ('' when it has none), or undefined when it is no URL. A MongoDB
 * URL may list several hosts (`mongodb://u:p@h1:27017,h2:27017/`), which URL refuses: only
 * the first is kept for parsing, so that such a URL is checked, not waved through.
 */
function urlPassword(value: string): string | undefined {
  const firstHost = value.replace(/^([a-z][a-z\d+.-]*:\/\/(?:[^@/?#]*@)?)([^/?#]*)/i, (_, head: string, hosts: string) => head + hosts.split(',')[0]);
  return URL.canParse(firstHost) ? decodeURIComponent(new URL(firstHost).password) : undefined;
}

/** Production only: the secrets of `schema` must not be placeholders, defaults or short. */
function secretProblems(schema: z.ZodObject, env: Record<string, string | undefined>): string[] {
  // Anything but an explicit "development" is checked (a typo must not relax it).
  if (env[shopEnvironmentVariable] === 'development') return [];
  return Object.entries(schema.shape).flatMap(([name, field]) => {
    const kind = secretKinds.get(field as z.ZodType);
    const problem = kind && secretProblem(name, kind, env[name]);
    return problem ? [problem] : [];
  });
}

/** Reusable environment variable types. */
export const env = {
  port: (fallback?: number) => {
    const s = z.coerce.number().int().min(1).max(65535);
    return fallback === undefined ? s : s.default(fallback);
  },
  url: () => z.string().url(),
  /** Comma-separated list, e.g. Kafka brokers. */
  list: () =>
    z
      .string()
      .min(1)
      .transform((s) => s.split(',').map((x) => x.trim()).filter(Boolean)),
  logLevel: () => z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  durationMs: (fallback: number) => z.coerce.number().int().min(0).default(fallback),
  bool: (fallback: boolean) =>
    z
      .enum(['true', 'false', '1', '0'])
      .default(fallback ? 'true' : 'false')
      .transform((s) => s === 'true' || s === '1'),
  /** A shared secret (an API key). In production also: no placeholder, default or short value. */
  secret: (minLength = 16) => secret(z.string().min(minLength, `must be at least ${minLength} characters`), 'key'),
  /** A Postgres URL with the service role's password. In production the password is checked like a secret. */
  databaseUrl: () => secret(z.string().url(), 'database-url'),
  /** Another database's URL as `schema` parses it (e.g. an optional mongodb:// URL), its password checked in production as DATABASE_URL's. */
  databaseUrlOf: <T extends z.ZodType<string | undefined>>(schema: T): T => secret(schema, 'database-url'),
  /**
   * A private signing key (PEM or JWK). Optional in development (the process may generate
   * one); required in production, and no placeholder.
   */
  signingKey: () => secret(z.string().min(1).optional(), 'signing-key'),
  /**
   * Keys a process trusts (a public key set, e.g. AUTH_JWKS), parsed by `schema`. Checked in
   * production like a signing key: the development-only keys this repository ships are refused.
   */
  trustedKeys: <T extends z.ZodType>(schema: T): T => secret(schema, 'signing-key'),
  /** Optional keys a process publishes or trusts besides its own (e.g. during a rotation); when set, checked like trustedKeys. */
  optionalKeys: <T extends z.ZodType>(schema: T) => secret(schema.optional(), 'optional-keys'),
  /** DATABASE_POOL_MAX: connections a process may hold (its share of the server's max_connections). */
  poolMax: (fallback = 10) => z.coerce.number().int().min(1).max(200).default(fallback),
};

/**
 * The variables each process builder reads, to spread into a process's config schema
 * beside its own: the builder and the schema then agree on the names, and no process
 * restates them. postgresEnv: openPostgres (postgres/process.ts); kafkaEnv: openKafka
 * (kafka.ts); natsEnv: openNats (nats.ts); grpcServerEnv: serveGrpc (grpc/server.ts), with
 * callerAuthEnv (auth/config.ts) for how it verifies its callers.
 */
export const postgresEnv = {
  /** The process's database (its role's URL, with password). */
  DATABASE_URL: env.databaseUrl(),
  DATABASE_POOL_MAX: env.poolMax(),
};
export const kafkaEnv = {
  /** host:port of the Kafka bootstrap brokers, comma-separated. */
  KAFKA_BROKERS: env.list(),
};
export const natsEnv = {
  NATS_URL: env.url(),
};
export const grpcServerEnv = {
  GRPC_PORT: env.port(),
};

/** Variables every process reads. */
export const baseEnv = {
  /** development | production (the default): production refuses placeholder, default and short secrets. */
  SHOP_ENVIRONMENT: z.enum(['development', 'production']).default('production'),
  LOG_LEVEL: env.logLevel(),
  /** Port of the HTTP server for /metrics, /healthz and /readyz. */
  HTTP_PORT: env.port(),
  /**
   * Address the process's servers (gRPC, HTTP, metrics) listen on. Loopback by default, so
   * that nothing is reachable from the network by accident; 0.0.0.0 in a container, where
   * the pod's network is the boundary (k8s and docker-compose set it).
   */
  LISTEN_HOST: z.string().min(1).default('127.0.0.1'),
  /** Grace period for in-flight work on SIGTERM before a forced exit. */
  SHUTDOWN_TIMEOUT_MS: env.durationMs(10_000),
};
