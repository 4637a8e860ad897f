/**
 * The event store's own append rate, without the service around it: PostgresEventStore.append,
 * one cart event per call, each loop on a new stream of its own with the expected version
 * (append-rate's (a) and (a0), cost-growth's append figures).
 */
import { randomUUID } from 'node:crypto';
import { QuantityChanged } from '@shop/contracts/shop/cart/v1/events';
import { cartEventCodec, CART_STREAM_TYPE } from '@shop/cart';
import type { PostgresEventStore } from '@shop/eventsourcing/postgres';
import type { Pool } from '@shop/platform/postgres/pool';
import { runLoops, type LoopResult } from './stack.js';

/**
 * `clients` closed loops of appends for `seconds` (after runLoops' warm-up), each on a
 * stream of its own; returns the run and those streams' ids.
 */
export async function storeAppendLoops(store: PostgresEventStore, opts: { clients: number; seconds: number }): Promise<{ run: LoopResult; streamIds: string[] }> {
  const productId = randomUUID();
  const streams = Array.from({ length: opts.clients }, () => ({ id: randomUUID(), version: 0 }));
  const run = await runLoops({
    concurrency: opts.clients,
    durationMs: opts.seconds * 1000,
    op: async (w, i) => {
      const s = streams[w]!;
      const event = cartEventCodec.encode({ type: QuantityChanged.$type, data: { cartId: s.id, productId, quantity: 2 + (i % 2) } });
      const r = await store.append(CART_STREAM_TYPE, s.id, [{ ...event, metadata: { correlationId: randomUUID() } }], s.version);
      s.version = r.version;
    },
  });
  return { run, streamIds: streams.map((s) => s.id) };
}

/** The server settings an append rate depends on (shared_buffers: how much of a grown store stays cached). */
export async function postgresSettings(pool: Pool): Promise<Record<string, string>> {
  const { rows } = await pool.query<{ name: string; setting: string }>(
    `SELECT name, setting FROM pg_settings WHERE name IN ('server_version', 'fsync', 'synchronous_commit', 'wal_sync_method', 'commit_delay', 'max_connections', 'shared_buffers')`,
  );
  return Object.fromEntries(rows.map((r) => [r.name, r.setting]));
}
