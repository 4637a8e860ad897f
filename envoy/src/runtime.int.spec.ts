/**
 * The generated configuration at run time: a private Envoy (free ports, the stack's binary)
 * in front of stub upstreams that this file starts and steers, called for real. What is
 * checked is what the configuration promises: gRPC calls retried on UNAVAILABLE and on
 * nothing else, route timeouts that end a call which gets no answer, the edge's rate limit,
 * and a host that keeps failing taken out of its cluster.
 */
import test from 'ava';
import * as grpc from '@grpc/grpc-js';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { stringify } from 'yaml';
import { ProductServiceClient, ProductServiceService, type GetProductResponse } from '@shop/contracts/shop/product/v1/service';
import { Product } from '@shop/contracts/shop/product/v1/product';
import { UnavailableError } from '@shop/platform/errors';
import { bind, type GrpcServer } from '@shop/platform/grpc/server';
import { freePort, serveGrpc, testLogger, waitFor } from '@shop/testing';
import { envoyBinary } from '@shop/tools/install/envoy';
import { defaultEdgeLimits, envoyBootstrap, type EdgeLimits, type EnvoyTopology } from './config.js';

type Bootstrap = { static_resources: { clusters: Array<{ name: string; load_assignment: { endpoints: Array<{ lb_endpoints: unknown[] }> } }> } };

interface PrivateEnvoy {
  /** A counter or gauge of the admin's /stats. */
  stat(name: string): Promise<number>;
  /** The admin's /clusters (text: one `cluster::host::field::value` a line). */
  clusters(): Promise<string>;
  stop(): Promise<void>;
}

/**
 * Envoy with the bootstrap generated from `topology`, once it is ready and the active health
 * check has found every host of the `serving` clusters healthy (the others have no upstream).
 * `extraHosts` adds hosts to a cluster, as the DNS name of a headless Service with several
 * pods does in Kubernetes.
 */
async function startEnvoy(topology: EnvoyTopology, serving: string[], extraHosts: Record<string, number[]> = {}): Promise<PrivateEnvoy> {
  const bootstrap = envoyBootstrap(topology) as Bootstrap;
  for (const [name, ports] of Object.entries(extraHosts)) {
    const endpoints = bootstrap.static_resources.clusters.find((c) => c.name === name)!.load_assignment.endpoints[0]!.lb_endpoints;
    for (const port of ports) endpoints.push({ endpoint: { address: { socket_address: { address: '127.0.0.1', port_value: port } } } });
  }
  const file = path.join(mkdtempSync(path.join(tmpdir(), 'envoy-runtime-')), 'envoy.yaml');
  writeFileSync(file, stringify(bootstrap));
  const envoy = spawn(envoyBinary(), ['-c', file, '--use-dynamic-base-id', '--log-level', 'error', '--disable-hot-restart'], { stdio: 'ignore' });
  const killNow = () => void envoy.kill('SIGKILL');
  process.once('exit', killNow);
  const admin = (p: string) => fetch(`http://127.0.0.1:${topology.adminPort}${p}`);
  const clusters = async () => (await admin('/clusters')).text();
  const stop = async () => {
    process.removeListener('exit', killNow);
    if (envoy.exitCode !== null || envoy.signalCode !== null) return;
    const exited = once(envoy, 'exit');
    envoy.kill('SIGTERM');
    await exited;
  };
  try {
    await waitFor('envoy ready', async () => (await admin('/ready')).ok, { timeoutMs: 60_000, intervalMs: 100 });
    await waitFor(`every host of ${serving.join(', ')} healthy`, async () => {
      const flags = (await clusters()).split('\n').filter((l) => serving.some((c) => l.startsWith(`${c}::`)) && l.includes('::health_flags::'));
      return flags.length > 0 && flags.every((l) => l.endsWith('::healthy'));
    }, { timeoutMs: 60_000, intervalMs: 100 });
  } catch (err) {
    await stop();
    throw err;
  }
  return {
    clusters,
    async stat(name) {
      const res = await admin(`/stats?format=json&filter=${encodeURIComponent(`^${name.replaceAll('.', '\\.')}$`)}`);
      const { stats } = (await res.json()) as { stats: Array<{ name: string; value: number }> };
      return stats.find((s) => s.name === name)?.value ?? 0;
    },
    stop,
  };
}

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

/** Local ports for everything: a gRPC route per stub, the edge in front of `bff` (a free port where no stub is needed). */
async function topology(routes: Array<{ name: string; upstream: number; timeoutMs?: number }>, opts: { bff?: number; edgeLimits?: EdgeLimits } = {}): Promise<EnvoyTopology> {
  return {
    listenHost: '127.0.0.1',
    adminPort: await freePort(),
    edgePort: await freePort(),
    bff: { host: '127.0.0.1', port: opts.bff ?? (await freePort()) },
    grpc: await Promise.all(routes.map(async ({ upstream, ...r }) => ({ ...r, listenPort: await freePort(), upstream: { host: '127.0.0.1', port: upstream } }))),
    ...(opts.edgeLimits ? { edgeLimits: opts.edgeLimits } : {}),
  };
}

function getProduct(port: number, id: string, deadlineMs?: number): Promise<{ code: grpc.status; details: string; product?: Product }> {
  const client = new ProductServiceClient(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
  const options = deadlineMs ? { deadline: Date.now() + deadlineMs } : {};
  return new Promise((resolve) => {
    client.getProduct({ id }, new grpc.Metadata(), options, (err, res) => {
      client.close();
      resolve(err ? { code: err.code, details: err.details } : { code: grpc.status.OK, details: '', ...(res?.product ? { product: res.product } : {}) });
    });
  });
}

/** A stand-in for the BFF: answers each request as `answer` says (default 200 `{}`), counting them by path. */
async function stubBff(answer: (req: http.IncomingMessage, res: http.ServerResponse) => boolean = () => false) {
  const seen = new Map<string, number>();
  const server = http.createServer((req, res) => {
    seen.set(req.url ?? '', (seen.get(req.url ?? '') ?? 0) + 1);
    if (answer(req, res)) return;
    res.setHeader('content-type', 'application/json');
    res.end('{}');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    seen: (p: string) => seen.get(p) ?? 0,
    close: () => {
      server.closeAllConnections();
      server.close();
    },
  };
}

const listenPort = (t: EnvoyTopology, name: string) => t.grpc.find((g) => g.name === name)!.listenPort;

test('a gRPC call answered UNAVAILABLE once is tried again and succeeds; the service saw two attempts', async (t) => {
  t.timeout(120_000);
  const stub = await stubProduct((n) => (n === 1 ? 'unavailable' : 'ok'));
  const topo = await topology([{ name: 'product', upstream: stub.server.port }]);
  const envoy = await startEnvoy(topo, ['product']);
  t.teardown(() => Promise.all([envoy.stop(), stub.server.shutdown(1_000)]));

  const res = await getProduct(listenPort(topo, 'product'), 'p-1');
  t.is(res.code, grpc.status.OK, res.details);
  t.is(res.product?.id, 'p-1');
  t.is(stub.calls(), 2);
  t.is(await envoy.stat('cluster.product.upstream_rq_retry_success'), 1);
});

test('a gRPC call that may have run (INTERNAL) is not tried again; UNAVAILABLE is tried at most twice more', async (t) => {
  t.timeout(120_000);
  const broken = await stubProduct(() => 'internal');
  const down = await stubProduct(() => 'unavailable');
  const topo = await topology([
    { name: 'broken', upstream: broken.server.port },
    { name: 'down', upstream: down.server.port },
  ]);
  const envoy = await startEnvoy(topo, ['broken', 'down']);
  t.teardown(() => Promise.all([envoy.stop(), broken.server.shutdown(1_000), down.server.shutdown(1_000)]));

  t.is((await getProduct(listenPort(topo, 'broken'), 'p-1')).code, grpc.status.INTERNAL);
  t.is(broken.calls(), 1);
  t.is((await getProduct(listenPort(topo, 'down'), 'p-1')).code, grpc.status.UNAVAILABLE);
  t.is(down.calls(), 3);
});

test('a gRPC call that gets no answer ends with DEADLINE_EXCEEDED at the route timeout, with or without a deadline of the caller', async (t) => {
  t.timeout(120_000);
  const stub = await stubProduct(() => 'never');
  const topo = await topology([{ name: 'product', upstream: stub.server.port, timeoutMs: 1_000 }]);
  const envoy = await startEnvoy(topo, ['product']);
  t.teardown(() => Promise.all([envoy.stop(), stub.server.shutdown(100)]));

  // No deadline: only Envoy can end the call (grpc-js would wait for ever).
  const bare = await getProduct(listenPort(topo, 'product'), 'p-1');
  t.is(bare.code, grpc.status.DEADLINE_EXCEEDED, bare.details);
  // A deadline far beyond the route's: Envoy caps it.
  const patient = await getProduct(listenPort(topo, 'product'), 'p-1', 600_000);
  t.is(patient.code, grpc.status.DEADLINE_EXCEEDED, patient.details);
  // Never retried: the call may be running still.
  t.is(stub.calls(), 2);
});

test('a host that keeps answering UNAVAILABLE is ejected after the configured failures in a row; the calls go to the healthy one', async (t) => {
  t.timeout(120_000);
  const healthy = await stubProduct(() => 'ok');
  const failing = await stubProduct(() => 'unavailable');
  const topo = await topology([{ name: 'product', upstream: healthy.server.port }]);
  const envoy = await startEnvoy(topo, ['product'], { product: [failing.server.port] });
  t.teardown(() => Promise.all([envoy.stop(), healthy.server.shutdown(1_000), failing.server.shutdown(1_000)]));
  const port = listenPort(topo, 'product');
  const { consecutive_gateway_failure: inARow } = (envoyBootstrap(topo) as any).static_resources.clusters.find((c: any) => c.name === 'product').outlier_detection;

  // Its health check passes (the process is up): only its answers give it away.
  await waitFor('the failing host ejected', async () => {
    const res = await getProduct(port, 'p-1');
    // A call that went to the failing host was retried on the other one.
    t.is(res.code, grpc.status.OK, res.details);
    return (await envoy.stat('cluster.product.outlier_detection.ejections_active')) === 1;
  });
  t.is(await envoy.stat('cluster.product.outlier_detection.ejections_enforced_consecutive_gateway_failure'), 1);
  t.true(failing.calls() >= inARow, `ejected after ${failing.calls()} failures`);
  t.regex(await envoy.clusters(), new RegExp(`product::127\\.0\\.0\\.1:${failing.server.port}::health_flags::/failed_outlier_check`));

  const before = { healthy: healthy.calls(), failing: failing.calls() };
  for (let i = 0; i < 10; i++) t.is((await getProduct(port, `p-${i}`)).code, grpc.status.OK);
  t.is(healthy.calls(), before.healthy + 10);
  t.is(failing.calls(), before.failing);
});

/** One request to the edge from a given loopback address (each is a client of its own). */
function edgeRequest(port: number, opts: { from: string; path?: string; method?: string; headers?: Record<string, string> }) {
  return new Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }>((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, localAddress: opts.from, path: opts.path ?? '/healthz', method: opts.method ?? 'GET', headers: opts.headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('error', reject);
    req.end();
  });
}

test('the edge answers 429 to a client past its bucket, never bothering the BFF, and serves it again once the bucket refills', async (t) => {
  t.timeout(120_000);
  const bff = await stubBff();
  // Two tokens, one more a second.
  const topo = await topology([], { bff: bff.port, edgeLimits: { ...defaultEdgeLimits, perClient: { maxTokens: 2, tokensPerFill: 1, fillIntervalMs: 1_000 } } });
  const envoy = await startEnvoy(topo, ['bff']);
  t.teardown(() => Promise.all([envoy.stop(), bff.close()]));
  // A path of its own, so that the health checks (/healthz) are not counted with it.
  const ask = () => edgeRequest(topo.edgePort, { from: '127.0.0.5', path: '/graphql?client=5' });
  let passed = 0;

  // Bursts until one is refused: how many pass first depends on how fast they go out.
  const refused = await waitFor('a 429', async () => {
    const burst = await Promise.all(Array.from({ length: 10 }, ask));
    passed += burst.filter((r) => r.status === 200).length;
    return burst.find((r) => r.status === 429);
  });
  t.like(JSON.parse(refused.body), { errors: [{ extensions: { code: 'TOO_MANY_REQUESTS' } }] });
  t.is(refused.headers['x-rate-limited'], 'true');
  t.true((await envoy.stat('edge_rate_limit.http_local_rate_limit.rate_limited')) > 0);

  await waitFor('a request served after the refill', async () => (await ask()).status === 200);
  passed += 1;
  t.is(bff.seen('/graphql?client=5'), passed, 'the BFF saw exactly the requests that were let through');
});

test('the edge passes a 503 of the BFF on and never repeats the request (a mutation must not run twice)', async (t) => {
  t.timeout(120_000);
  const bff = await stubBff((req, res) => {
    if (req.url !== '/graphql') return false;
    res.statusCode = 503;
    res.end('{"errors":[{"message":"busy"}]}');
    return true;
  });
  const topo = await topology([], { bff: bff.port });
  const envoy = await startEnvoy(topo, ['bff']);
  t.teardown(() => Promise.all([envoy.stop(), bff.close()]));

  const res = await edgeRequest(topo.edgePort, { from: '127.0.0.6', path: '/graphql', method: 'POST', headers: { 'content-type': 'application/json' } });
  t.is(res.status, 503);
  t.is(bff.seen('/graphql'), 1);
});

test('the edge ends a request the BFF does not answer at the route timeout with 504', async (t) => {
  t.timeout(120_000);
  // Only the test's request hangs: the health checks of the same path are answered.
  const bff = await stubBff((req) => req.headers['x-stub-hang'] === 'yes');
  const topo = await topology([], { bff: bff.port });
  const envoy = await startEnvoy(topo, ['bff']);
  t.teardown(() => Promise.all([envoy.stop(), bff.close()]));

  const res = await edgeRequest(topo.edgePort, { from: '127.0.0.7', path: '/healthz', headers: { 'x-stub-hang': 'yes' } });
  t.is(res.status, 504);
  t.is(res.body, 'upstream request timeout');
});
