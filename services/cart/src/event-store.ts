import type { Db } from 'mongodb';
import { z } from 'zod';
import type { EventStore } from '@shop/eventsourcing';
import { PostgresEventStore } from '@shop/eventsourcing/postgres';
import type { RelaySource } from '@shop/eventsourcing/kafka';
import { env } from '@shop/platform/config';
import type { Pool } from '@shop/platform/postgres/pool';
import type { ProcessContext } from '@shop/platform/process';
import { CART_STREAM_TYPE } from './domain/events.js';

/** Where the cart's events are kept: the configuration of the cart's command and projector processes. */
export const eventStoreEnv = {
  /** `postgres`: the events table of the cart database (DATABASE_URL). `mongodb`: MONGODB_URL. `eventstoredb`: EVENTSTORE_URL. */
  EVENT_STORE: z.enum(['postgres', 'mongodb', 'eventstoredb']).default('postgres'),
  /** With the cart role's password: production refuses a URL without one, or with a placeholder or short one, as it does DATABASE_URL. */
  MONGODB_URL: env.databaseUrlOf(
    z
      .string()
      .regex(/^mongodb(\+srv)?:\/\//, 'a mongodb:// URL')
      .optional(),
  ),
  MONGODB_DATABASE: z.string().min(1).default('cart'),
  /** A KurrentDB / EventStoreDB connection string, e.g. kurrentdb://127.0.0.1:2113?tls=false. */
  EVENTSTORE_URL: z
    .string()
    .regex(/^(kurrentdb|kurrent|kdb|esdb)(\+discover)?:\/\//, 'a kurrentdb:// (or esdb://) connection string')
    .optional(),
};

type EventStoreConfig = {
  EVENT_STORE: 'postgres' | 'mongodb' | 'eventstoredb';
  MONGODB_URL?: string | undefined;
  MONGODB_DATABASE: string;
  EVENTSTORE_URL?: string | undefined;
};

/** For the config schema's superRefine: MONGODB_URL is required with EVENT_STORE=mongodb, EVENTSTORE_URL with eventstoredb. */
export function checkEventStoreConfig(config: EventStoreConfig, ctx: z.RefinementCtx): void {
  if (config.EVENT_STORE === 'mongodb' && !config.MONGODB_URL) {
    ctx.addIssue({ code: 'custom', path: ['MONGODB_URL'], message: 'required when EVENT_STORE=mongodb' });
  }
  if (config.EVENT_STORE === 'eventstoredb' && !config.EVENTSTORE_URL) {
    ctx.addIssue({ code: 'custom', path: ['EVENTSTORE_URL'], message: 'required when EVENT_STORE=eventstoredb' });
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
 *
 * The MongoDB and EventStoreDB drivers are imported only when chosen: loaded, they and
 * their dependencies cost each cart process about 12 MB of heap it does not use.
 */
export async function openCartEventStore(
  ctx: Pick<ProcessContext<EventStoreConfig>, 'config' | 'lifecycle' | 'readiness'>,
  pool: Pool,
  opts: { onAppended?: () => void } = {},
): Promise<CartEventStore> {
  const { config } = ctx;
  const onAppended = opts.onAppended ? { onAppended: opts.onAppended } : {};
  if (config.EVENT_STORE === 'postgres') return { store: new PostgresEventStore(pool, onAppended), relay: { pool, table: 'events' } };
  if (config.EVENT_STORE === 'eventstoredb') {
    const { EventStoreDbEventStore, KurrentDBClient, eventStoreDbRelaySource } = await import('@shop/eventsourcing/eventstoredb');
    const client = KurrentDBClient.connectionString(config.EVENTSTORE_URL!);
    ctx.lifecycle.onShutdown('eventstoredb', () => client.dispose());
    ctx.readiness.add({
      name: 'eventstoredb',
      check: async () => {
        // The last event of $all: answered (or none) only by a reachable server.
        for await (const _ of client.readAll({ fromPosition: 'end', direction: 'backwards', maxCount: 1 })) break;
      },
    });
    // The relay keeps its checkpoint, dead letters and lease in KurrentDB streams (relay-*-cart).
    const store = new EventStoreDbEventStore(client, { streamTypes: [CART_STREAM_TYPE], ...onAppended });
    return { store, relay: { source: eventStoreDbRelaySource(client, { name: 'cart' }) } };
  }
  const { MongoClient } = await import('mongodb');
  const client = new MongoClient(config.MONGODB_URL!);
  await client.connect();
  ctx.lifecycle.onShutdown('mongodb', () => client.close());
  const db = client.db(config.MONGODB_DATABASE);
  ctx.readiness.add({ name: 'mongodb', check: async () => void (await db.command({ ping: 1 })) });
  return mongoCartEventStore(db, opts.onAppended);
}

/** The cart's events in a MongoDB database, its indexes made; the relay keeps its place there too. */
export async function mongoCartEventStore(db: Db, onAppended?: () => void): Promise<CartEventStore> {
  const { MongoEventStore, mongoRelaySource } = await import('@shop/eventsourcing/mongodb');
  const store = new MongoEventStore(db, onAppended ? { onAppended } : {});
  await store.migrate();
  return { store, relay: { source: mongoRelaySource(db, store, { name: 'cart' }) } };
}
