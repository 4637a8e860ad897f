/**
 * @shop/eventsourcing/kafka: what carries events over Kafka: the envelope, the relay from
 * any store's RelaySource (or a Postgres table, event store or outbox) to topics, and the
 * consumers built on the processor (projector, reactor, workflow runtime). Loads kafkajs,
 * and pg for the processor's inbox and checkpoints in Postgres.
 */
export { toKafkaMessage, fromKafkaValue, isTraceparent } from './envelope.js';
export { startRelay, relayMigrations, type Relay, type RelayOptions, type RelaySource, type RelayLeadership } from './relay.js';
export { startProjector, isTransient, type Projector, type ProjectorOptions } from './projector.js';
export { startProcessor, type Processor, type ProcessorOptions, type BatchContext, type BatchOutcome } from './processor/processor.js';
export { Inbox, processorMigrations } from './processor/inbox.js';
export { startReactor, type Reaction, type ReactionContext, type ReactorOptions } from './processor/reactor.js';
export { WorkflowRuntime, workflowMigrations, type LocalEffect, type RemoteEffect, type StepResult, type WorkflowRuntimeOptions } from './workflow/runtime.js';
