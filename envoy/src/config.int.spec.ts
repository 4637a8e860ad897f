import test from 'ava';
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { envoyBinary } from '@shop/tools/install/envoy';
import { envoyBootstrap, renderEnvoyConfig, type EnvoyTopology } from './config.js';

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

async function validate(t: EnvoyTopology) {
  const dir = mkdtempSync(path.join(tmpdir(), 'envoy-'));
  const file = path.join(dir, 'envoy.yaml');
  writeFileSync(file, renderEnvoyConfig(t));
  return run(envoyBinary(), ['--mode', 'validate', '-c', file, '--use-dynamic-base-id'], { timeout: 60_000 });
}

test('the local configuration is accepted by envoy --mode validate', async (t) => {
  const { stdout } = await validate(local);
  t.regex(stdout, /configuration .* OK/);
});

test('the edge with jwt_authn (tokens checked against the JWKS the BFF serves) is accepted', async (t) => {
  const { stdout } = await validate(withJwt);
  t.regex(stdout, /OK/);
  const cfg = envoyBootstrap(withJwt) as any;
  const filters = cfg.static_resources.listeners[0].filter_chains[0].filters[0].typed_config.http_filters.map((f: any) => f.name);
  t.deepEqual(filters, ['envoy.filters.http.local_ratelimit', 'envoy.filters.http.jwt_authn', 'envoy.filters.http.router']);
});

test('the Kubernetes (DNS, sidecar) configuration is accepted too', async (t) => {
  const { stdout } = await validate(kubernetes);
  t.regex(stdout, /OK/);
});

test('a broken configuration is rejected, so the check above can fail', async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'envoy-'));
  const file = path.join(dir, 'envoy.yaml');
  writeFileSync(file, renderEnvoyConfig(local).replace('lb_policy: ROUND_ROBIN', 'lb_policy: NOT_A_POLICY'));
  await t.throwsAsync(run(envoyBinary(), ['--mode', 'validate', '-c', file, '--use-dynamic-base-id'], { timeout: 60_000 }));
});

test('each gRPC service gets a listener, an HTTP/2 cluster with gRPC health checks, timeouts and retries on UNAVAILABLE', (t) => {
  const cfg = envoyBootstrap(local) as any;
  const listener = cfg.static_resources.listeners.find((l: any) => l.name === 'grpc_cart-command');
  t.is(listener.address.socket_address.port_value, 15053);
  const route = listener.filter_chains[0].filters[0].typed_config.route_config.virtual_hosts[0].routes[0].route;
  t.is(route.cluster, 'cart-command');
  t.is(route.timeout, '2.000s');
  t.regex(route.retry_policy.retry_on, /\bunavailable\b/);
  const cluster = cfg.static_resources.clusters.find((c: any) => c.name === 'cart-command');
  t.truthy(cluster.typed_extension_protocol_options['envoy.extensions.upstreams.http.v3.HttpProtocolOptions'].explicit_http_config.http2_protocol_options);
  t.deepEqual(cluster.health_checks[0].grpc_health_check, {});
  t.truthy(cluster.outlier_detection);
});
