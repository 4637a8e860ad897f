/**
 * The generated configuration at run time: a private Envoy (free ports, the stack's binary)
 * in front of stub upstreams that this file starts and steers, called for real. What is
 * checked is what the configuration promises: gRPC calls retried on UNAVAILABLE and on
 * nothing else, route timeouts that end a call which gets no answer, the edge's rate limit
 * per client (its own address, or the one a trusted proxy names),
 * a host Envoy cannot reach taken out of its cluster, and one that answers (even UNAVAILABLE) kept.
 */
import test from 'ava';
import * as grpc from '@grpc/grpc-js';
import { ProductServiceClient, ProductServiceService, type GetProductResponse } from '@shop/contracts/shop/product/v1/service';
import { Product } from '@shop/contracts/shop/product/v1/product';
import { UnavailableError } from '@shop/platform/errors';
import { bind, type GrpcServer } from '@shop/platform/grpc/server';
import { freePort, serveGrpc, testLogger, waitFor } from '@shop/testing';
import { defaultEdgeLimits } from './config.js';
import { request, startEnvoy, stubBff, type PrivateEnvoy } from './testing/private-envoy.js';

type Answer = 'ok' | 'unavailable' | 'internal' | 'never';

/** A product service (the platform's real gRPC server, health included) that answers each call as `answer(n)` says, n counting from 1. */
async function stubProduct(answer: (n: number) => Answer): Promise<{ server: GrpcServer; calls: () => number }> {
  let calls = 0;
  // GetProduct alone: the platform's server wants a handler for every method it serves.
  const service = bind('shop.product.v1.ProductService', { getProduct: ProductServiceService.getProduct }, {
    getProduct: async ({ id }) => {
      switch (answer(++calls)) {
        case 'ok':
          return { product: Product.fromPartial({ id }) };
        case 'unavailable':
          throw new UnavailableError('stub: not now');
        case 'internal':
          throw new Error('stub: broke half-way');
        case 'never':
          return new Promise<GetProductResponse>(() => {});
      }
    },
  });
  const server = await serveGrpc([service], testLogger().log, 'product-stub');
  return { server, calls: () => calls };
}

type Reply = { code: grpc.status; details: string; product?: Product };

function call(client: ProductServiceClient, id: string, deadlineMs?: number): Promise<Reply> {
  const options = deadlineMs ? { deadline: Date.now() + deadlineMs } : {};
  return new Promise((resolve) => {
    client.getProduct({ id }, new grpc.Metadata(), options, (err, res) => {
      resolve(err ? { code: err.code, details: err.details } : { code: grpc.status.OK, details: '', ...(res?.product ? { product: res.product } : {}) });
    });
  });
}

const connect = (port: number) => new ProductServiceClient(`127.0.0.1:${port}`, grpc.credentials.createInsecure());

/** One call on a connection of its own. */
async function getProduct(port: number, id: string, deadlineMs?: number): Promise<Reply> {
  const client = connect(port);
  try {
    return await call(client, id, deadlineMs);
  } finally {
    client.close();
  }
}

const listenPort = (envoy: PrivateEnvoy, name: string) => envoy.topology.grpc.find((g) => g.name === name)!.listenPort;

test('a gRPC call answered UNAVAILABLE once is tried again and succeeds; the service saw two attempts', async (t) => {
  t.timeout(120_000);
  const stub = await stubProduct((n) => (n === 1 ? 'unavailable' : 'ok'));
  const envoy = await startEnvoy({ routes: [{ name: 'product', upstream: stub.server.port }], serving: ['product'] });
  t.teardown(() => Promise.all([envoy.stop(), stub.server.shutdown(1_000)]));

  const res = await getProduct(listenPort(envoy, 'product'), 'p-1');
  t.is(res.code, grpc.status.OK, res.details);
  t.is(res.product?.id, 'p-1');
  t.is(stub.calls(), 2);
  t.is(await envoy.stat('cluster.product.upstream_rq_retry_success'), 1);
});

test('a gRPC call that may have run (INTERNAL) is not tried again; UNAVAILABLE is tried at most twice more', async (t) => {
  t.timeout(120_000);
  const broken = await stubProduct(() => 'internal');
  const down = await stubProduct(() => 'unavailable');
  const envoy = await startEnvoy({
    routes: [
      { name: 'broken', upstream: broken.server.port },
      { name: 'down', upstream: down.server.port },
    ],
    serving: ['broken', 'down'],
  });
  t.teardown(() => Promise.all([envoy.stop(), broken.server.shutdown(1_000), down.server.shutdown(1_000)]));

  t.is((await getProduct(listenPort(envoy, 'broken'), 'p-1')).code, grpc.status.INTERNAL);
  t.is(broken.calls(), 1);
  t.is((await getProduct(listenPort(envoy, 'down'), 'p-1')).code, grpc.status.UNAVAILABLE);
  t.is(down.calls(), 3);
});

test('a gRPC call that gets no answer ends with DEADLINE_EXCEEDED at the route timeout, with or without a deadline of the caller', async (t) => {
  t.timeout(120_000);
  const stub = await stubProduct(() => 'never');
  const envoy = await startEnvoy({ routes: [{ name: 'product', upstream: stub.server.port, timeoutMs: 1_000 }], serving: ['product'] });
  t.teardown(() => Promise.all([envoy.stop(), stub.server.shutdown(100)]));

  // No deadline: only Envoy can end the call (grpc-js would wait for ever).
  const bare = await getProduct(listenPort(envoy, 'product'), 'p-1');
  t.is(bare.code, grpc.status.DEADLINE_EXCEEDED, bare.details);
  // A deadline far beyond the route's: Envoy caps it.
  const patient = await getProduct(listenPort(envoy, 'product'), 'p-1', 600_000);
  t.is(patient.code, grpc.status.DEADLINE_EXCEEDED, patient.details);
  // Never retried: the call may be running still.
  t.is(stub.calls(), 2);
});

const outlier = (envoy: PrivateEnvoy, name: string) => envoy.stat(`cluster.product.outlier_detection.${name}`);

test('a host that answers UNAVAILABLE (a dependency of its own down) stays in rotation: each call it fails is retried on another host and succeeds', async (t) => {
  t.timeout(120_000);
  const healthy = await stubProduct(() => 'ok');
  // Its health check passes: the process is up and answers, only a service it calls is not.
  const relaying = await stubProduct(() => 'unavailable');
  const envoy = await startEnvoy({ routes: [{ name: 'product', upstream: healthy.server.port }], serving: ['product'], extraHosts: { product: [{ port: relaying.server.port }] } });
  const client = connect(listenPort(envoy, 'product'));
  t.teardown(() => Promise.all([client.close(), envoy.stop(), healthy.server.shutdown(1_000), relaying.server.shutdown(1_000)]));

  // Calls at once on one connection (one Envoy worker): round robin alone would give a retry
  // back to the failing host whenever other calls took the turns in between.
  let calls = 0;
  await waitFor('the relaying host failing twice the count that once ejected it', async () => {
    const round = await Promise.all(Array.from({ length: 10 }, () => call(client, `p-${++calls}`)));
    for (const res of round) t.is(res.code, grpc.status.OK, res.details);
    return relaying.calls() >= 6;
  });
  t.is(healthy.calls(), calls, 'the healthy host served every call');
  // Envoy saw the failures in a row, and left the host in.
  t.true((await outlier(envoy, 'ejections_detected_consecutive_gateway_failure')) >= 1);
  t.is(await outlier(envoy, 'ejections_enforced_total'), 0);
  t.is(await outlier(envoy, 'ejections_active'), 0);
  t.notRegex(await envoy.clusters(), /failed_outlier_check/);
});

test('a host Envoy cannot connect to is ejected after failures in a row though its health check passes; every call is retried on the healthy host and succeeds', async (t) => {
  t.timeout(120_000);
  const healthy = await stubProduct(() => 'ok');
  // Its health is answered on a port of its own, so that only its calls give it away (the
  // health check alone would take a dead host out, slower); its serving port refuses every
  // connection (free a moment ago: nothing listens there).
  const health = await stubProduct(() => 'ok');
  const dead = await freePort();
  const envoy = await startEnvoy({
    routes: [{ name: 'product', upstream: healthy.server.port }],
    serving: ['product'],
    extraHosts: { product: [{ port: dead, healthPort: health.server.port }] },
  });
  const client = connect(listenPort(envoy, 'product'));
  t.teardown(() => Promise.all([client.close(), envoy.stop(), healthy.server.shutdown(1_000), health.server.shutdown(1_000)]));

  // The counter, not the host's flag in /clusters: its passing health check takes it back in
  // at the next check, which may come before a look at the flag.
  let calls = 0;
  await waitFor('the unreachable host ejected', async () => {
    const res = await call(client, `p-${++calls}`);
    t.is(res.code, grpc.status.OK, res.details);
    return (await outlier(envoy, 'ejections_enforced_consecutive_local_origin_failure')) >= 1;
  });
  t.is(healthy.calls(), calls, 'the healthy host served every call');
  t.is(health.calls(), 0);
});

test('the edge answers 429 to a client past its bucket whatever X-Forwarded-For it claims, never bothering the BFF; another client is served meanwhile, and the first again once its bucket refills', async (t) => {
  t.timeout(120_000);
  const bff = await stubBff();
  // Two tokens, one more every two seconds.
  const envoy = await startEnvoy({ bff: bff.port, edgeLimits: { ...defaultEdgeLimits, perClient: { maxTokens: 2, tokensPerFill: 1, fillIntervalMs: 2_000 } }, serving: ['bff'] });
  t.teardown(() => Promise.all([envoy.stop(), bff.close()]));
  // Every request claims another X-Forwarded-For: were that trusted, each would be a client
  // of its own with a full bucket, and none would be refused. A path per client, so that the
  // health checks (/healthz) are not counted with them.
  let claims = 0;
  const ask = (from: string) => {
    const n = ++claims;
    return request(envoy.topology.edgePort, { from, path: `/graphql?client=${from}`, headers: { 'x-forwarded-for': `10.0.${(n >> 8) & 255}.${n & 255}` } });
  };
  let passed = 0;

  // Bursts until one is refused: how many pass first depends on how fast they go out.
  const refused = await waitFor('a 429', async () => {
    const burst = await Promise.all(Array.from({ length: 10 }, () => ask('127.0.0.5')));
    passed += burst.filter((r) => r.status === 200).length;
    return burst.find((r) => r.status === 429);
  });
  t.like(JSON.parse(refused.body), { errors: [{ extensions: { code: 'TOO_MANY_REQUESTS' } }] });
  t.is(refused.headers['x-rate-limited'], 'true');
  t.true((await envoy.stat('edge_rate_limit.http_local_rate_limit.rate_limited')) > 0);

  // Another address has a bucket of its own: both its tokens are there while the first waits for a refill.
  const other = await Promise.all([ask('127.0.0.8'), ask('127.0.0.8')]);
  t.deepEqual(other.map((r) => r.status), [200, 200]);

  await waitFor('a request served after the refill', async () => (await ask('127.0.0.5')).status === 200);
  passed += 1;
  t.is(bff.seen('/graphql?client=127.0.0.5'), passed, 'the BFF saw exactly the requests that were let through');
  t.is(bff.seen('/graphql?client=127.0.0.8'), 2);
});

test('behind one trusted proxy (trustedForwardHops 1) each client the proxy names in X-Forwarded-For has a bucket of its own, whatever it claimed itself, and the BFF is told that address', async (t) => {
  t.timeout(120_000);
  const told: string[] = [];
  const bff = await stubBff((req) => {
    if (req.url?.startsWith('/graphql')) told.push(String(req.headers['x-envoy-external-address']));
    return false;
  });
  // Two tokens, then one a minute: a refused client stays refused for the test.
  const envoy = await startEnvoy({ bff: bff.port, trustedForwardHops: 1, edgeLimits: { ...defaultEdgeLimits, perClient: { maxTokens: 2, tokensPerFill: 1, fillIntervalMs: 60_000 } }, serving: ['bff'] });
  t.teardown(() => Promise.all([envoy.stop(), bff.close()]));
  // Every request comes from the one proxy address, as from ingress-nginx's pod; the proxy
  // appends the address it saw to whatever the client claimed (a different claim each time).
  const proxy = '127.0.0.9';
  let claims = 0;
  const via = (client: string) => request(envoy.topology.edgePort, { from: proxy, path: `/graphql?client=${client}`, headers: { 'x-forwarded-for': `10.1.0.${++claims % 250}, ${client}` } });

  const refused = await waitFor('a 429 for the first client', async () => {
    const res = await via('203.0.113.1');
    return res.status === 429 ? res : undefined;
  });
  t.like(JSON.parse(refused.body), { errors: [{ extensions: { code: 'TOO_MANY_REQUESTS' } }] });
  // The second client, through the same proxy, still has both its tokens.
  t.deepEqual((await Promise.all([via('203.0.113.2'), via('203.0.113.2')])).map((r) => r.status), [200, 200]);
  t.is(bff.seen('/graphql?client=203.0.113.2'), 2);
  t.deepEqual([...new Set(told)].sort(), ['203.0.113.1', '203.0.113.2']);
});

test('the edge passes a 503 of the BFF on and never repeats the request (a mutation must not run twice)', async (t) => {
  t.timeout(120_000);
  const bff = await stubBff((req, res) => {
    if (req.url !== '/graphql') return false;
    res.statusCode = 503;
    res.end('{"errors":[{"message":"busy"}]}');
    return true;
  });
  const envoy = await startEnvoy({ bff: bff.port, serving: ['bff'] });
  t.teardown(() => Promise.all([envoy.stop(), bff.close()]));

  const res = await request(envoy.topology.edgePort, { from: '127.0.0.6', path: '/graphql', method: 'POST', headers: { 'content-type': 'application/json' } });
  t.is(res.status, 503);
  t.is(bff.seen('/graphql'), 1);
});

test('the edge ends a request the BFF does not answer at the route timeout with 504', async (t) => {
  t.timeout(120_000);
  // Only the test's request hangs: the health checks of the same path are answered.
  const bff = await stubBff((req) => req.headers['x-stub-hang'] === 'yes');
  const envoy = await startEnvoy({ bff: bff.port, serving: ['bff'] });
  t.teardown(() => Promise.all([envoy.stop(), bff.close()]));

  const res = await request(envoy.topology.edgePort, { from: '127.0.0.7', path: '/healthz', headers: { 'x-stub-hang': 'yes' } });
  t.is(res.status, 504);
  t.is(res.body, 'upstream request timeout');
});
