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

/**
 * The process's NATS connection (NATS_URL, or `url`), as connectNats makes it, drained at
 * shutdown, with a `nats` readiness check. The connection reconnects for ever; one that
 * closes all the same (the server refused it for good) never opens again, so the process
 * stops and exits 1 for its supervisor to start it afresh, rather than live on without it.
 */
export async function openNats(p: ProcessContext<{ NATS_URL?: string | undefined }>, opts: { url?: string } = {}): Promise<NatsConnection> {
  const url = opts.url ?? p.config.NATS_URL;
  if (!url) throw new Error('openNats: NATS_URL is not set');
  const nc = await connectNats({ url, name: p.name, log: p.log });
  p.lifecycle.onShutdown('nats', () => nc.drain());
  p.readiness.add({
    name: 'nats',
    check: async () => {
      if (nc.isClosed()) throw new Error('NATS connection closed');
    },
  });
  void nc.closed().then((err) => {
    if (!p.lifecycle.isStopping) p.lifecycle.fail('NATS connection closed', err ?? new Error('closed without an error'));
  });
  return nc;
}
