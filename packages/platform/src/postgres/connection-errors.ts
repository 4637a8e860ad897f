/**
 * Whether a failure means "the database or the network is not there right now" (retry the
 * same work later) rather than "this statement or this input is wrong" (retrying changes
 * nothing). The relay drops its leader session on these; processors retry them instead of
 * dead-lettering the event.
 */
export function isConnectionError(err: unknown): boolean {
  return someCause(err, (e) => {
    const code = typeof e.code === 'string' ? e.code : '';
    if (pgConnectionStates.test(code) || networkCodes.has(code)) return true;
    return typeof e.message === 'string' && driverMessages.test(e.message);
  });
}

/**
 * SQLSTATE class 08 (connection exception), 57P01 admin_shutdown (a restart or a
 * terminated backend), 57P02 crash_shutdown, 57P03 cannot_connect_now (starting up or
 * shutting down), 53300 too_many_connections.
 */
const pgConnectionStates = /^(08...|57P0[123]|53300)$/;

/** Node's codes for a peer that is gone, refusing, or unreachable (DNS included). */
const networkCodes = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'EHOSTDOWN',
  'ENETUNREACH',
  'ENETDOWN',
]);

/** node-postgres reports a lost or unobtainable connection in these words, without a code. */
const driverMessages = /Connection terminated|Client has encountered a connection error|timeout exceeded when trying to connect|Client was closed and is not queryable|Connection refused/i;

interface ErrorLike {
  code?: unknown;
  message?: unknown;
  cause?: unknown;
  errors?: unknown;
}

/** Tests the error and what it wraps: `cause`, and each error of an AggregateError (Node's happy-eyeballs connect). */
function someCause(err: unknown, test: (e: ErrorLike) => boolean, depth = 0): boolean {
  if (typeof err !== 'object' || err === null || depth > 5) return false;
  const e = err as ErrorLike;
  if (test(e)) return true;
  if (someCause(e.cause, test, depth + 1)) return true;
  return Array.isArray(e.errors) && e.errors.some((inner) => someCause(inner, test, depth + 1));
}
