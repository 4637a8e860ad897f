/** The infrastructure servers of the local stack: Postgres, Kafka, NATS and FerretDB (MongoDB's protocol). */
import { infraPorts, grpcServices, bffPort, bffHttpMetricsPort } from './topology.js';
import { installInfra } from './install/index.js';
import { settleAll } from './settle.js';
import { type ProcessSpec, start, stop } from './supervisor.js';
import { postgresSpec } from './specs/postgres.js';
import { kafkaSpec } from './specs/kafka.js';
import { natsSpec } from './specs/nats.js';
import { ferretdbSpec } from './specs/ferretdb.js';

export const infraNames = ['postgres', 'kafka', 'nats', 'ferretdb'] as const;

export function infraSpecs(): ProcessSpec[] {
  return [postgresSpec(), kafkaSpec(), natsSpec(), ferretdbSpec()];
}

/**
 * Installs what is missing (unless install is false) and starts all four concurrently;
 * resolves when each passes its readiness check. Already running servers are kept.
 */
export async function upInfra(opts: { install?: boolean } = {}): Promise<void> {
  if (opts.install ?? true) await installInfra();
  await settleAll('starting infrastructure', infraSpecs().map((spec) => ({ name: spec.name, run: () => start(spec) })));
}

/** Stops all four concurrently; returns the names that were running. */
export async function downInfra(): Promise<string[]> {
  const stopped: string[] = [];
  await settleAll(
    'stopping infrastructure',
    infraSpecs().map((spec) => ({
      name: spec.name,
      run: async () => {
        if (await stop(spec)) stopped.push(spec.name);
      },
    })),
  );
  return stopped;
}
