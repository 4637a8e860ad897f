/** @shop/eventsourcing/testing: given/when/then specs for deciders and workflows, and the event store contract suite. */
export * from './testing/spec.js';
export { eventStoreContract, type ContractSubject } from './testing/store-contract.js';
