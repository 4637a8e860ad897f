import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

/** The kafkajs release whose request queue this patches (its last release, 2023). */
const PATCHED_KAFKAJS_VERSION = '2.2.4';
/** kafkajs's own pause between two looks at requests held back by throttling. */
const CHECK_PENDING_REQUESTS_INTERVAL_MS = 10;

interface RequestQueueInternals {
  pending: unknown[];
  throttledUntil: number;
  throttleCheckTimeoutId: NodeJS.Timeout | null;
  checkPendingRequests(): void;
  scheduleCheckPendingRequests(): void;
}

/** kafkajs's RequestQueue class (one instance per broker connection), from its sources. */
export const requestQueueClass = (): { prototype: RequestQueueInternals } & (new (options: Record<string, unknown>) => RequestQueueInternals) =>
  require('kafkajs/src/network/requestQueue/index.js');

/**
 * kafkajs 2.2.4 keeps every broker connection's request queue awake for nothing: with no
 * request waiting, `scheduleCheckPendingRequests` arms a timer with a negative delay
 * (Node makes it 1 ms) whose `checkPendingRequests` arms it again, about a thousand wake-ups
 * a second per connection for as long as the connection lives, idle or busy
 * (tulios/kafkajs#1556 and #1704; the fix, #1667, was never released). Every process of the
 * stack holds several connections (consumer, group coordinator, producer, admin).
 *
 * This puts #1667's method in its place: a check is scheduled only while requests wait
 * (when throttling ends, or kafkajs's 10 ms); a new request, or an answer that frees a
 * place, looks at the queue at once anyway, as before. Applied once, and only to the
 * release it was written for: another release keeps its own method, and this answers false.
 */
export function fixKafkajsIdleLoop(): boolean {
  const version = (require('kafkajs/package.json') as { version: string }).version;
  if (version !== PATCHED_KAFKAJS_VERSION) return false;
  const proto = requestQueueClass().prototype;
  if ((proto.scheduleCheckPendingRequests as { fixed?: boolean }).fixed) return true;
  const scheduleCheckPendingRequests = function (this: RequestQueueInternals) {
    if (this.throttleCheckTimeoutId || this.pending.length === 0) return;
    const throttledFor = this.throttledUntil - Date.now();
    this.throttleCheckTimeoutId = setTimeout(
      () => {
        this.throttleCheckTimeoutId = null;
        this.checkPendingRequests();
      },
      throttledFor > 0 ? throttledFor : CHECK_PENDING_REQUESTS_INTERVAL_MS,
    );
  };
  proto.scheduleCheckPendingRequests = Object.assign(scheduleCheckPendingRequests, { fixed: true });
  return true;
}
