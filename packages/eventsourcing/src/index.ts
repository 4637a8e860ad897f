/**
 * @shop/eventsourcing: the core, free of drivers (importing it loads no pg, kafkajs or
 * mongodb; core-drivers.unit.spec.ts checks). Adapters and runtimes have their own entries:
 * `/postgres` (the Postgres event store and read-model runtime), `/mongodb` (the MongoDB
 * event store), `/kafka` (envelope, relay, processor, projector, reactor, workflow runtime),
 * `/testing` (given/when/then specs and the event store contract suite).
 */
export * from './types.js';
export * from './codec.js';
export * from './command-handler.js';
export { Doorbell } from './doorbell.js';
export { MalformedEventError } from './errors.js';
export type { Workflow } from './workflow/workflow.js';
export { DEFAULT_MAX_EVENT_BYTES, MAX_STREAM_NAME_LENGTH } from './limits.js';
