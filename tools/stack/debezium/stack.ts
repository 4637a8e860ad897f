/**
 * The Debezium relay in the local stack (RELAY=debezium): one Kafka Connect worker with a
 * connector per CRUD service outbox, configured as the services' built-in relays publish
 * (product: every row to the product topic; order: its `order` rows to the order topic).
 * The services skip their outbox relay under the same RELAY=debezium (their config.ts).
 *
 * The connectors read as a role of their own, shop_debezium: LOGIN and REPLICATION, CONNECT
 * to the two databases and SELECT on their outbox tables, nothing else. The stack's
 * superuser makes it and the publications (only a table's owner or a superuser may) before
 * the worker starts; the services' own roles get no REPLICATION.
 */
import { rmSync } from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { topics } from '@shop/platform/topics';
import { ORDER_STREAM_TYPE } from '../../../services/order/src/app/checkout-effects.js';
import { StackError } from '../log.js';
import { stackPaths } from '../paths.js';
import { infraPorts, urls } from '../topology.js';
import type { ProcessSpec } from '../supervisor.js';
import { kafkaConnectSpec } from './connect.js';
import { dropReplication, ensureReplicationRole, outboxConnectorConfig, prepareOutboxReplication, type ConnectorConfig } from './connector.js';

/**
 * The processes whose outbox Debezium publishes under RELAY=debezium (apps.ts gives them
 * RELAY=debezium), each with what its own outbox relay publishes (their main.ts): the one
 * list both read.
 */
export const debeziumOutboxes = [
  { process: 'product', database: 'product', topic: topics.productEvents },
  // Only its order rows: order's outbox relay reads those alone.
  { process: 'order', database: 'order', topic: topics.orderEvents, streamTypes: [ORDER_STREAM_TYPE] },
] as const satisfies ReadonlyArray<{ process: string; database: string; topic: string; streamTypes?: readonly string[] }>;

/** The connectors' role; development only (the local stack): a fixed password, like the services' roles. */
const replicationRole = { name: 'shop_debezium', password: 'local-debezium-password' };

export function stackOutboxConnectors(): ConnectorConfig[] {
  return debeziumOutboxes.map((o) =>
    outboxConnectorConfig({
      name: `${o.process}-outbox`,
      databaseUrl: `postgres://${replicationRole.name}:${replicationRole.password}@127.0.0.1:${infraPorts.postgres}/${o.database}`,
      topic: o.topic,
      streamTypes: 'streamTypes' in o ? [...o.streamTypes] : undefined,
    }),
  );
}

/**
 * The supervised worker: started after the services (their migrations create the outbox
 * tables the connectors publish), on a Postgres running with wal_level = logical.
 */
export function debeziumRelaySpec(restPort: number): ProcessSpec {
  const spec = kafkaConnectSpec({ restPort, kafkaBrokers: urls.kafkaBrokers, connectors: stackOutboxConnectors });
  return {
    ...spec,
    prepare: async () => {
      await requireLogicalDecoding();
      await ensureReplicationRole(urls.postgres(), replicationRole.name, replicationRole.password);
      await prepareOutboxReplication(urls.postgres(), stackOutboxConnectors());
      await spec.prepare?.();
    },
  };
}

/** The stack's Postgres reads wal_level only when it starts: one started before the setting was added has to restart. */
async function requireLogicalDecoding(): Promise<void> {
  const client = new pg.Client({ connectionString: urls.postgres() });
  await client.connect();
  try {
    const { rows } = await client.query<{ wal_level: string }>('SHOW wal_level');
    const level = rows[0]?.wal_level;
    if (level !== 'logical') {
      throw new StackError(`kafka-connect: the stack's Postgres runs with wal_level = ${level}, and Debezium needs logical. Restart it once (npm run stack -- down, then npm start); its configuration already asks for logical.`);
    }
  } finally {
    await client.end();
  }
}

/**
 * Back to the built-in relay (RELAY unset) after the Debezium relay ran: drops the
 * connectors' slots (which would keep the server's WAL) and publications, and the worker's
 * offsets (which name positions of those slots). Asks Postgres what is there, whatever the
 * worker's directory holds (it may be gone while its slots are not); nothing to drop is
 * fine. Call it with the worker stopped.
 */
export async function retireDebeziumRelay({
  connectors = stackOutboxConnectors(),
  workerDir = path.join(stackPaths.root, 'kafka-connect', 'worker'),
  adminUrl = urls.postgres(),
}: { connectors?: ConnectorConfig[]; workerDir?: string; adminUrl?: string } = {}): Promise<void> {
  await dropReplication(adminUrl, connectors);
  rmSync(path.join(workerDir, 'offsets.dat'), { force: true });
}
