import { MongoClient, type Db } from 'mongodb';
import { z } from 'zod';
import type { EventStore } from '@shop/eventsourcing';
import { MongoEventStore, mongoRelaySource } from '@shop/eventsourcing/mongodb';
import { PostgresEventStore } from '@shop/eventsourcing/postgres';
import type { RelaySource } from '@shop/eventsourcing/kafka';
import type { Readiness } from '@shop/platform/ops-server';
import type { Pool } from '@shop/platform/postgres/pool';
import type { Lifecycle } from '@shop/platform/shutdown';

/** Where the cart's events are kept: the configuration of the cart's command and projector processes. */
export const eventStoreEnv = {
  /** `postgres`: the events table of the cart database (DATABASE_URL). `mongodb`: MONGODB_URL. */
  EVENT_STORE: z.enum(['postgres', 'mongodb']).default('postgres'),
  MONGODB_URL: z
    .string()
    .regex(/^mongodb(\+srv)?:\/\//, 'a mongodb:// URL')
    .optional(),
  MONGODB_DATABASE: z.string().min(1).default('cart'),
};

type EventStoreConfig = { EVENT_STORE: 'postgres' | 'mongodb'; MONGODB_URL?: string | undefined; MONGODB_DATABASE: string };

/** For the config schema's superRefine: MONGODB_URL is required with EVENT_STORE=mongodb. */
export function checkEventStoreConfig(config: EventStoreConfig, ctx: z.RefinementCtx): void {
  if (config.EVENT_STORE === 'mongodb' && !config.MONGODB_URL) {
    ctx.addIssue({ code: 'custom', path: ['MONGODB_URL'], message: 'required when EVENT_STORE=mongodb' });
  }
}

export interface CartEventStore {
  store: EventStore;
  /** What the relay publishes from: the Postgres events table, or the store's own source. */
  relay: { pool: Pool; table: string } | { source: RelaySource };
}

/**
 * The cart's event store as configured. The cart's events need no transaction of their
 * own (its commands write nothing beside them), so either adapter serves. With MongoDB,
 * the read model, the relay's reactions' inboxes and everything else stay in Postgres.
 */
export async function openCartEventStore(
  config: EventStoreConfig,
  pool: Pool,
  ctx: { lifecycle: Lifecycle; readiness: Readiness; onAppended?: () => void },
): Promise<CartEventStore> {
  const onAppended = ctx.onAppended ? { onAppended: ctx.onAppended } : {};
  if (config.EVENT_STORE === 'postgres') return { store: new PostgresEventStore(pool, onAppended), relay: { pool, table: 'events' } };
  const client = new MongoClient(config.MONGODB_URL!);
  await client.connect();
  ctx.lifecycle.onShutdown('mongodb', () => client.close());
  const db = client.db(config.MONGODB_DATABASE);
  ctx.readiness.add({ name: 'mongodb', check: async () => void (await db.command({ ping: 1 })) });
  return mongoCartEventStore(db, ctx.onAppended);
}

/** The cart's events in a MongoDB database, its indexes made; the relay keeps its place there too. */
export async function mongoCartEventStore(db: Db, onAppended?: () => void): Promise<CartEventStore> {
  const store = new MongoEventStore(db, onAppended ? { onAppended } : {});
  await store.migrate();
  return { store, relay: { source: mongoRelaySource(db, store, { name: 'cart' }) } };
}
