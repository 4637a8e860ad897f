import type { ExecutionContext } from 'ava';
import { ValidationError } from '@shop/platform/errors';
import type { Decider, DomainEvent } from '../types.js';
import type { Workflow } from '../workflow/workflow.js';

/**
 * Business rules as specifications (Emmett's given / when / then): given these past
 * events, when this command, then these new events, or this error. One harness for every
 * decider and every workflow, so that each spec file holds rules only.
 */
export interface Then<Out> {
  then(expected: Out[]): void;
  thenThrows(kind: new (...args: never[]) => Error, message: RegExp): void;
  /** A ValidationError naming `field`. */
  thenInvalid(field: string, message: RegExp): void;
}

function outcome<Out>(t: ExecutionContext, run: () => Out[]): Then<Out> {
  return {
    then: (expected) => void t.deepEqual(run(), expected),
    thenThrows: (kind, message) => void t.throws(run, { instanceOf: kind, message }),
    thenInvalid: (field, message) => {
      const err = t.throws(run, { instanceOf: ValidationError, message });
      t.is(err?.field, field);
    },
  };
}

/** `deciderSpec(cartDecider)` → `given(t, [itemAdded()]).when(checkOut()).then([checkedOut()])`. */
export function deciderSpec<State, Command, Event extends DomainEvent>(decider: Decider<State, Command, Event>) {
  return (t: ExecutionContext, history: Event[]) => {
    const state = () => history.reduce(decider.evolve, decider.initialState());
    return {
      when: (command: Command): Then<Event> => outcome(t, () => decider.decide(command, state())),
      /** The state this history leaves, for rules stated on the state itself. */
      state,
    };
  };
}

/**
 * `workflowSpec(checkout)` → `given(t, [started(), reserveStock()]).when(reserved()).then([markStockReserved()])`.
 * The history holds inputs and the commands issued, as the workflow's stream does.
 */
export function workflowSpec<Input extends DomainEvent, State, Output extends DomainEvent>(workflow: Workflow<Input, State, Output>) {
  return (t: ExecutionContext, history: Array<Input | Output>) => {
    const state = () => history.reduce(workflow.evolve, workflow.initialState());
    return {
      when: (input: Input): Then<Output> => outcome(t, () => workflow.decide(input, state())),
      /** The timer the workflow waits for after this history (undefined: none). */
      timeout: () => workflow.timeout?.(state()),
      state,
    };
  };
}
