import { ConcurrencyError } from '@shop/platform/errors';
import type { AppendOptions, Decider, DomainEvent, EventCodec, EventMetadata, EventStore, InTransaction } from './types.js';
import { StateCache } from './state-cache.js';

/** `Tx`: the store's transaction, for `inTransaction` (never: a store without, or a caller that needs none). */
export interface CommandHandlerOptions<State, Command, Event extends DomainEvent, Tx = never> {
  store: EventStore<Tx>;
  streamType: string;
  decider: Decider<State, Command, Event>;
  codec: EventCodec<Event>;
  /** Attempts after a conflict before answering ABORTED (default 3). */
  maxRetries?: number;
  /**
   * Streams whose folded state is kept in memory between commands, least recently used
   * out first (default 10,000; 0 turns the cache off). See `commandHandler`.
   */
  cacheSize?: number;
}

export interface HandleOptions<Event extends DomainEvent, Tx = never> {
  metadata?: EventMetadata;
  /** The client's expected stream version: checked exactly, never retried. */
  expectedVersion?: number;
  /** Writes that must commit with the new events (e.g. a uniqueness claim). */
  inTransaction?: (events: Event[]) => InTransaction<Tx> | undefined;
}

export interface HandleResult<State, Event extends DomainEvent> {
  /** Stream version after the command (unchanged when it decided no events). */
  version: number;
  /** Global position of the last new event (0 when there was none). */
  position: number;
  events: Event[];
  state: State;
}

interface Folded<State> {
  state: State;
  version: number;
}

/**
 * The generic command side: fold the stream with `evolve` → `decide` → append with the
 * folded version as the expected version. A conflicting writer makes the append fail;
 * the cycle is then retried on the stream caught up from the store, a bounded number of
 * times, then ConcurrencyError (ABORTED).
 *
 * The folded state of recently used streams stays in memory (an LRU), so that a command
 * on a warm stream costs one statement, the append, instead of a read of the whole stream
 * and the append. The cache cannot make a write wrong: the append still checks the
 * version, so a state that another process (a second replica) has moved on from fails
 * the append with a conflict, and the retry reads just the events it missed. What the
 * append cannot check, the handler does: a command decided from the cache that writes
 * nothing (a no-op, or a rule that refuses it) is decided again on the stream caught up
 * from the store before it is answered, so that neither a wrong no-op nor a wrong refusal
 * (nor a stale version in the answer) comes from memory. Reads that write nothing
 * (`load`) never trust the cache alone either: they catch up from the store first.
 * Deciders must not mutate the state they are given (their `evolve` returns a new one).
 */
export function commandHandler<State, Command, Event extends DomainEvent, Tx = never>(opts: CommandHandlerOptions<State, Command, Event, Tx>) {
  const maxRetries = opts.maxRetries ?? 3;
  const cache = new StateCache<Folded<State>>(opts.cacheSize ?? 10_000);

  /** `from` (or the initial state) with the stream's events after its version folded in. */
  async function catchUp(streamId: string, from?: Folded<State>): Promise<Folded<State>> {
    let state = from?.state ?? opts.decider.initialState();
    let version = from?.version ?? 0;
    for (const recorded of await opts.store.readStream(streamId, { after: version })) {
      const e = opts.codec.decode(recorded.type, recorded.data);
      if (e) state = opts.decider.evolve(state, e);
      version = recorded.version;
    }
    const folded = { state, version };
    cache.set(streamId, folded);
    return folded;
  }

  /** The stream's current state and version, read from the store (from where the cache is). */
  const load = (streamId: string): Promise<Folded<State>> => catchUp(streamId, cache.get(streamId));

  return {
    load,
    async handle(streamId: string, command: Command, options: HandleOptions<Event, Tx> = {}): Promise<HandleResult<State, Event>> {
      for (let attempt = 0; ; attempt++) {
        let current = attempt === 0 ? cache.get(streamId) : undefined;
        let cached = current !== undefined;
        // A client's exact expectation is checked against the store, never a cached guess.
        if (!current || (options.expectedVersion !== undefined && options.expectedVersion !== current.version)) {
          current = await load(streamId);
          cached = false;
        }
        const { state, version } = current;
        if (options.expectedVersion !== undefined && options.expectedVersion !== version) {
          throw new ConcurrencyError(`expected_version: stream ${streamId} is at version ${version}, not ${options.expectedVersion}`);
        }
        let events: Event[];
        try {
          events = opts.decider.decide(command, state);
        } catch (err) {
          // Refused on a state another replica may have moved on from: ask the store.
          if (cached) continue;
          throw err;
        }
        const next = events.reduce(opts.decider.evolve, state);
        if (events.length === 0) {
          // Nothing to append means nothing checks the version: ask the store before answering.
          if (cached) continue;
          return { version, position: 0, events, state: next };
        }
        try {
          const inTransaction = options.inTransaction?.(events);
          const appendOptions: AppendOptions<Tx> = inTransaction ? { inTransaction } : {};
          const result = await opts.store.append(
            opts.streamType,
            streamId,
            events.map((e) => ({ ...opts.codec.encode(e), ...(options.metadata ? { metadata: options.metadata } : {}) })),
            version,
            appendOptions,
          );
          cache.set(streamId, { state: next, version: result.version });
          return { ...result, events, state: next };
        } catch (err) {
          // Whatever happened, the store decides what the stream is now.
          if (!(err instanceof ConcurrencyError)) cache.delete(streamId);
          const retry = err instanceof ConcurrencyError && options.expectedVersion === undefined && attempt < maxRetries;
          if (!retry) throw err;
        }
      }
    },
  };
}
