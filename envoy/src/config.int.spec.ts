import test from 'ava';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { envoyBinary } from '@shop/tools/install/envoy';
import { defaultEdgeLimits, envoyBootstrap, renderEnvoyConfig, type EnvoyTopology } from './config.js';
import { request, startEnvoy, stubBff } from './testing/private-envoy.js';

const run = promisify(execFile);

const local: EnvoyTopology = {
  listenHost: '127.0.0.1',
  adminPort: 19901,
  edgePort: 18080,
  bff: { host: '127.0.0.1', port: 14000 },
  grpc: [
    { name: 'product', listenPort: 15051, upstream: { host: '127.0.0.1', port: 16051 } },
    { name: 'cart-command', listenPort: 15053, upstream: { host: '127.0.0.1', port: 16053 }, timeoutMs: 2_000 },
  ],
};
const withJwt: EnvoyTopology = { ...local, jwt: { issuer: 'shop', audience: 'shop-api' } };
const kubernetes: EnvoyTopology = {
  ...local,
  listenHost: '0.0.0.0',
  dns: true,
  bff: { host: 'localhost', port: 4000 },
  grpc: [{ name: 'product', listenPort: 15051, upstream: { host: 'product.shop.svc.cluster.local', port: 50051 } }],
};

/** `envoy --mode validate` of a rendered configuration. */
async function validate(yaml: string) {
  const dir = mkdtempSync(path.join(tmpdir(), 'envoy-'));
  const file = path.join(dir, 'envoy.yaml');
  writeFileSync(file, yaml);
  try {
    return await run(envoyBinary(), ['--mode', 'validate', '-c', file, '--use-dynamic-base-id'], { timeout: 60_000 });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('the local configuration is accepted by envoy --mode validate', async (t) => {
  const { stdout } = await validate(renderEnvoyConfig(local));
  t.regex(stdout, /configuration .* OK/);
});

test('the edge with jwt_authn (tokens checked against the JWKS the BFF serves) is accepted', async (t) => {
  const { stdout } = await validate(renderEnvoyConfig(withJwt));
  t.regex(stdout, /OK/);
  const cfg = envoyBootstrap(withJwt) as any;
  const filters = cfg.static_resources.listeners[0].filter_chains[0].filters[0].typed_config.http_filters.map((f: any) => f.name);
  t.deepEqual(filters, ['envoy.filters.http.local_ratelimit', 'envoy.filters.http.jwt_authn', 'envoy.filters.http.buffer', 'envoy.filters.http.router']);
});

test('the Kubernetes (DNS, sidecar) configuration is accepted too', async (t) => {
  const { stdout } = await validate(renderEnvoyConfig(kubernetes));
  t.regex(stdout, /OK/);
});

test('a broken configuration is rejected, so the check above can fail', async (t) => {
  await t.throwsAsync(validate(renderEnvoyConfig(local).replace('lb_policy: ROUND_ROBIN', 'lb_policy: NOT_A_POLICY')));
});

test('each gRPC service gets a listener, an HTTP/2 cluster with gRPC health checks, timeouts and retries on UNAVAILABLE', (t) => {
  const cfg = envoyBootstrap(local) as any;
  const listener = cfg.static_resources.listeners.find((l: any) => l.name === 'grpc_cart-command');
  t.is(listener.address.socket_address.port_value, 15053);
  const route = listener.filter_chains[0].filters[0].typed_config.route_config.virtual_hosts[0].routes[0].route;
  t.is(route.cluster, 'cart-command');
  // The route's time bounds the stream (DEADLINE_EXCEEDED), not the router (504, seen as UNAVAILABLE): runtime.int.spec.ts.
  t.is(route.timeout, '0s');
  t.deepEqual(route.max_stream_duration, { max_stream_duration: '2.000s', grpc_timeout_header_max: '2.000s' });
  t.regex(route.retry_policy.retry_on, /\bunavailable\b/);
  const cluster = cfg.static_resources.clusters.find((c: any) => c.name === 'cart-command');
  t.truthy(cluster.typed_extension_protocol_options['envoy.extensions.upstreams.http.v3.HttpProtocolOptions'].explicit_http_config.http2_protocol_options);
  t.deepEqual(cluster.health_checks[0].grpc_health_check, {});
  t.is(route.retry_policy.retry_host_predicate[0].name, 'envoy.retry_host_predicates.previous_hosts');
});

// runtime.int.spec.ts shows both on a gRPC cluster; the BFF's clusters are made the same way.
test('no cluster, the BFF\'s included, ejects a host for what it answers; each ejects one Envoy cannot reach', (t) => {
  for (const c of (envoyBootstrap(local) as any).static_resources.clusters) {
    t.like(c.outlier_detection, { split_external_local_origin_errors: true, enforcing_consecutive_5xx: 0, enforcing_consecutive_gateway_failure: 0, enforcing_success_rate: 0 }, c.name);
    t.true(c.outlier_detection.enforcing_consecutive_local_origin_failure > 0, c.name);
  }
});

const edgeOf = (cfg: any) => cfg.static_resources.listeners.find((l: any) => l.name === 'edge').filter_chains[0].filters[0].typed_config;

test('the edge limits each client address on its own bucket, never on one bucket shared by all', (t) => {
  const hcm = edgeOf(envoyBootstrap(local));
  const rl = hcm.http_filters.find((f: any) => f.name === 'envoy.filters.http.local_ratelimit').typed_config;
  t.deepEqual(rl.rate_limits, [{ actions: [{ remote_address: {} }] }]);
  // An entry without a value: a bucket per distinct address.
  t.deepEqual(rl.descriptors[0].entries, [{ key: 'remote_address' }]);
  t.is(rl.descriptors[0].token_bucket.max_tokens, defaultEdgeLimits.perClient.maxTokens);
  t.is(rl.max_dynamic_descriptors, defaultEdgeLimits.maxClients);
  t.false(rl.always_consume_default_token_bucket);
  // The client address is the peer's: no X-Forwarded-For hop is trusted.
  t.true(hcm.use_remote_address);
  t.is(hcm.xff_num_trusted_hops, undefined);
});

test('every cluster has explicit circuit breakers; subscriptions have their own BFF cluster, capped, with a maximum duration', (t) => {
  const cfg = envoyBootstrap(withJwt) as any;
  for (const c of cfg.static_resources.clusters) {
    const th = c.circuit_breakers?.thresholds?.[0];
    t.truthy(th, `${c.name}: circuit_breakers`);
    for (const k of ['max_connections', 'max_pending_requests', 'max_requests', 'max_retries']) t.true(Number.isInteger(th?.[k]), `${c.name}: ${k}`);
  }
  const sse = cfg.static_resources.clusters.find((c: any) => c.name === 'bff_sse');
  t.is(sse.circuit_breakers.thresholds[0].max_requests, defaultEdgeLimits.maxSubscriptions);
  const routes = edgeOf(cfg).route_config.virtual_hosts[0].routes;
  const sseRoute = routes.find((r: any) => r.match.headers?.some((h: any) => h.name === 'accept'));
  t.is(sseRoute.route.cluster, 'bff_sse');
  t.is(sseRoute.route.max_stream_duration.max_stream_duration, '3600.000s');
  t.true(routes.filter((r: any) => r !== sseRoute).every((r: any) => r.route.cluster === 'bff'));
});

test('connections, HTTP/2 streams, request headers and bodies are bounded; no client is internal', (t) => {
  const cfg = envoyBootstrap(local) as any;
  const monitor = cfg.overload_manager.resource_monitors[0];
  t.is(monitor.name, 'envoy.resource_monitors.global_downstream_max_connections');
  t.is(monitor.typed_config.max_active_downstream_connections, defaultEdgeLimits.maxConnections);
  const hcm = edgeOf(cfg);
  t.is(hcm.http2_protocol_options.max_concurrent_streams, defaultEdgeLimits.maxConcurrentStreams);
  t.is(hcm.request_headers_timeout, '10.000s');
  t.deepEqual(hcm.internal_address_config, { unix_sockets: false, cidr_ranges: [] });
  const buffer = hcm.http_filters.find((f: any) => f.name === 'envoy.filters.http.buffer').typed_config;
  t.is(buffer.max_request_bytes, 64 * 1024);
});

test('the egress listeners can bind elsewhere than the edge (loopback in a pod)', (t) => {
  const cfg = envoyBootstrap({ ...kubernetes, egressHost: '127.0.0.1' }) as any;
  const [edge, ...egress] = cfg.static_resources.listeners;
  t.is(edge.address.socket_address.address, '0.0.0.0');
  t.true(egress.length > 0);
  for (const l of egress) t.is(l.address.socket_address.address, '127.0.0.1', l.name);
});

test('served by Envoy: x-envoy-* request headers of a client never reach the BFF; a body over 64 KiB gets 413', async (t) => {
  t.timeout(60_000);
  // The BFF's stand-in answers with the headers it received.
  const bff = await stubBff((req, res) => {
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify(req.headers));
    return true;
  });
  const envoy = await startEnvoy({ bff: bff.port, serving: ['bff'] });
  t.teardown(() => Promise.all([envoy.stop(), bff.close()]));

  const res = await request(envoy.topology.edgePort, {
    from: '127.0.0.4',
    headers: { 'x-envoy-retry-on': '5xx', 'x-envoy-max-retries': '10', 'x-envoy-upstream-rq-timeout-ms': '1', 'x-envoy-internal': 'true' },
  });
  t.is(res.status, 200);
  const seen = JSON.parse(res.body) as Record<string, string>;
  for (const h of ['x-envoy-retry-on', 'x-envoy-max-retries', 'x-envoy-upstream-rq-timeout-ms', 'x-envoy-internal']) t.is(seen[h], undefined, `${h} reached the BFF`);
  t.is(seen['x-envoy-external-address'], '127.0.0.4', 'the client is external');

  const big = await request(envoy.topology.edgePort, { from: '127.0.0.4', path: '/graphql', method: 'POST', headers: { 'content-type': 'application/json' }, body: Buffer.alloc(64 * 1024 + 1, 0x20) });
  t.is(big.status, 413);
  t.like(JSON.parse(big.body), { errors: [{ extensions: { code: 'PAYLOAD_TOO_LARGE' } }] });
  const fits = await request(envoy.topology.edgePort, { from: '127.0.0.4', path: '/graphql', method: 'POST', headers: { 'content-type': 'application/json' }, body: Buffer.alloc(1024, 0x20) });
  t.is(fits.status, 200);
});
