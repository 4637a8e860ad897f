import type { z } from 'zod';
import { ConfigError, loadConfig } from './config.js';
import { createLogger, type Logger } from './log.js';
import { createMetrics } from './metrics.js';
import { Readiness, startOpsServer } from './ops-server.js';
import { Lifecycle } from './shutdown.js';
import type { Registry } from 'prom-client';

export interface ProcessContext<C> {
  name: string;
  config: C;
  log: Logger;
  registry: Registry;
  lifecycle: Lifecycle;
  /**
   * The process's readiness: `add` a dependency check to /readyz; the gRPC health service
   * follows the same checks (serveGrpc passes it to startGrpcServer). The builders
   * (openPostgres, openNats) add theirs.
   */
  readiness: Readiness;
}

type BaseConfig = { LOG_LEVEL: string; HTTP_PORT: number; LISTEN_HOST: string; SHUTDOWN_TIMEOUT_MS: number };

/**
 * The service defaults every process runs under (one place, like eShop's
 * ServiceDefaults): validated config, JSON logs, metrics, /healthz and /readyz,
 * graceful shutdown. `main` only wires adapters and starts servers; it registers its
 * own shutdown hooks on `lifecycle`.
 */
export async function runProcess<S extends z.ZodObject>(
  name: string,
  schema: S,
  main: (ctx: ProcessContext<z.infer<S> & BaseConfig>) => Promise<void>,
): Promise<void> {
  let config: z.infer<S> & BaseConfig;
  try {
    config = loadConfig(schema) as z.infer<S> & BaseConfig;
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${name}: ${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
  const log = createLogger(name, config.LOG_LEVEL);
  const registry = createMetrics(name);
  const lifecycle = new Lifecycle(log, config.SHUTDOWN_TIMEOUT_MS);
  const readiness = new Readiness({ log });
  lifecycle.handleSignals();
  process.on('unhandledRejection', (err) => log.error({ err }, 'unhandled rejection'));
  try {
    const ops = await startOpsServer({ port: config.HTTP_PORT, host: config.LISTEN_HOST, registry, readiness, log });
    lifecycle.onShutdown('ops-server', () => ops.close());
    await main({ name, config, log, registry, lifecycle, readiness });
    // A dependency lost for good during start-up (lifecycle.fail) is already stopping it.
    if (lifecycle.isStopping) return;
    // Registered last so it runs first: stop advertising readiness before draining.
    lifecycle.onShutdown('readiness', () => ops.setNotReady());
    ops.setReady();
    log.info({ httpPort: ops.port }, 'started');
  } catch (err) {
    log.fatal({ err }, 'start-up failed');
    await lifecycle.shutdown().catch(() => undefined);
    process.exit(1);
  }
}
