import { randomBytes } from 'node:crypto';
import { isDeepStrictEqual } from 'node:util';
import type { Kafka } from 'kafkajs';
import pg from 'pg';
import { cartView, type CartView } from '@shop/cart';
import type { RecordedEvent } from '@shop/eventsourcing';
import { PostgresEventStore } from '@shop/eventsourcing/postgres';
import { waitFor } from '@shop/testing';
import { urls } from '@shop/tools/topology';

/**
 * The invariants a chaos case checks once the system has recovered, each read from the
 * real stores: the cart event store, the cart topic, the cart read model, the order and
 * product databases.
 */

/** Where each partition of a topic ends now (the next offset to be written). */
export async function topicEnds(kafka: Kafka, topic: string): Promise<Map<number, bigint>> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    return new Map((await admin.fetchTopicOffsets(topic)).map((p) => [p.partition, BigInt(p.offset)]));
  } finally {
    await admin.disconnect();
  }
}

/** The `id` header of every message written to `topic` between two `topicEnds`, keyed by Kafka key. */
export async function readTopicBetween(kafka: Kafka, topic: string, from: Map<number, bigint>, to: Map<number, bigint>): Promise<Array<{ key: string; id: string }>> {
  const left = new Map([...to].filter(([p, end]) => end > (from.get(p) ?? 0n)));
  const out: Array<{ key: string; id: string }> = [];
  if (left.size === 0) return out;
  const consumer = kafka.consumer({ groupId: `chaos-reader-${randomBytes(4).toString('hex')}`, maxWaitTimeInMs: 100 });
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    const done = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${topic}: partitions ${[...left.keys()].join(', ')} not read to their end in 60 s`)), 60_000);
      void consumer.run({
        eachMessage: async ({ partition, message }) => {
          const offset = BigInt(message.offset);
          const end = to.get(partition) ?? 0n;
          if (offset < (from.get(partition) ?? 0n) || offset >= end) return;
          out.push({ key: message.key?.toString() ?? '', id: message.headers?.id?.toString() ?? '' });
          if (offset >= end - 1n) left.delete(partition);
          if (left.size === 0) {
            clearTimeout(timer);
            resolve();
          }
        },
      });
    });
    for (const [partition, offset] of from) consumer.seek({ topic, partition, offset: String(offset) });
    await done;
  } finally {
    await consumer.disconnect();
  }
  return out;
}

export interface StoreChecks {
  /** Events in the store for the carts. */
  events: number;
  /** Acknowledged versions the store does not hold. */
  lostAcks: number;
  /** Store events that never reached the topic. */
  missingOnKafka: number;
  /** Extra copies on the topic (the relay is at-least-once: a copy after a crash is allowed, applying it twice is not). */
  duplicateCopiesOnKafka: number;
  /** Carts whose read model differs from the fold of their events (a lost or twice-applied event shows here). */
  readModelMismatches: string[];
  /** Dead letters written for these carts by the projector. */
  deadLetters: number;
}

/**
 * Compares the cart event store with what the commands were told (acks), with the topic,
 * and with the read model: each read model document must equal `cartView.evolve` folded
 * over the cart's events, and its applied version must be the stream's.
 */
export async function checkCarts(opts: {
  cartIds: string[];
  acked: Map<string, number>;
  topicMessages: Array<{ key: string; id: string }>;
}): Promise<StoreChecks> {
  const pool = new pg.Pool({ connectionString: urls.postgres('cart'), max: 4 });
  try {
    const store = new PostgresEventStore(pool);
    const streams = new Map<string, RecordedEvent[]>();
    for (const id of opts.cartIds) streams.set(id, await store.readStream(id));
    const all = [...streams.values()].flat();

    let lostAcks = 0;
    for (const [cartId, version] of opts.acked) if ((streams.get(cartId)?.at(-1)?.version ?? 0) < version) lostAcks++;

    const wanted = new Set(opts.cartIds);
    const copies = new Map<string, number>();
    for (const m of opts.topicMessages) if (wanted.has(m.key)) copies.set(m.id, (copies.get(m.id) ?? 0) + 1);
    const missingOnKafka = all.filter((e) => !copies.has(e.id)).length;
    const duplicateCopiesOnKafka = [...copies.values()].reduce((n, c) => n + (c - 1), 0);

    const views = await cartView.load(pool, cartView.schema, opts.cartIds);
    const { rows: applied } = await pool.query<{ stream_id: string; version: string }>(
      `SELECT stream_id, version FROM ${cartView.schema}.stream_checkpoints WHERE stream_id = ANY($1::text[])`,
      [opts.cartIds],
    );
    const appliedVersion = new Map(applied.map((r) => [r.stream_id, Number(r.version)]));
    const readModelMismatches: string[] = [];
    for (const [cartId, events] of streams) {
      const folded = events.reduce<CartView | null>((doc, e) => cartView.evolve(doc, e), null);
      const stored = views.get(cartId) ?? null;
      const lastVersion = events.at(-1)?.version ?? 0;
      if (!isDeepStrictEqual(normalize(stored), normalize(folded)) || (appliedVersion.get(cartId) ?? 0) !== lastVersion) readModelMismatches.push(cartId);
    }
    const { rows: dead } = await pool.query<{ n: string }>(`SELECT count(*) AS n FROM ${cartView.schema}.dead_letters WHERE stream_id = ANY($1::text[])`, [opts.cartIds]);
    return { events: all.length, lostAcks, missingOnKafka, duplicateCopiesOnKafka, readModelMismatches, deadLetters: Number(dead[0]!.n) };
  } finally {
    await pool.end();
  }
}

/** Times compare as instants (the read model stores timestamptz, the store's text keeps its own form). */
function normalize(view: CartView | null): unknown {
  return view && { ...view, updatedAt: new Date(view.updatedAt).getTime() };
}

export interface SagaChecks {
  orders: number;
  byStatus: Record<string, number>;
  /** Orders not CONFIRMED, FAILED or CANCELLED when the wait ended. */
  stuck: number;
  /** The buyer's carts still checked out with no order placed for them. */
  cartsWithoutOrder: number;
  stock: { initial: number; onHand: number; reserved: number; confirmedUnits: number };
}

/**
 * Waits (up to `timeoutMs`) until every order of the buyer is over, then reads the
 * product's stock: on hand must be the initial stock less the confirmed units, with
 * nothing left reserved. Orders are read by customer, so orders of checkouts whose answer
 * was lost count too.
 */
export async function checkSagas(opts: { buyerId: string; productId: string; initialStock: number; timeoutMs: number }): Promise<SagaChecks> {
  const orders = new pg.Client({ connectionString: urls.postgres('order') });
  const products = new pg.Client({ connectionString: urls.postgres('product') });
  const carts = new pg.Client({ connectionString: urls.postgres('cart') });
  await Promise.all([orders.connect(), products.connect(), carts.connect()]);
  try {
    const statuses = async () =>
      (await orders.query<{ status: string; n: string }>('SELECT status, count(*) AS n FROM orders WHERE customer_id = $1 GROUP BY status', [opts.buyerId])).rows;
    const terminal = ['CONFIRMED', 'FAILED', 'CANCELLED'];
    // Checked-out carts place their orders as the order service catches up; then every order settles.
    const openCarts = async () =>
      Number((await carts.query<{ n: string }>(`SELECT count(*) AS n FROM cart_read.carts WHERE customer_id = $1 AND status = 'checked_out'`, [opts.buyerId])).rows[0]!.n);
    try {
      await waitFor('every order of the buyer over, no cart waiting for its order', async () => (await openCarts()) === 0 && (await statuses()).every((r) => terminal.includes(r.status)), {
        timeoutMs: opts.timeoutMs,
        intervalMs: 250,
      });
    } catch {
      // Reported as stuck below.
    }
    const rows = await statuses();
    const byStatus = Object.fromEntries(rows.map((r) => [r.status, Number(r.n)]));
    const { rows: confirmed } = await orders.query<{ units: string | null }>(
      `SELECT sum(l.quantity) AS units FROM orders o JOIN order_lines l ON l.order_id = o.id WHERE o.customer_id = $1 AND o.status = 'CONFIRMED' AND l.product_id = $2`,
      [opts.buyerId, opts.productId],
    );
    const { rows: stock } = await products.query<{ quantity_on_hand: number; quantity_reserved: number }>('SELECT quantity_on_hand, quantity_reserved FROM products WHERE id = $1', [opts.productId]);
    return {
      orders: rows.reduce((n, r) => n + Number(r.n), 0),
      byStatus,
      stuck: rows.filter((r) => !terminal.includes(r.status)).reduce((n, r) => n + Number(r.n), 0),
      cartsWithoutOrder: await openCarts(),
      stock: {
        initial: opts.initialStock,
        onHand: stock[0]!.quantity_on_hand,
        reserved: stock[0]!.quantity_reserved,
        confirmedUnits: Number(confirmed[0]?.units ?? 0),
      },
    };
  } finally {
    await Promise.all([orders.end(), products.end(), carts.end()]);
  }
}

/** The reason the projector dead-lettered this event with, or undefined if it did not. */
export async function deadLettered(eventId: string): Promise<string | undefined> {
  const db = new pg.Client({ connectionString: urls.postgres('cart') });
  await db.connect();
  try {
    const { rows } = await db.query<{ error: string }>(`SELECT error FROM ${cartView.schema}.dead_letters WHERE event_id = $1`, [eventId]);
    return rows[0]?.error;
  } finally {
    await db.end();
  }
}
