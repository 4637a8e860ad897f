import test from 'ava';
import { randomUUID } from 'node:crypto';
import type { KafkaMessage } from 'kafkajs';
import { connect } from 'nats';
import { createKafka } from '@shop/platform/kafka';
import { createLogger } from '@shop/platform/log';
import { subjects } from '@shop/platform/subjects';
import { adminApiKey } from '@shop/tools/apps';
import { grpcServices, urls } from '@shop/tools/topology';
import { gql } from './graphql.js';
import { grpcurl, grpcurlCall, run } from './grpcurl.js';

/**
 * The product slice end to end: GraphQL through the Envoy edge → BFF → Envoy gRPC
 * listener → product service → Postgres. Requires the stack (`npm test` starts it).
 */
const product = grpcServices.find((s) => s.name === 'product')!;
const admin = { 'x-api-key': adminApiKey };
const create = `mutation ($input: CreateProductInput) {
  createProduct(input: $input) { id _id name price quantity category available }
}`;
const list = `query ($category: String) { products(filter: { category: $category }) { _id name price quantity } }`;

test('createProduct then products through the Envoy edge', async (t) => {
  const category = `e2e-${randomUUID().slice(0, 8)}`;
  const created = await gql(create, { input: { name: 'Walnut desk', price: 45_000, quantity: 3, category } }, admin);
  t.is(created.status, 200);
  t.is(created.errors, undefined);
  const p = created.data.createProduct;
  t.is(p._id, p.id);
  t.like(p, { name: 'Walnut desk', price: 45_000, quantity: 3, available: 3, category });
  // The edge names every request (generate_request_id) and the BFF logs under that name:
  // the client gets it back, to quote when it reports a problem.
  t.regex(created.headers.get('x-request-id') ?? '(none)', /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/, 'the response carries the request id');

  const listed = await gql(list, { category });
  t.deepEqual(listed.data.products, [{ _id: p.id, name: 'Walnut desk', price: 45_000, quantity: 3 }]);

  const one = await gql(`query ($id: ID!) { product(id: $id) { name } }`, { id: p.id });
  t.deepEqual(one.data, { product: { name: 'Walnut desk' } });
});

test('the demo catalog is there, in the shape existing clients expect', async (t) => {
  const res = await gql(`{ products { _id name price quantity } }`);
  t.is(res.errors, undefined);
  const names = (res.data.products as Array<{ name: string }>).map((p) => p.name);
  t.true(names.includes('Desk lamp'), `demo catalog missing: ${names.join(', ')}`);
});

test('createProduct without or with a wrong x-api-key is refused, and stores nothing', async (t) => {
  const category = `e2e-${randomUUID().slice(0, 8)}`;
  const input = { name: 'Sneaky', price: 1, quantity: 1, category };
  const anonymous = await gql(create, { input });
  t.is(anonymous.errors?.[0]?.extensions?.code, 'UNAUTHENTICATED');
  const wrong = await gql(create, { input }, { 'x-api-key': 'not-the-key-at-all' });
  t.is(wrong.errors?.[0]?.extensions?.code, 'FORBIDDEN');
  t.deepEqual((await gql(list, { category })).data.products, []);
});

test('bad input is BAD_USER_INPUT naming the field, without internals, and stores nothing', async (t) => {
  const category = `e2e-${randomUUID().slice(0, 8)}`;
  const res = await gql(create, { input: { name: 'Broken', price: -5, quantity: 1, category } }, admin);
  const err = res.errors?.[0];
  t.is(err?.extensions?.code, 'BAD_USER_INPUT');
  t.is(err?.extensions?.field, 'input.price');
  t.notRegex(JSON.stringify(res), /at .*\.ts:\d+|stack|SELECT|INSERT/i);
  t.deepEqual((await gql(list, { category })).data.products, []);

  const malformed = await gql(`{ product(id: "42") { name } }`);
  t.is(malformed.errors?.[0]?.extensions?.code, 'BAD_USER_INPUT');
  const unknown = await gql(`query ($id: ID!) { product(id: $id) { name } }`, { id: randomUUID() });
  t.deepEqual(unknown.data, { product: null });
});

test('a malformed GraphQL document gets an error with a code, not a stack trace', async (t) => {
  const res = await gql(`{ products { nope } }`);
  t.is(res.errors?.[0]?.extensions?.code, 'GRAPHQL_VALIDATION_FAILED', JSON.stringify(res.errors?.[0]));
  t.notRegex(JSON.stringify(res), /at .*\.(ts|js):\d+/);
});

test('grpcurl list and describe on the product port show the service, health and reflection', async (t) => {
  const address = `127.0.0.1:${product.grpcPort}`;
  const services = await grpcurl(address, 'list');
  t.regex(services, /^shop\.product\.v1\.ProductService$/m);
  t.regex(services, /^grpc\.health\.v1\.Health$/m);
  t.regex(services, /^grpc\.reflection\.v1\.ServerReflection$/m);
  const described = await grpcurl(address, 'describe', 'shop.product.v1.ProductService');
  t.regex(described, /rpc CreateProduct \( \.shop\.product\.v1\.CreateProductRequest \) returns \( \.shop\.product\.v1\.CreateProductResponse \)/);
  const health = await grpcurlCall(address, 'grpc.health.v1.Health/Check', { service: 'shop.product.v1.ProductService' });
  t.deepEqual(health, { status: 'SERVING' });
});

test('grpcurl through the Envoy listener reaches the product service: a change needs the service token `npm run token` signs (README)', async (t) => {
  const category = `e2e-${randomUUID().slice(0, 8)}`;
  const viaEnvoy = `127.0.0.1:${product.envoyPort}`;
  const board = { name: 'Cork board', category, price: { amountCents: 1500, currency: 'USD' }, quantityOnHand: 7 };
  const refused = await t.throwsAsync<Error & { stderr?: string }>(grpcurlCall(viaEnvoy, 'shop.product.v1.ProductService/CreateProduct', board));
  t.regex(refused?.stderr ?? refused?.message ?? '', /Unauthenticated/);
  const { stdout: token } = await run('npm', ['run', '-s', 'token', '--', 'service', 'e2e'], { timeout: 60_000 });
  const created = (await grpcurlCall(viaEnvoy, 'shop.product.v1.ProductService/CreateProduct', board, [`x-service-token: ${token.trim()}`])) as { product: { id: string } };
  const fetched = (await grpcurlCall(viaEnvoy, 'shop.product.v1.ProductService/GetProduct', { id: created.product.id })) as {
    product: { name: string; quantityOnHand: number };
  };
  t.is(fetched.product.name, 'Cork board');
  t.is(fetched.product.quantityOnHand, 7);
});

/**
 * A reader of `topic` that sees only what is published from now on: a consumer group of
 * its own, moved to the end offsets taken before the call under test (so neither the
 * topic's history nor a slow group join can mislead it).
 */
async function readFromNow(topic: string) {
  const kafka = createKafka({ brokers: urls.kafkaBrokers, clientId: 'e2e-product', log: createLogger('e2e', 'error') });
  const admin = kafka.admin();
  await admin.connect();
  const ends = await admin.fetchTopicOffsets(topic);
  await admin.disconnect();
  const consumer = kafka.consumer({ groupId: `e2e-product-${randomUUID()}`, maxWaitTimeInMs: 100 });
  const messages: KafkaMessage[] = [];
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: false });
  await consumer.run({ eachMessage: async ({ message }) => void messages.push(message) });
  for (const { partition, offset } of ends) consumer.seek({ topic, partition, offset });
  return {
    /** The first message `match` accepts, waiting for it at most `timeoutMs`. */
    async find(what: string, match: (m: KafkaMessage) => boolean, timeoutMs = 30_000): Promise<KafkaMessage> {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const found = messages.find(match);
        if (found) return found;
        if (Date.now() > deadline) throw new Error(`no ${what} on ${topic} within ${timeoutMs} ms (${messages.length} other messages)`);
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    close: () => consumer.disconnect(),
  };
}

test('a product created at the edge reaches Kafka: ProductCreated on shop.product.events, keyed by the product id', async (t) => {
  const topic = 'shop.product.events';
  const reader = await readFromNow(topic);
  try {
    const category = `e2e-${randomUUID().slice(0, 8)}`;
    const created = await gql(create, { input: { name: 'Oak shelf', price: 12_900, quantity: 4, category } }, admin);
    t.is(created.errors, undefined);
    const id = created.data.createProduct.id as string;

    const message = await reader.find(`ProductCreated for ${id}`, (m) => m.key?.toString() === id);
    t.is(message.headers?.type?.toString(), 'shop.product.v1.ProductCreated');
    t.is(message.headers?.version?.toString(), '1');
    const envelope = JSON.parse(message.value!.toString());
    t.like(envelope, { type: 'shop.product.v1.ProductCreated', streamType: 'product', streamId: id, version: 1 });
    t.like(envelope.data.product, {
      id,
      name: 'Oak shelf',
      category,
      price: { amountCents: 12_900, currency: 'USD' },
      quantityOnHand: 4,
      active: true,
      revision: 1,
    });
  } finally {
    await reader.close();
  }
});

test('a product changed at the edge is announced on NATS (CatalogChanged) before the mutation answers', async (t) => {
  const nc = await connect({ servers: urls.nats });
  const announced: string[][] = [];
  // A callback runs as each message is read, so after a flush every earlier one is here.
  nc.subscribe(subjects.catalogChanged, { callback: (err, msg) => void (err ?? announced.push(msg.json<{ productIds: string[] }>().productIds)) });
  await nc.flush();
  try {
    const category = `e2e-${randomUUID().slice(0, 8)}`;
    const created = await gql(create, { input: { name: 'Pine shelf', price: 9_900, quantity: 2, category } }, admin);
    t.is(created.errors, undefined);
    const id = created.data.createProduct.id as string;
    await nc.flush();
    t.deepEqual(announced.filter((ids) => ids.includes(id)), [[id]]);
  } finally {
    await nc.close();
  }
});
