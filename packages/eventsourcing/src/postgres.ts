/**
 * @shop/eventsourcing/postgres: the Postgres event store adapter, and the runtime of read
 * models kept in Postgres (apply with per-stream checkpoints, schema, rebuild from any
 * event store, read-your-writes waiting). Loads pg, not kafkajs.
 */
export {
  PostgresEventStore,
  eventStoreMigrations,
  readAllFrom,
  encodeCheckpoint,
  decodeCheckpoint,
  type PostgresCheckpoint,
  type PostgresTx,
  type PostgresInTransaction,
} from './postgres/store.js';
export { postgresRelaySource, relayMigrations } from './postgres/relay-source.js';
export { applyEvents, runtimeDdl, migrateProjection } from './apply.js';
export { checkSchemaName } from './schema-name.js';
export { rebuildProjection, type RebuildResult } from './rebuild.js';
export { VersionWaiter, listenerFor, readModelChannel, type VersionWaiterOptions, type WaitOutcome } from './read-model.js';
export type { DocumentProjection } from './projection.js';
