/** @shop/eventsourcing/mongodb: the MongoDB event store adapter (FerretDB in the local stack). Loads mongodb only. */
export { MongoEventStore } from './mongodb/store.js';
export { mongoRelaySource } from './mongodb/relay-source.js';
