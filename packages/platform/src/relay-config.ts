import { z } from 'zod';
import { env } from './config.js';

/**
 * Who publishes a CRUD service's outbox (product, order): one variable for the whole choice.
 *
 * - `builtin` (the default): the relay in this process; one leader per database, whatever the
 *   replica count;
 * - `debezium`: Kafka Connect reads the outbox by logical decoding (tools/stack/debezium) and
 *   this process runs no outbox relay; other relays of the process (order's checkout stream,
 *   an event store table) still run;
 * - `off`: this process runs no relay at all (another process publishes; a gRPC-only replica).
 */
export const relayModes = ['builtin', 'debezium', 'off'] as const;
export type RelayMode = (typeof relayModes)[number];

/**
 * RELAY with `modes` (the first is the default). RELAY_ENABLED, what RELAY=off was before,
 * is refused rather than ignored: a deployment that still says RELAY_ENABLED=false would
 * otherwise start a relay it meant to keep off.
 */
function relayEnvOf<const M extends readonly [string, ...string[]]>(modes: M) {
  return {
    RELAY: z.enum(modes).default(modes[0]),
    RELAY_ENABLED: z.undefined({ error: `replaced by RELAY (${modes.join('|')}); RELAY=off runs no relay in this process` }).optional(),
  };
}

export const relayEnv = relayEnvOf(relayModes);

/**
 * The same variable for a process whose relay has no Debezium alternative here (the event
 * stores' relays of cart-command and user-command, payment's outbox): `builtin` (the
 * default) or `off` (another process publishes).
 */
export const builtinRelayModes = ['builtin', 'off'] as const;
export const builtinRelayEnv = relayEnvOf(builtinRelayModes);

/**
 * How long a CRUD service's outbox keeps a row once its relay has published it, counted
 * from the row's write (default 7 days: time to look into what was sent; Kafka keeps the
 * events themselves); 0 keeps every row for good. The relay's leader deletes older
 * published rows every 10 seconds (rows the broker refused stay), so the outbox no longer
 * grows with every change ever made. Needs the built-in relay (RELAY=builtin): it knows
 * what is published; with Debezium or another process publishing, nothing is deleted here.
 */
export const outboxRetentionEnv = {
  OUTBOX_RETENTION_MS: env.durationMs(7 * 24 * 60 * 60 * 1000),
};
