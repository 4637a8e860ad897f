import type { Logger } from './log.js';

type Hook = { name: string; fn: () => Promise<void> | void };

/**
 * Graceful shutdown: on SIGTERM/SIGINT, run the registered hooks in reverse order of
 * registration (stop taking work first, close pools last), each bounded by the grace
 * period, then exit. A second signal, or the deadline, forces the exit.
 */
export class Lifecycle {
  private readonly hooks: Hook[] = [];
  private stopping: Promise<void> | undefined;

  constructor(
    private readonly log: Logger,
    private readonly timeoutMs = 10_000,
  ) {}

  /**
   * Register a hook; hooks run last-registered first. One registered once the shutdown has
   * begun (a main still starting when a dependency failed) runs at once: what it stops was
   * started too late to be stopped in order, and must not outlive the process's exit.
   */
  onShutdown(name: string, fn: Hook['fn']): void {
    if (this.stopping) {
      this.log.info({ hook: name }, 'stopping (started during shutdown)');
      void Promise.resolve()
        .then(fn)
        .catch((err: unknown) => this.log.error({ err, hook: name }, 'shutdown hook failed'));
      return;
    }
    this.hooks.push({ name, fn });
  }

  /**
   * Registers `resource.stop()` as the hook `name` and returns the resource, for what a
   * process starts and must stop: `const relay = lifecycle.own('relay', await startRelay(…))`.
   */
  own<T extends { stop(): Promise<void> | void }>(name: string, resource: T): T {
    this.onShutdown(name, () => resource.stop());
    return resource;
  }

  /** Install the signal handlers (once per process); `failProcess` then stops this lifecycle. */
  handleSignals(): void {
    running = this;
    const handler = (signal: NodeJS.Signals) => {
      if (this.stopping) {
        this.log.warn({ signal }, 'second signal: exiting now');
        process.exit(1);
      }
      this.log.info({ signal }, 'shutting down');
      void this.shutdown().then(
        () => process.exit(0),
        () => process.exit(1),
      );
    };
    process.once('SIGTERM', handler);
    process.once('SIGINT', handler);
  }

  /** Stops gracefully after a failure the process cannot recover from, then exits 1 (its supervisor starts it afresh). */
  fail(reason: string, err: unknown): void {
    this.log.error({ err }, `${reason}: stopping the process`);
    void this.shutdown().finally(() => process.exit(1));
  }

  shutdown(): Promise<void> {
    this.stopping ??= this.runHooks();
    return this.stopping;
  }

  get isStopping(): boolean {
    return this.stopping !== undefined;
  }

  private async runHooks(): Promise<void> {
    const deadline = setTimeout(() => {
      this.log.error({ timeoutMs: this.timeoutMs }, 'shutdown timed out: forcing exit');
      process.exit(1);
    }, this.timeoutMs);
    deadline.unref();
    let failed = false;
    for (const hook of [...this.hooks].reverse()) {
      // One line per hook: a shutdown that times out names the hook it was waiting on.
      this.log.info({ hook: hook.name }, 'stopping');
      try {
        await hook.fn();
      } catch (err) {
        failed = true;
        this.log.error({ err, hook: hook.name }, 'shutdown hook failed');
      }
    }
    clearTimeout(deadline);
    if (failed) throw new Error('shutdown hooks failed');
    this.log.info('stopped');
  }
}

let running: Lifecycle | undefined;

/**
 * Stops the process gracefully and exits 1, for a component that has failed beyond repair
 * (a Kafka consumer kafkajs will not restart). Returns false where no process lifecycle
 * runs (a test), and leaves the caller to report the failure.
 */
export function failProcess(reason: string, err: unknown): boolean {
  if (!running) return false;
  running.fail(reason, err);
  return true;
}
