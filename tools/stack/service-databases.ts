/**
 * The local stack's service databases: one database per service, owned by a role of its
 * own (shop_product, shop_cart, …) that may connect to that database only, as
 * k8s/base/postgres/init-databases.sql makes them in a container deployment. Processes get
 * their role's URL; the superuser (`shop`) stays with the stack's tools and the tests.
 */
import pg from 'pg';
import { infraPorts, urls } from './topology.js';

/** The role that owns a service's database. */
export const serviceRole = (database: string) => `shop_${database}`;

/** Development only (the local stack's SHOP_ENVIRONMENT): a fixed password per role. */
const servicePassword = (database: string) => `local-${database}-password`;

/** What a process of the service puts in DATABASE_URL. */
export const serviceDatabaseUrl = (database: string) =>
  `postgres://${serviceRole(database)}:${servicePassword(database)}@127.0.0.1:${infraPorts.postgres}/${database}`;

const ident = (name: string) => `"${name.replaceAll('"', '""')}"`;
const literal = (value: string) => `'${value.replaceAll("'", "''")}'`;

/**
 * Creates the role and the database when missing; hands an existing database, and what the
 * superuser had created in it before roles existed (earlier runs of the stack), to the role;
 * takes away everyone else's right to connect. Idempotent.
 */
export async function ensureServiceDatabase(database: string, adminUrl = urls.postgres('postgres')): Promise<void> {
  const role = serviceRole(database);
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  try {
    const { rowCount: roleExists } = await admin.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [role]);
    if (!roleExists) await admin.query(`CREATE ROLE ${ident(role)}`);
    await admin.query(`ALTER ROLE ${ident(role)} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD ${literal(servicePassword(database))}`);
    const { rowCount: dbExists } = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [database]);
    // Quoted: `user` and `order` are reserved words.
    if (!dbExists) await admin.query(`CREATE DATABASE ${ident(database)} OWNER ${ident(role)}`);
    else await admin.query(`ALTER DATABASE ${ident(database)} OWNER TO ${ident(role)}`);
    await admin.query(`REVOKE ALL ON DATABASE ${ident(database)} FROM PUBLIC`);
  } finally {
    await admin.end();
  }
  if (!(await handedOver(database, adminUrl))) await handOver(database, role, adminUrl);
}

const inDatabase = (adminUrl: string, database: string) => {
  const url = new URL(adminUrl);
  url.pathname = `/${encodeURIComponent(database)}`;
  return url.toString();
};

/** Schemas, tables, sequences, views, routines and types the connecting superuser owns in `database`. */
const superuserObjects = `
  SELECT 'SCHEMA' AS kind, format('%I', n.nspname) AS name FROM pg_namespace n
   WHERE n.nspowner = current_user::regrole AND n.nspname NOT LIKE 'pg\\_%' AND n.nspname <> 'information_schema' AND n.nspname <> 'public'
  UNION ALL
  SELECT 'TABLE', c.oid::regclass::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
   WHERE c.relowner = current_user::regrole AND n.nspname NOT LIKE 'pg\\_%' AND n.nspname <> 'information_schema'
     AND c.relkind IN ('r', 'p', 'v')
  UNION ALL
  -- A sequence that belongs to a column changes hands with its table.
  SELECT 'SEQUENCE', c.oid::regclass::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
   WHERE c.relowner = current_user::regrole AND n.nspname NOT LIKE 'pg\\_%' AND n.nspname <> 'information_schema' AND c.relkind = 'S'
     AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = c.oid AND d.classid = 'pg_class'::regclass AND d.deptype IN ('a', 'i'))
  UNION ALL
  SELECT 'ROUTINE', p.oid::regprocedure::text FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
   WHERE p.proowner = current_user::regrole AND n.nspname NOT LIKE 'pg\\_%' AND n.nspname <> 'information_schema'
  UNION ALL
  SELECT 'TYPE', t.oid::regtype::text FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
   WHERE t.typowner = current_user::regrole AND n.nspname NOT LIKE 'pg\\_%' AND n.nspname <> 'information_schema' AND t.typtype IN ('e', 'd')`;

async function handedOver(database: string, adminUrl: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: inDatabase(adminUrl, database) });
  await client.connect();
  try {
    const { rowCount } = await client.query(`${superuserObjects} LIMIT 1`);
    return rowCount === 0;
  } finally {
    await client.end();
  }
}

async function handOver(database: string, role: string, adminUrl: string): Promise<void> {
  const client = new pg.Client({ connectionString: inDatabase(adminUrl, database) });
  await client.connect();
  try {
    await client.query('BEGIN');
    const { rows } = await client.query<{ kind: string; name: string }>(superuserObjects);
    for (const { kind, name } of rows) await client.query(`ALTER ${kind} ${name} OWNER TO ${ident(role)}`);
    await client.query('COMMIT');
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    await client.end();
  }
}
