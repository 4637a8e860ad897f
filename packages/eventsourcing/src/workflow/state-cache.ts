/**
 * The state a workflow instance was left in by this process's last step of it, for the most
 * recently stepped instances: the next step skips folding the stream.
 *
 * It is only a guess at the stream's head. The step appends with the kept version as the
 * expected one, so a step of another process since makes the append fail, and the step reads
 * the stream again. That holds as long as a version once committed is never committed again
 * with other events (a failover to a replica that lost commits would break it), and as long as
 * `evolve` returns new states rather than changing the ones it is given.
 */
export interface KeptState<State> {
  state: State;
  version: number;
  /** The ids of the instance's recorded inputs and commands: a known input is a duplicate. */
  ids: Set<string>;
}

/** At most `size` instances, the least recently used one leaving first. */
export class StateCache<State> {
  private readonly entries = new Map<string, KeptState<State>>();

  constructor(private readonly size: number) {}

  get(instanceId: string): KeptState<State> | undefined {
    const entry = this.entries.get(instanceId);
    if (entry) {
      // Most recently used last.
      this.entries.delete(instanceId);
      this.entries.set(instanceId, entry);
    }
    return entry;
  }

  set(instanceId: string, entry: KeptState<State>): void {
    this.entries.delete(instanceId);
    this.entries.set(instanceId, entry);
    if (this.entries.size > this.size) this.entries.delete(this.entries.keys().next().value!);
  }

  delete(instanceId: string): void {
    this.entries.delete(instanceId);
  }
}
