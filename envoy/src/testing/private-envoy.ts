/**
 * A private Envoy for the specs of the generated configuration: the stack's binary, run with
 * the bootstrap of a topology on free loopback ports, in front of upstreams the spec starts
 * itself. The stack's Envoy is shared by every other test and is never touched.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { stringify } from 'yaml';
import { waitFor } from '@shop/testing';
import { envoyBinary } from '@shop/tools/install/envoy';
import { envoyBootstrap, type EdgeLimits, type EnvoyTopology } from '../config.js';

export interface PrivateEnvoy {
  /** What it runs: the ports it listens on (`edgePort`, each route's `listenPort`). */
  topology: EnvoyTopology;
  /** A counter or gauge of the admin's /stats (0 when Envoy has not made it yet). */
  stat(name: string): Promise<number>;
  /** The admin's /clusters (text: one `cluster::host::field::value` a line). */
  clusters(): Promise<string>;
  /** Stops Envoy and removes its configuration; safe to call again. */
  stop(): Promise<void>;
}

export interface EnvoySetup {
  /** A gRPC listener and cluster per route, in front of a server on `upstream`. */
  routes?: Array<{ name: string; upstream: number; timeoutMs?: number }>;
  /** The port of the BFF behind the edge; none: a free port where nothing answers. */
  bff?: number;
  edgeLimits?: EdgeLimits;
  /** The edge's trusted X-Forwarded-For hops (EnvoyTopology.trustedForwardHops). */
  trustedForwardHops?: number;
  /** The clusters whose every host must be found healthy before Envoy counts as started (the others may have no upstream at all). */
  serving: string[];
  /**
   * Hosts added to a cluster, as the DNS name of a headless Service with several pods does in
   * Kubernetes. A host with a `healthPort` is health-checked there instead of on `port`.
   */
  extraHosts?: Record<string, Array<{ port: number; healthPort?: number }>>;
}

/** `n` distinct loopback ports that were free a moment ago: each is held until all are found. */
async function freePorts(n: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from({ length: n }, () => new Promise<net.Server>((resolve, reject) => {
      const server = net.createServer().once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve(server));
    })),
  );
  const ports = servers.map((s) => (s.address() as AddressInfo).port);
  await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
  return ports;
}

async function localTopology(setup: EnvoySetup): Promise<EnvoyTopology> {
  const routes = setup.routes ?? [];
  const [adminPort, edgePort, bff, ...listenPorts] = await freePorts(3 + routes.length);
  return {
    listenHost: '127.0.0.1',
    adminPort: adminPort!,
    edgePort: edgePort!,
    bff: { host: '127.0.0.1', port: setup.bff ?? bff! },
    grpc: routes.map(({ upstream, ...r }, i) => ({ ...r, listenPort: listenPorts[i]!, upstream: { host: '127.0.0.1', port: upstream } })),
    ...(setup.edgeLimits ? { edgeLimits: setup.edgeLimits } : {}),
    ...(setup.trustedForwardHops !== undefined ? { trustedForwardHops: setup.trustedForwardHops } : {}),
  };
}

/** Envoy gave up because a port it was given was taken by another process in the meantime. */
class PortTaken extends Error {}

/**
 * Envoy with the bootstrap generated for `setup` on free loopback ports, once its admin says
 * it is ready and the active health check has found every host of the `serving` clusters
 * healthy. A port taken by someone else between its choice and Envoy's bind (other test
 * files run at the same time) means new ports and another start.
 */
export async function startEnvoy(setup: EnvoySetup): Promise<PrivateEnvoy> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await start(await localTopology(setup), setup);
    } catch (err) {
      if (!(err instanceof PortTaken) || attempt === 5) throw err;
    }
  }
}

type Bootstrap = { static_resources: { clusters: Array<{ name: string; load_assignment: { endpoints: Array<{ lb_endpoints: unknown[] }> } }> } };

async function start(topology: EnvoyTopology, { serving, extraHosts = {} }: EnvoySetup): Promise<PrivateEnvoy> {
  const bootstrap = envoyBootstrap(topology) as Bootstrap;
  for (const [name, hosts] of Object.entries(extraHosts)) {
    const endpoints = bootstrap.static_resources.clusters.find((c) => c.name === name)!.load_assignment.endpoints[0]!.lb_endpoints;
    for (const { port, healthPort } of hosts) {
      endpoints.push({
        endpoint: {
          address: { socket_address: { address: '127.0.0.1', port_value: port } },
          ...(healthPort ? { health_check_config: { port_value: healthPort } } : {}),
        },
      });
    }
  }
  const dir = mkdtempSync(path.join(tmpdir(), 'envoy-private-'));
  const file = path.join(dir, 'envoy.yaml');
  writeFileSync(file, stringify(bootstrap));
  const envoy = spawn(envoyBinary(), ['-c', file, '--use-dynamic-base-id', '--log-level', 'error', '--disable-hot-restart'], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  envoy.stderr.on('data', (c: Buffer) => void (stderr = (stderr + c.toString('utf8')).slice(-4_000)));
  // A test worker that dies runs no teardown: Envoy must not outlive it.
  const killNow = () => void envoy.kill('SIGKILL');
  process.once('exit', killNow);
  const exited = once(envoy, 'exit');
  const admin = (p: string) => fetch(`http://127.0.0.1:${topology.adminPort}${p}`);
  const clusters = async () => (await admin('/clusters')).text();
  const stop = async () => {
    process.removeListener('exit', killNow);
    if (envoy.exitCode === null && envoy.signalCode === null) {
      envoy.kill('SIGTERM');
      await exited;
    }
    rmSync(dir, { recursive: true, force: true });
  };
  const ready = async () => {
    await waitFor('envoy ready', async () => (await admin('/ready')).ok, { timeoutMs: 60_000 });
    await waitFor(`every host of ${serving.join(', ')} healthy`, async () => {
      const flags = (await clusters()).split('\n').filter((l) => serving.some((c) => l.startsWith(`${c}::`)) && l.includes('::health_flags::'));
      return flags.length > 0 && flags.every((l) => l.endsWith('::healthy'));
    }, { timeoutMs: 60_000 });
  };
  // An Envoy that cannot start says why at once, rather than after the wait's timeout.
  const failed = exited.then(([code, signal]) => {
    const why = `envoy exited (${code ?? signal}) before it was ready: ${stderr}`;
    throw stderr.includes('Address already in use') ? new PortTaken(why) : new Error(why);
  });
  // Once started, its exit is stop()'s doing, not a failure.
  failed.catch(() => {});
  try {
    await Promise.race([ready(), failed]);
  } catch (err) {
    await stop();
    throw err;
  }
  return {
    topology,
    clusters,
    async stat(name) {
      const res = await admin(`/stats?format=json&filter=${encodeURIComponent(`^${name.replaceAll('.', '\\.')}$`)}`);
      const { stats } = (await res.json()) as { stats: Array<{ name: string; value: number }> };
      return stats.find((s) => s.name === name)?.value ?? 0;
    },
    stop,
  };
}

export interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** One request to `port` from a given local address (127.0.0.0/8 is all loopback on Linux; each address is a client of its own). */
export function request(port: number, opts: { from: string; path?: string; method?: string; headers?: Record<string, string>; body?: Buffer }): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, localAddress: opts.from, path: opts.path ?? '/healthz', method: opts.method ?? 'GET', headers: opts.headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('error', reject);
    req.end(opts.body);
  });
}

/**
 * A stand-in for the BFF: answers each request as `answer` says (or, when it returns false,
 * 200 `{}`), counting them by path. Envoy's health check asks it for /healthz.
 */
export async function stubBff(answer: (req: http.IncomingMessage, res: http.ServerResponse) => boolean = () => false) {
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
