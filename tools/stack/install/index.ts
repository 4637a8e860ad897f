/** All installers; independent ones run concurrently to keep a cold install short. */
import { settleAll } from '../settle.js';
import { installPostgres } from './postgres.js';
import { installKafka } from './kafka.js';
import { installNats } from './nats.js';
import { installEnvoy } from './envoy.js';
import { installGrpcurl } from './grpcurl.js';
import { installFerretdb } from './ferretdb.js';

export { installPostgres, postgresSetup, writePostgresConf, type PostgresSetup } from './postgres.js';
export { installKafka, kafkaPaths, writeKafkaConfig } from './kafka.js';
export { installNats, natsBinary } from './nats.js';
export { installEnvoy, envoyBinary } from './envoy.js';
export { installGrpcurl, grpcurlBinary } from './grpcurl.js';
export { installFerretdb, ferretdbBinary } from './ferretdb.js';
// Not among `installers` below: only the browser tests need Chromium, and tools/bin/test installs it.
export { installChromium, chromiumBinary } from './chromium.js';

export const installers = {
  postgres: installPostgres,
  kafka: installKafka,
  nats: installNats,
  envoy: installEnvoy,
  grpcurl: installGrpcurl,
  ferretdb: installFerretdb,
} as const;

export type InstallName = keyof typeof installers;

/** Installs everything (or just `only`), concurrently. */
export async function installAll(only: InstallName[] = Object.keys(installers) as InstallName[]): Promise<void> {
  await settleAll('install', only.map((name) => ({ name, run: installers[name] })));
}

/** What upInfra needs: Postgres, Kafka, NATS and FerretDB. */
export function installInfra(): Promise<void> {
  return installAll(['postgres', 'kafka', 'nats', 'ferretdb']);
}
