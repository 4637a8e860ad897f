import type { DomainEvent } from '../types.js';

/**
 * A workflow (process manager), in the shape Emmett gives it: business logic as pure
 * functions over the messages it receives (inputs: events of other services, answers to
 * its commands, requests, timeouts) and the messages it produces (outputs: commands).
 * Its state is the fold of both, kept in a stream of its own (one per instance), so that
 * a restart resumes exactly where it stopped.
 *
 * `decide` must not throw for an input that comes from Kafka or from an answer (it
 * returns no command instead); it may refuse a request made by a caller (e.g. a
 * cancellation of a confirmed order) with a domain error, which the caller receives.
 */
export interface Workflow<Input extends DomainEvent, State, Output extends DomainEvent> {
  /** Stream type of its instances, e.g. `checkout`. */
  name: string;
  initialState(): State;
  decide(input: Input, state: State): Output[];
  /** The next state after an input it received or a command it issued. */
  evolve(state: State, message: Input | Output): State;
  /** The timer an instance waits for in this state: the input delivered to it when due. */
  timeout?(state: State): { at: Date; input: Input } | undefined;
}
