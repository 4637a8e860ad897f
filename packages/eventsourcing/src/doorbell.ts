/**
 * The in-process wake-up call from writers to the relay: `ring()` after a commit that
 * wrote events or outbox rows. A ring while the relay is busy is remembered, so none is lost.
 */
export class Doorbell {
  private rung = false;
  private wake: (() => void) | undefined;

  ring(): void {
    this.rung = true;
    this.wake?.();
  }

  /** Resolves true at the first ring (or at once if one came since the last wait), false after `ms`. */
  wait(ms: number, signal?: AbortSignal): Promise<boolean> {
    if (this.rung) {
      this.rung = false;
      return Promise.resolve(true);
    }
    return new Promise((resolve) => {
      const done = (rang: boolean) => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        this.wake = undefined;
        this.rung = false;
        resolve(rang);
      };
      const onAbort = () => done(false);
      const timer = setTimeout(() => done(false), ms);
      signal?.addEventListener('abort', onAbort, { once: true });
      this.wake = () => done(true);
    });
  }
}
