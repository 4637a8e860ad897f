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
  /** Global, in the store (allocation order). */
  position: number;
  /** The writing transaction: with `position`, the order readers of all events follow. */
  transactionId: string;
  occurredAt: string;
  data: unknown;
  metadata: EventMetadata;
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
 * Where a reader of all events stands: the last (transaction, position) it has seen.
 * Ordering by (transactionId, position) over committed transactions only is what makes
 * "read all" safe under concurrent writers (see postgres/store.ts).
 */
export interface GlobalCheckpoint {
  transactionId: string;
  position: number;
}

export const START: GlobalCheckpoint = { transactionId: '0', position: 0 };

/** Extra writes that must commit with an append (e.g. a uniqueness claim). */
export type InTransaction = (tx: { query: (sql: string, params?: unknown[]) => Promise<unknown> }) => Promise<void>;

/** The event store port. Adapters: Postgres (default); others pass the same contract suite. */
export interface EventStore {
  /**
   * Appends atomically, or throws ConcurrencyError when the stream is not at `expected`.
   * `inTransaction` runs in the same transaction (its failure aborts the append).
   */
  append(
    streamType: string,
    streamId: string,
    events: NewEvent[],
    expected: ExpectedVersion,
    options?: { inTransaction?: InTransaction },
  ): Promise<AppendResult>;
  /** The stream's events with version > `after` (and ≤ `upTo`), in version order. */
  readStream(streamId: string, options?: { after?: number; upTo?: number }): Promise<RecordedEvent[]>;
  /** Committed events after `checkpoint`, in a stable global order; never skips one that commits later. */
  readAll(checkpoint: GlobalCheckpoint, options?: { limit?: number; streamTypes?: string[] }): Promise<RecordedEvent[]>;
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
