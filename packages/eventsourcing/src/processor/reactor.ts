import type { Logger } from '@shop/platform/log';
import { withTransaction, type Pool, type PoolClient } from '@shop/platform/postgres/pool';
import type { RecordedEvent } from '../types.js';
import { Inbox } from './inbox.js';
import { startProcessor, type BatchOutcome, type Processor, type ProcessorOptions } from './processor.js';

/** What a reaction may use besides its event. */
export interface ReactionContext {
  log: Logger;
  /**
   * Runs `fn` in the transaction that also marks this event handled: both commit, or
   * neither. `fn` is skipped (resolves undefined) when the event turns out to be handled
   * already — by a consumer that held the partition a moment ago.
   */
  transaction<T>(fn: (tx: PoolClient) => Promise<T>): Promise<T | undefined>;
}

/**
 * A reaction to one event: usually a command to this service or another one. Run at
 * least once per event, so it must be idempotent (a command that finds its work done
 * decides nothing); an effect outside `ctx.transaction` may run again after a crash.
 */
export type Reaction = (event: RecordedEvent, ctx: ReactionContext) => Promise<void>;

export interface ReactorOptions extends Omit<ProcessorOptions, 'handle' | 'onDeadLetter' | 'accepts'> {
  /** Where its inbox lives (the `processor_checkpoints` table: processorMigrations). */
  pool: Pool;
  /** Reactions by event type (`X.$type`); events of other types are skipped. */
  reactions: Record<string, Reaction>;
}

/**
 * Event → command, once per event (DESIGN.md: the reactor). Built on the processor: it
 * adds the inbox, so a redelivered event is recognised and skipped. Events are handled
 * one after another within a partition, in order.
 */
export function startReactor(opts: ReactorOptions): Promise<Processor> {
  const inbox = new Inbox(opts.name);
  const log = opts.log.child({ component: 'reactor', reactor: opts.name });
  return startProcessor({
    ...opts,
    accepts: (e) => Object.hasOwn(opts.reactions, e.type),
    async handle(events, batch): Promise<BatchOutcome> {
      const outcome = { applied: 0, duplicates: 0 };
      for (const event of events) {
        if (!batch.isRunning()) throw new Error('processor stopping: batch abandoned');
        if (await inbox.isHandled(opts.pool, event)) {
          outcome.duplicates++;
          continue;
        }
        let recorded = false;
        let duplicate = false;
        await opts.reactions[event.type]!(event, {
          log: log.child({ eventId: event.id, type: event.type, streamId: event.streamId }),
          transaction: (fn) =>
            withTransaction(opts.pool, async (tx) => {
              if (!(await inbox.claim(tx, event))) {
                duplicate = true;
                return undefined;
              }
              const result = await fn(tx);
              await inbox.record(tx, [event]);
              recorded = true;
              return result;
            }),
        });
        if (!recorded && !duplicate) await inbox.record(opts.pool, [event]);
        if (duplicate) outcome.duplicates++;
        else outcome.applied++;
        await batch.heartbeat();
      }
      return outcome;
    },
    // A reaction that keeps failing is skipped for good once dead-lettered.
    onDeadLetter: (event) => inbox.record(opts.pool, [event]),
  });
}
