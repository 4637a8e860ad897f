/**
 * The Debezium relay in the local stack (RELAY=debezium): one Kafka Connect worker with a
 * connector per CRUD service outbox, configured as the services' built-in relays publish
 * (product: every row to the product topic; order: its `order` rows to the order topic).
 * The services skip their outbox relay under the same RELAY=debezium (their config.ts).
 *
 * The connectors read as the stack's superuser: logical replication needs the REPLICATION
 * attribute, and creating the publication needs the outbox's owner (or a superuser); the
 * services' own roles have neither, and should not.
 */
import { topics } from '@shop/platform/topics';
import { urls } from '../topology.js';
import type { ProcessSpec } from '../supervisor.js';
import { kafkaConnectSpec } from './connect.js';
import { outboxConnectorConfig, type ConnectorConfig } from './connector.js';

/** order's outbox relay publishes only these stream types (services/order app/checkout-effects.ts ORDER_STREAM_TYPE). */
const orderStreamTypes = ['order'];

export function stackOutboxConnectors(): ConnectorConfig[] {
  return [
    outboxConnectorConfig({ name: 'product-outbox', databaseUrl: urls.postgres('product'), topic: topics.productEvents }),
    outboxConnectorConfig({ name: 'order-outbox', databaseUrl: urls.postgres('order'), topic: topics.orderEvents, streamTypes: orderStreamTypes }),
  ];
}

/** The supervised worker: started after Postgres, Kafka and the services' migrations (the outbox tables must exist). */
export function debeziumRelaySpec(restPort: number): ProcessSpec {
  return kafkaConnectSpec({ restPort, kafkaBrokers: urls.kafkaBrokers, connectors: stackOutboxConnectors });
}
