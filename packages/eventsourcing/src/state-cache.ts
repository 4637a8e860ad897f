/**
 * The states this process last read or wrote of its most recently used streams (the command
 * handler, the workflow runtime): a bounded map, least recently used out first (a Map
 * iterates in insertion order). A kept state is a guess at the stream's head, which the
 * next append's expected version checks.
 */
export class StateCache<Entry extends { version: number }> {
  private readonly entries = new Map<string, Entry>();

  /** At most `capacity` streams; 0 keeps none. */
  constructor(private readonly capacity: number) {}

  get(streamId: string): Entry | undefined {
    const hit = this.entries.get(streamId);
    if (hit) {
      this.entries.delete(streamId);
      this.entries.set(streamId, hit);
    }
    return hit;
  }

  /** Keeps the newer of the two when a slower reader comes back with an older version. */
  set(streamId: string, entry: Entry): void {
    if (this.capacity <= 0) return;
    const known = this.entries.get(streamId);
    if (known && known.version > entry.version) return;
    this.entries.delete(streamId);
    this.entries.set(streamId, entry);
    if (this.entries.size > this.capacity) this.entries.delete(this.entries.keys().next().value!);
  }

  delete(streamId: string): void {
    this.entries.delete(streamId);
  }
}
