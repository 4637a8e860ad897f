/**
 * The vocabulary of the event-sourcing core (DESIGN.md, "Event envelope").
 * Domain code sees only DomainEvent and Decider; adapters see the envelope.
 */

/** Metadata carried by every event. */
export interface EventMetadata {
  correlationId?: string;
  causationId?: string;
  actor?: string;
  traceparent?: string;
}

/**
 * An event as the domain knows it: `type` is the fully qualified protobuf message
 * name (`shop.cart.v1.ItemAdded`), `data` the decoded message.
 */
export interface DomainEvent<T extends string = string, D = unknown> {
  type: T;
  data: D;
}

/** An event as stored and published: the envelope with `data` in proto3 JSON. */
export interface RecordedEvent {
  id: string;
  type: string;
  streamId: string;
  streamType: string;
  /** Per stream, from 1. */
  version: number;
  /** Global, in the store: increasing in the order the store reads all events (gaps allowed). */
  position: number;
  occurredAt: string;
  data: unknown;
  metadata: EventMetadata;
}

/**
 * Where a reader of all events stands, opaque to everything but the adapter that made it
 * (Postgres: the writing transaction and the position; MongoDB: the commit's position).
 * Keep it and hand it back; never compare or build one outside its adapter.
 */
export type GlobalCheckpoint = string;

/** Before the first event, in every adapter. */
export const START: GlobalCheckpoint = '';

/** An event read from the store's global order, with the checkpoint that follows it. */
export interface StoredEvent extends RecordedEvent {
  checkpoint: GlobalCheckpoint;
}

/** What the caller expects the stream's current version to be. */
export type ExpectedVersion =
  /** The stream must not exist yet. */
  | 'no_stream'
  /** No check (still appended after whatever is there). */
  | 'any'
  /** Exactly this version (0 = no stream). */
  | number;

export interface NewEvent {
  id?: string;
  type: string;
  data: unknown;
  metadata?: EventMetadata;
}

export interface AppendResult {
  /** Stream version after the append (the last new event's). */
  version: number;
  /** Global position of the last new event. */
  position: number;
}

/**
 * Extra writes that must commit with an append (e.g. a uniqueness claim), given the
 * adapter's own transaction `Tx`. An adapter without transactions has `Tx = never`, and
 * then no such hook exists (the type is `never`: none can be passed).
 */
export type InTransaction<Tx> = [Tx] extends [never] ? never : (tx: Tx) => Promise<void>;

export interface AppendOptions<Tx = never> {
  /** Runs in the append's transaction; its failure aborts the append. */
  inTransaction?: InTransaction<Tx>;
}

/**
 * The event store port. Adapters: Postgres (default), MongoDB, EventStoreDB/KurrentDB; all pass the same
 * contract suite (testing/store-contract.ts). `Tx` is what an adapter lets a caller write
 * in the append's transaction; code that needs none takes the plain `EventStore`, which
 * every adapter is.
 */
export interface EventStore<Tx = never> {
  /** Appends atomically, or throws ConcurrencyError when the stream is not at `expected`. */
  append(streamType: string, streamId: string, events: NewEvent[], expected: ExpectedVersion, options?: AppendOptions<Tx>): Promise<AppendResult>;
  /** The stream's events with version > `after` (and ≤ `upTo`), in version order. */
  readStream(streamId: string, options?: { after?: number; upTo?: number }): Promise<RecordedEvent[]>;
  /**
   * Events after `checkpoint` (START: from the beginning), in a stable global order; never
   * skips one that becomes visible later. Each carries the checkpoint to continue from.
   */
  readAll(checkpoint: GlobalCheckpoint, options?: { limit?: number; streamTypes?: string[] }): Promise<StoredEvent[]>;
}

/**
 * Business logic as three pure functions (Emmett's decider): `decide` throws a domain
 * error (ValidationError, IllegalStateError, …) when the command is not allowed.
 */
export interface Decider<State, Command, Event extends DomainEvent> {
  initialState(): State;
  evolve(state: State, event: Event): State;
  decide(command: Command, state: State): Event[];
}

/** Turns domain events into stored ones and back (protobuf JSON mapping for our events). */
export interface EventCodec<Event extends DomainEvent> {
  encode(event: Event): { type: string; data: unknown };
  /** undefined for a type this codec does not know (ignored by folds and projections). */
  decode(type: string, data: unknown): Event | undefined;
}
