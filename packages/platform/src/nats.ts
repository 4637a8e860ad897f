import { connect, type NatsConnection } from 'nats';
import type { Logger } from './log.js';
import type { ProcessContext } from './process.js';

export interface NatsOptions {
  url: string;
  /** Connection name, shown by the server's monitoring (the process name). */
  name: string;
  log: Logger;
  /** Pause between reconnection attempts (default 1 s). */
  reconnectTimeWaitMs?: number;
}

/**
 * The NATS connection of a process. It reconnects for as long as the process lives: the
 * client's default gives up after 10 attempts (about 20 s) and then stays closed, so a
 * NATS restart longer than that silenced the process for good (the cart projector stopped
 * announcing cart updates). Messages published while disconnected are buffered by the
 * client; what NATS carries here are notifications, which readers re-query anyway.
 * The first connection still fails fast, so a process started without NATS exits and is
 * restarted by its supervisor rather than reporting ready without it.
 */
export async function connectNats(opts: NatsOptions): Promise<NatsConnection> {
  const log = opts.log.child({ component: 'nats' });
  const nc = await connect({
    servers: opts.url,
    name: opts.name,
    maxReconnectAttempts: -1,
    reconnectTimeWait: opts.reconnectTimeWaitMs ?? 1_000,
  });
  void (async () => {
    for await (const s of nc.status()) {
      if (s.type === 'disconnect') log.warn({ server: s.data }, 'NATS connection lost; reconnecting');
      else if (s.type === 'reconnect') log.info({ server: s.data }, 'NATS connection restored');
      else if (s.type === 'error') log.warn({ err: s.data }, 'NATS connection error');
    }
  })();
  return nc;
}

/** What openNats reads: spread `natsEnv` (config.ts) into the process's schema. */
export type NatsConfig = { NATS_URL: string };

/**
 * The process's NATS connection (NATS_URL, or the `url` given), as connectNats makes it,
 * drained at shutdown. It reconnects for ever; one that closes all the same (the server
 * refused its credentials twice) never opens again. For a process that needs NATS, /readyz
 * checks it, and a close stops the process with exit 1 for its supervisor to start it
 * afresh, rather than leave it running without. With `optional` (a process that works
 * without NATS, user-command's mails), there is no readiness check, and a close is logged
 * as an error and leaves the process running.
 */
export function openNats(ctx: ProcessContext<NatsConfig>, opts?: { optional?: boolean }): Promise<NatsConnection>;
export function openNats(ctx: ProcessContext<unknown>, opts: { url: string; optional?: boolean }): Promise<NatsConnection>;
export async function openNats(ctx: ProcessContext<unknown>, opts: { url?: string; optional?: boolean } = {}): Promise<NatsConnection> {
  const url = opts.url ?? (ctx.config as NatsConfig).NATS_URL;
  const nc = await connectNats({ url, name: ctx.name, log: ctx.log });
  // A connection already closed has nothing to drain (drain would throw).
  ctx.lifecycle.onShutdown('nats', () => (nc.isClosed() ? undefined : nc.drain()));
  if (!opts.optional) {
    ctx.readiness.add({
      name: 'nats',
      check: async () => {
        if (nc.isClosed()) throw new Error('NATS connection closed');
      },
    });
  }
  void nc.closed().then((err) => {
    if (ctx.lifecycle.isStopping) return;
    if (opts.optional) ctx.log.error({ err }, 'NATS connection closed for good: what this process sends on NATS is lost until it restarts');
    else ctx.lifecycle.fail('NATS connection closed', err ?? new Error('closed without an error'));
  });
  return nc;
}
