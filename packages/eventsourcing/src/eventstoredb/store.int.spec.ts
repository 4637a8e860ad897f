import test, { type TestFn } from 'ava';
import { randomUUID } from 'node:crypto';
import { KurrentDBClient } from '@kurrent/kurrentdb-client';
import { createMetrics } from '@shop/platform/metrics';
import { consumeTopic, createTestTopics, testKafka, testLogger, waitFor } from '@shop/testing';
import { startRelay } from '../relay.js';
import { eventStoreContract } from '../testing/store-contract.js';
import { START } from '../types.js';
import { eventStoreDbRelaySource } from './relay-source.js';
import { EventStoreDbEventStore } from './store.js';

// Against a KurrentDB / EventStoreDB server at EVENTSTORE_URL (src/eventstoredb.ts says how
// to start one), e.g. kurrentdb://127.0.0.1:2113?tls=false. Without it every test is
// reported skipped, with the reason in its title.
const url = process.env.EVENTSTORE_URL;
const reason = 'skipped: EVENTSTORE_URL is not set; no EventStoreDB/KurrentDB server can be installed on these machines (DESIGN.md)';
/** `test`, or with no server a `test` that registers each test as skipped, the reason in its title. */
const serverTest: TestFn = url ? test : (Object.assign((title: string, fn: never) => test.skip(`${title} — ${reason}`, fn), test) as unknown as TestFn);

let client: KurrentDBClient;
let store: EventStoreDbEventStore;

if (url) {
  test.before(() => {
    client = KurrentDBClient.connectionString(url);
    store = new EventStoreDbEventStore(client, { streamTypes: ['test'] });
  });
  test.after.always(async () => {
    await client?.dispose();
  });
}

eventStoreContract(serverTest, () => ({ store }));

serverTest('an append of several events answers the last one\'s position, as readAll has it', async (t) => {
  const type = `last-${randomUUID().slice(0, 8)}`;
  const result = await store.append(type, randomUUID(), [1, 2, 3].map((n) => ({ type: 'test.v1.Happened', data: { n } })), 'no_stream');
  const all = await store.readAll(START, { streamTypes: [type] });
  t.deepEqual(all.map((e) => e.version), [1, 2, 3]);
  t.is(result.position, all.at(-1)!.position);
});

serverTest('the relay publishes the store in $all order from a subscription, keeps its checkpoint in KurrentDB, and goes on after a restart', async (t) => {
  const { log } = testLogger();
  const kafka = testKafka(log, 'relay-eventstoredb-test');
  const { topic } = await createTestTopics(kafka, 'relay-eventstoredb', 1);
  const streamType = `esdb_${randomUUID().slice(0, 8)}`;
  const name = `relay-${streamType}`;
  const relayOf = () =>
    startRelay({ source: eventStoreDbRelaySource(client, { name, leaseMs: 2_000 }), name, kafka, topicFor: () => topic, streamTypes: [streamType], log, registry: createMetrics('t'), idleMs: 5 });
  const value = (m: { value: Buffer | null }) => (JSON.parse(m.value!.toString()) as { data: { n: number } }).data.n;
  const [a, b] = [randomUUID(), randomUUID()];
  await store.append(streamType, a, [1, 2].map((n) => ({ type: 'test.v1.Counted', data: { n } })), 'no_stream');
  await store.append(streamType, b, [{ type: 'test.v1.Counted', data: { n: 3 } }], 'no_stream');
  await store.append(streamType, a, [{ type: 'test.v1.Counted', data: { n: 4 } }], 2);
  const relay = await relayOf();
  const first = await consumeTopic(kafka, topic, 4);
  t.deepEqual(first.map(value), [1, 2, 3, 4]);
  t.deepEqual(first.map((m) => m.key!.toString()), [a, a, b, a]);
  const last = (await store.readAll(START, { streamTypes: [streamType] })).at(-1)!;
  const checkpointNow = async () => {
    for await (const e of client.readStream(`relay-checkpoint-${name}`, { fromRevision: 'end', direction: 'backwards', maxCount: 1 })) return (e.event!.data as { checkpoint: string }).checkpoint;
    return undefined;
  };
  await waitFor('the checkpoint at the last event', async () => (await checkpointNow()) === last.checkpoint);
  await relay.stop();

  // A new relay (another process) starts from the checkpoint: only the new event is sent.
  await store.append(streamType, b, [{ type: 'test.v1.Counted', data: { n: 5 } }], 1);
  const again = await relayOf();
  t.teardown(() => again.stop());
  const all = await consumeTopic(kafka, topic, 5);
  t.deepEqual(all.map(value), [1, 2, 3, 4, 5]);
});
