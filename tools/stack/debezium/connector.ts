/**
 * The Debezium connector that relays a CRUD service's outbox table (platform/outbox.ts) to
 * Kafka in the built-in relay's format (eventsourcing's envelope.ts toKafkaMessage):
 *
 * - topic: every row to `topic` (the built-in relay's topicFor is a constant for product and
 *   order), or only the rows of `streamTypes` when given (order's relay reads only its
 *   `order` rows): the EventRouter routes those to `topic`, Kafka's Filter drops the rest;
 * - key: the row's stream_id (EventRouter table.field.event.key);
 * - headers: id (the EventRouter always adds it), type and version (additional placement,
 *   the version as its decimal text), content-type (Kafka's InsertHeader) and traceparent
 *   when the metadata holds a well-formed one (OutboxEnvelope);
 * - value: the envelope's JSON {id, type, streamId, streamType, version, position,
 *   occurredAt, data, metadata}: the EventRouter puts the columns in its envelope, and our
 *   OutboxEnvelope transform writes that as the built-in relay does (Debezium carries jsonb
 *   columns as strings, which no library transform can embed as JSON).
 *
 * Delivery is at least once, like the built-in relay's: rows of a transaction arrive when it
 * commits, in commit order (the replication stream's order, which keeps each stream's
 * versions in order); a rolled-back row never arrives.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';

export interface OutboxConnectorOptions {
  /** Connector name; also names its replication slot and publication. */
  name: string;
  /**
   * The outbox's database, as the connector's role: LOGIN and REPLICATION, nothing more
   * (ensureReplicationRole); prepareOutboxReplication gives it the rest.
   */
  databaseUrl: string;
  topic: string;
  /** Relay only these stream types (default: every row of the table). */
  streamTypes?: string[];
}

export interface ConnectorConfig {
  name: string;
  /** What Connect keeps and shows (GET /connectors/<name>): nothing secret. */
  config: Record<string, string>;
  /**
   * Configuration keys whose values Connect must never show: the worker gets them from a file
   * only its user reads, through Kafka's FileConfigProvider (connect.ts), and the connector's
   * configuration refers to them as ${file:<that file>:<key>}.
   */
  secrets: Record<string, string>;
}

/** The configuration as the connector sees it once the worker has read its secrets. */
export const resolvedConfig = (c: ConnectorConfig): Record<string, string> => ({ ...c.config, ...c.secrets });

/** Quotes text for a Java regular expression. */
const quote = (text: string) => `\\Q${text.replaceAll('\\E', '\\E\\\\E\\Q')}\\E`;

/** Where a connector's heartbeats go (Debezium's topic.heartbeat.prefix, then its topic.prefix). */
export const heartbeatTopic = (name: string) => `__debezium-heartbeat.${topicPrefix(name)}`;
const topicPrefix = (name: string) => `shop.outbox.${name}`;

export function outboxConnectorConfig(o: OutboxConnectorOptions): ConnectorConfig {
  const url = new URL(o.databaseUrl);
  // Slot and publication names: lower-case letters, digits and underscores.
  const slot = `shop_${o.name.toLowerCase().replace(/[^a-z0-9_]/g, '_')}`;
  const filtered = o.streamTypes !== undefined;
  const transforms = ['outbox', ...(filtered ? ['onlyTopic'] : []), 'envelope', 'contentType'];
  return {
    name: o.name,
    // Connect's REST API shows a connector's configuration to anyone who reaches it. The user
    // is not secret, but taken from the same file it shows that the file is read: a worker
    // that did not resolve it would log in as the literal placeholder, and fail.
    secrets: { 'database.user': decodeURIComponent(url.username), 'database.password': decodeURIComponent(url.password) },
    config: {
      'connector.class': 'io.debezium.connector.postgresql.PostgresConnector',
      'tasks.max': '1',
      'database.hostname': url.hostname,
      'database.port': url.port || '5432',
      'database.dbname': decodeURIComponent(url.pathname.slice(1)),
      // The connector's logical name: it keys the offsets, so it must not change.
      'topic.prefix': topicPrefix(o.name),
      'plugin.name': 'pgoutput',
      'slot.name': slot,
      'publication.name': slot,
      // Made by prepareOutboxReplication as the table's owner: the connector's role owns nothing.
      'publication.autocreate.mode': 'disabled',
      'table.include.list': 'public.outbox',
      // xid8 has no Debezium mapping, and the relay needs none of it.
      'column.exclude.list': 'public.outbox.transaction_id',
      // The first start publishes the rows already there (an outbox the built-in relay served
      // before: duplicates, which consumers absorb), in position order, so that each stream's
      // versions stay in order; then streams from the slot made at that snapshot.
      'snapshot.mode': 'initial',
      'snapshot.select.statement.overrides': 'public.outbox',
      'snapshot.select.statement.overrides.public.outbox': 'SELECT * FROM public.outbox ORDER BY position',
      'tombstones.on.delete': 'false',
      // No __debezium.context.* headers: the built-in relay's headers and no others.
      'extended.headers.enabled': 'false',
      // A slot confirms only what the connector has received: on a quiet outbox it would hold
      // back the WAL of every other database on the server (Postgres keeps it all). So every
      // 10 s the connector writes a logical decoding message into its own database (no table
      // needed; received, then dropped by the prefix filter) and a heartbeat record, which
      // confirms that position. Heartbeats go to a topic of their own, which Connect creates
      // (the broker creates none by itself).
      'heartbeat.interval.ms': '10000',
      'heartbeat.action.query': "SELECT pg_logical_emit_message(false, 'shop-heartbeat', '')",
      'message.prefix.exclude.list': 'shop-heartbeat',
      'topic.creation.default.replication.factor': '-1',
      'topic.creation.default.partitions': '1',
      transforms: transforms.join(','),
      'transforms.outbox.type': 'io.debezium.transforms.outbox.EventRouter',
      'transforms.outbox.table.field.event.id': 'id',
      'transforms.outbox.table.field.event.key': 'stream_id',
      'transforms.outbox.table.field.event.payload': 'data',
      'transforms.outbox.route.by.field': 'stream_type',
      ...(filtered ? { 'transforms.outbox.route.topic.regex': `(?:${o.streamTypes!.map(quote).join('|')})` } : {}),
      'transforms.outbox.route.topic.replacement': o.topic,
      // An outbox row is never updated; one that is, is not an event.
      'transforms.outbox.table.op.invalid.behavior': 'warn',
      'transforms.outbox.table.fields.additional.placement': [
        'type:header:type',
        'version:header:version',
        'id:envelope:id',
        'type:envelope:type',
        'stream_id:envelope:streamId',
        'stream_type:envelope:streamType',
        'version:envelope:version',
        'position:envelope:position',
        'occurred_at:envelope:occurredAt',
        'metadata:envelope:metadata',
      ].join(','),
      ...(filtered
        ? {
            'transforms.onlyTopic.type': 'org.apache.kafka.connect.transforms.Filter',
            'transforms.onlyTopic.predicate': 'relayed',
            'transforms.onlyTopic.negate': 'true',
            predicates: 'relayed',
            'predicates.relayed.type': 'org.apache.kafka.connect.transforms.predicates.TopicNameMatches',
            // The outbox topic, and the heartbeats (which must reach Kafka to confirm anything).
            'predicates.relayed.pattern': `${quote(o.topic)}|${quote(heartbeatTopic(o.name))}`,
          }
        : {}),
      'transforms.envelope.type': 'shop.connect.OutboxEnvelope',
      'transforms.contentType.type': 'org.apache.kafka.connect.transforms.InsertHeader',
      'transforms.contentType.header': 'content-type',
      'transforms.contentType.value.literal': 'application/json',
    },
  };
}

interface ConnectorStatus {
  connector: { state: string; trace?: string };
  tasks: Array<{ id: number; state: string; trace?: string }>;
}

/** Waits until each connector and its task run; throws at once with the trace if one failed. */
export async function awaitConnectorsRunning(restUrl: string, names: string[], { timeoutMs = 120_000 }: { timeoutMs?: number } = {}): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (const name of names) {
    for (;;) {
      const res = await fetch(`${restUrl}/connectors/${encodeURIComponent(name)}/status`, { signal: AbortSignal.timeout(10_000) }).catch(() => undefined);
      const status = res?.ok ? ((await res.json()) as ConnectorStatus) : undefined;
      const failed = status && [status.connector, ...status.tasks].find((s) => s.state === 'FAILED');
      if (failed) throw new Error(`connector ${name} failed: ${failed.trace?.split('\n').slice(0, 3).join(' ') ?? 'no trace'}`);
      if (status?.connector.state === 'RUNNING' && status.tasks.length > 0 && status.tasks.every((t) => t.state === 'RUNNING')) break;
      if (Date.now() > deadline) throw new Error(`connector ${name} is not running (${status ? JSON.stringify({ connector: status.connector.state, tasks: status.tasks.map((t) => t.state) }) : 'no status'})`);
      await sleep(500);
    }
  }
}

const ident = (name: string) => `"${name.replaceAll('"', '""')}"`;
const literal = (value: string) => `'${value.replaceAll("'", "''")}'`;

/** adminUrl (a superuser's) in another database of the same server. */
const inDatabase = (adminUrl: string, database: string) => {
  const url = new URL(adminUrl);
  url.pathname = `/${encodeURIComponent(database)}`;
  return url.toString();
};

/** Runs `work` as the admin in `database`; does nothing when that database does not exist. */
async function asAdminIn(adminUrl: string, database: string, work: (client: pg.Client) => Promise<void>): Promise<void> {
  const client = new pg.Client({ connectionString: inDatabase(adminUrl, database) });
  try {
    await client.connect();
  } catch (err) {
    // invalid_catalog_name: no such database.
    if ((err as { code?: string }).code === '3D000') return;
    throw err;
  }
  try {
    await work(client);
  } finally {
    await client.end();
  }
}

/**
 * The connectors' role: it may log in and replicate (read the WAL's logical decoding), and
 * nothing else until prepareOutboxReplication grants it the outboxes. Not a superuser, so
 * that the worker's credentials cannot read or change the services' data. Idempotent.
 */
export async function ensureReplicationRole(adminUrl: string, role: string, password: string): Promise<void> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    const { rowCount } = await client.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [role]);
    if (!rowCount) await client.query(`CREATE ROLE ${ident(role)}`);
    await client.query(`ALTER ROLE ${ident(role)} LOGIN REPLICATION NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS PASSWORD ${literal(password)}`);
  } finally {
    await client.end();
  }
}

/**
 * What each connector's role needs, done as a superuser (adminUrl, any database of the server)
 * once the outbox table exists: connecting to its database, reading the outbox (the first
 * snapshot), and the publication of that table, which only its owner or a superuser may
 * create. Idempotent.
 */
export async function prepareOutboxReplication(adminUrl: string, connectors: ConnectorConfig[]): Promise<void> {
  for (const connector of connectors) {
    const config = resolvedConfig(connector);
    const database = config['database.dbname']!;
    const role = ident(config['database.user']!);
    const client = new pg.Client({ connectionString: inDatabase(adminUrl, database) });
    await client.connect();
    try {
      await client.query(`GRANT CONNECT ON DATABASE ${ident(database)} TO ${role}`);
      await client.query(`GRANT USAGE ON SCHEMA public TO ${role}`);
      await client.query(`GRANT SELECT ON public.outbox TO ${role}`);
      const { rowCount } = await client.query('SELECT 1 FROM pg_publication WHERE pubname = $1', [config['publication.name']]);
      if (!rowCount) await client.query(`CREATE PUBLICATION ${ident(config['publication.name']!)} FOR TABLE public.outbox`);
    } finally {
      await client.end();
    }
  }
}

/**
 * Drops the replication slot and publication of each connector whose worker is gone (going
 * back to the built-in relay), as a superuser (adminUrl, any database of the server): a slot
 * nobody reads keeps all of the server's WAL from its position on. Looks them up rather than
 * trusting any local state: a slot still in use is left alone (Postgres refuses to drop it),
 * and a connector whose database does not exist has nothing to drop. Idempotent.
 */
export async function dropReplication(adminUrl: string, connectors: ConnectorConfig[]): Promise<void> {
  for (const { config } of connectors) {
    await asAdminIn(adminUrl, config['database.dbname']!, async (client) => {
      const { rows } = await client.query<{ active: boolean }>('SELECT active FROM pg_replication_slots WHERE slot_name = $1', [config['slot.name']]);
      // Still read: its connector runs, and keeps its publication too.
      if (rows[0]?.active) return;
      if (rows[0]) await client.query('SELECT pg_drop_replication_slot($1)', [config['slot.name']]);
      await client.query(`DROP PUBLICATION IF EXISTS ${ident(config['publication.name']!)}`);
    });
  }
}
