import test from 'ava';
import { createPool, type Pool } from '@shop/platform/postgres/pool';
import { migrate } from '@shop/platform/postgres/migrate';
import { createTestDatabase, testLogger, type TestDatabase } from '@shop/testing';
import { eventStoreContract } from '../testing/store-contract.js';
import { PostgresEventStore, eventStoreMigrations } from './store.js';

let db: TestDatabase;
let pool: Pool;
let store: PostgresEventStore;

test.before(async () => {
  const { log } = testLogger();
  db = await createTestDatabase('eventstore');
  pool = createPool({ url: db.url, max: 30, log });
  await migrate(pool, [eventStoreMigrations], log);
  store = new PostgresEventStore(pool);
});

test.after.always(async () => {
  await pool?.end();
  await db?.drop();
});

eventStoreContract(test, () => ({
  store,
  slowTransaction: (ms) => async (tx) => {
    await tx.query('SELECT pg_sleep($1)', [ms / 1000]);
  },
}));
