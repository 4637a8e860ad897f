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
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) => {
    const name = issue.path.join('.') || '(environment)';
    const value = env[String(issue.path[0])];
    return value === undefined ? `${name} is required (${issue.message})` : `${name}: ${issue.message}`;
  });
  throw new ConfigError(problems);
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
  secret: (minLength = 16) => z.string().min(minLength, `must be at least ${minLength} characters`),
  /** DATABASE_POOL_MAX: connections a process may hold (its share of the server's max_connections). */
  poolMax: (fallback = 10) => z.coerce.number().int().min(1).max(200).default(fallback),
};

/** Variables every process reads. */
export const baseEnv = {
  LOG_LEVEL: env.logLevel(),
  /** Port of the HTTP server for /metrics, /healthz and /readyz. */
  HTTP_PORT: env.port(),
  /** Grace period for in-flight work on SIGTERM before a forced exit. */
  SHUTDOWN_TIMEOUT_MS: env.durationMs(10_000),
};
