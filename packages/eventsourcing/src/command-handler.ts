import { ConcurrencyError } from '@shop/platform/errors';
import type { Decider, DomainEvent, EventCodec, EventMetadata, EventStore, InTransaction } from './types.js';

export interface CommandHandlerOptions<State, Command, Event extends DomainEvent> {
  store: EventStore;
  streamType: string;
  decider: Decider<State, Command, Event>;
  codec: EventCodec<Event>;
  /** Attempts after a conflict before answering ABORTED (default 3). */
  maxRetries?: number;
}

export interface HandleOptions<Event extends DomainEvent> {
  metadata?: EventMetadata;
  /** The client's expected stream version: checked exactly, never retried. */
  expectedVersion?: number;
  /** Writes that must commit with the new events (e.g. a uniqueness claim). */
  inTransaction?: (events: Event[]) => InTransaction | undefined;
}

export interface HandleResult<State, Event extends DomainEvent> {
  /** Stream version after the command (unchanged when it decided no events). */
  version: number;
  /** Global position of the last new event (0 when there was none). */
  position: number;
  events: Event[];
  state: State;
}

/**
 * The generic command side: read the stream → fold `evolve` → `decide` → append with the
 * version read as the expected version. A conflicting writer makes the append fail; the
 * whole cycle is then retried on the fresh stream, a bounded number of times, then
 * ConcurrencyError (ABORTED).
 */
export function commandHandler<State, Command, Event extends DomainEvent>(opts: CommandHandlerOptions<State, Command, Event>) {
  const maxRetries = opts.maxRetries ?? 3;

  async function load(streamId: string): Promise<{ state: State; version: number }> {
    let state = opts.decider.initialState();
    let version = 0;
    for (const recorded of await opts.store.readStream(streamId)) {
      const e = opts.codec.decode(recorded.type, recorded.data);
      if (e) state = opts.decider.evolve(state, e);
      version = recorded.version;
    }
    return { state, version };
  }

  return {
    load,
    async handle(streamId: string, command: Command, options: HandleOptions<Event> = {}): Promise<HandleResult<State, Event>> {
      for (let attempt = 0; ; attempt++) {
        const { state, version } = await load(streamId);
        if (options.expectedVersion !== undefined && options.expectedVersion !== version) {
          throw new ConcurrencyError(`expected_version: stream ${streamId} is at version ${version}, not ${options.expectedVersion}`);
        }
        const events = opts.decider.decide(command, state);
        const next = events.reduce(opts.decider.evolve, state);
        if (events.length === 0) return { version, position: 0, events, state: next };
        try {
          const inTransaction = options.inTransaction?.(events);
          const result = await opts.store.append(
            opts.streamType,
            streamId,
            events.map((e) => ({ ...opts.codec.encode(e), ...(options.metadata ? { metadata: options.metadata } : {}) })),
            version,
            inTransaction ? { inTransaction } : {},
          );
          return { ...result, events, state: next };
        } catch (err) {
          const retry = err instanceof ConcurrencyError && options.expectedVersion === undefined && attempt < maxRetries;
          if (!retry) throw err;
        }
      }
    },
  };
}
