/**
 * A warning that may be provoked at will (anyone on the NATS network can publish junk), so
 * it is logged at most once per interval with a count, however often it happens: the log
 * cannot be flooded. Generic: nothing here knows what is warned about.
 */
import type { Logger } from './log.js';

/** Logs `msg` at most once per `everyMs`, with how many times it happened since the last line. */
export function rareWarning(log: Logger, msg: string, everyMs: number, now: () => number): (fields: Record<string, unknown>) => void {
  let count = 0;
  let loggedAt = -Infinity;
  return (fields) => {
    count++;
    if (now() - loggedAt < everyMs) return;
    loggedAt = now();
    log.warn({ ...fields, count }, msg);
    count = 0;
  };
}
