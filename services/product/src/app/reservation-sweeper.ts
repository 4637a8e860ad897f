import type { Logger } from '@shop/platform/log';
import type { EventMetadata } from '@shop/platform/outbox';

export interface ReservationSweeper {
  /** Releases every reservation due now (bounded per round); how many it released. */
  sweep(): Promise<number>;
  /** Stops the timer and waits for a round in progress. */
  stop(): Promise<void>;
}

export interface ReservationSweeperOptions {
  /** One due reservation released in a transaction of its own (Reservations.expireNext). */
  expireNext: (meta: EventMetadata) => Promise<string | undefined>;
  intervalMs: number;
  log: Logger;
  /** Most reservations released per round, so that a backlog never starves the next one. */
  batchSize?: number;
  /** Counts each release (a metric). */
  onExpired?: () => void;
}

const meta: EventMetadata = { actor: 'product/reservation-sweeper' };

/**
 * Gives back the stock of reservations whose deadline passed. Every replica runs one:
 * each reservation is claimed with FOR UPDATE SKIP LOCKED in its own short transaction,
 * so replicas share the work instead of waiting on each other, and no transaction stays
 * open across the pause between rounds. Calls on a lapsed order release it themselves
 * (domain/reservation.ts), so the sweeper's pace only bounds how long stock stays held.
 */
export function startReservationSweeper(opts: ReservationSweeperOptions): ReservationSweeper {
  const batchSize = opts.batchSize ?? 100;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let round: Promise<unknown> = Promise.resolve();

  async function sweep(): Promise<number> {
    let released = 0;
    while (released < batchSize && !stopped) {
      const orderId = await opts.expireNext(meta);
      if (orderId === undefined) break;
      released++;
      opts.onExpired?.();
      opts.log.info({ orderId }, 'reservation expired: stock released');
    }
    return released;
  }

  const schedule = () => {
    if (stopped) return;
    timer = setTimeout(() => {
      round = sweep().then(
        schedule,
        // A failed round (Postgres away) is retried at the next one; what was not released stays due.
        (err: unknown) => {
          opts.log.error({ err }, 'reservation sweep failed');
          schedule();
        },
      );
    }, opts.intervalMs);
  };
  schedule();

  return {
    sweep,
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await round;
    },
  };
}
