/**
 * @shop/eventsourcing/eventstoredb: the KurrentDB / EventStoreDB event store adapter. Loads
 * @kurrent/kurrentdb-client only.
 *
 * ```ts
 * const client = KurrentDBClient.connectionString`kurrentdb://127.0.0.1:2113?tls=false`;
 * const store = new EventStoreDbEventStore(client, { streamTypes: ['cart'] });
 * startRelay({ source: eventStoreDbRelaySource(client, { name: 'cart' }), name: 'cart', … });
 * ```
 *
 * Its tests need a server, which cannot be installed on the machines this was written on
 * (no Docker, and KurrentDB ships as packages and images only): there, only the mapping
 * unit spec runs and store.int.spec.ts reports its tests skipped with that reason. Where
 * Docker exists, run the contract suite and the relay test against a server:
 *
 * ```sh
 * docker run -d --name kurrentdb -p 2113:2113 -e KURRENTDB_INSECURE=true kurrentplatform/kurrentdb:latest
 * EVENTSTORE_URL='kurrentdb://127.0.0.1:2113?tls=false' npx ava packages/eventsourcing/src/eventstoredb/store.int.spec.ts
 * ```
 *
 * (An EventStoreDB server serves too: `eventstore/eventstore` with EVENTSTORE_INSECURE=true.
 * The relay test needs the local stack's Kafka as well.)
 */
export { KurrentDBClient } from '@kurrent/kurrentdb-client';
export { EventStoreDbEventStore, type EventStoreDbClient } from './eventstoredb/store.js';
export { eventStoreDbRelaySource, type EventStoreDbRelayClient } from './eventstoredb/relay-source.js';
