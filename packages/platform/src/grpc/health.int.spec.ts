import test from 'ava';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import { service as healthService } from 'grpc-health-check';
import { CartQueryServiceService } from '@shop/contracts/shop/cart/v1/query_service';
import { createTestAuth, freePort, spawnProcess, startPrivatePostgres, testLogger, waitFor, type PrivatePostgres, type SpawnedProcess } from '@shop/testing';
import { Readiness } from '../ops-server.js';
import { loadDescriptorSet } from '@shop/contracts/descriptors';
import { createMetrics } from '../metrics.js';
import { startGrpcServer, type ServiceBinding } from './server.js';

/**
 * The gRPC health service (what Envoy's active health checks ask) follows the process's
 * readiness checks: a replica that answers but has lost its database says NOT_SERVING
 * until the database is back, and says NOT_SERVING for good once it shuts down.
 */
const { log } = testLogger();
let pg: PrivatePostgres;
const children: SpawnedProcess[] = [];

test.before(async () => {
  pg = await startPrivatePostgres();
});

test.after.always(async () => {
  for (const c of children) c.child.kill('SIGKILL');
  await pg?.destroy();
});

type Health = grpc.Client & {
  Check(req: { service: string }, cb: (err: grpc.ServiceError | null, res?: { status: string }) => void): void;
  Watch(req: { service: string }): grpc.ClientReadableStream<{ status: string }>;
};

function healthClient(address: string) {
  const Health = grpc.makeGenericClientConstructor(healthService, 'Health');
  const client = new Health(address, grpc.credentials.createInsecure()) as unknown as Health;
  const check = (service: string) =>
    new Promise<string>((resolve, reject) => client.Check({ service }, (err, res) => (err ? reject(err) : resolve(String(res!.status)))));
  /** Every status the Watch of `service` has streamed, in order. */
  const watch = (service: string) => {
    const seen: string[] = [];
    const stream = client.Watch({ service });
    stream.on('data', (m: { status: string }) => seen.push(String(m.status)));
    stream.on('error', () => undefined);
    return { seen, last: () => seen.at(-1), cancel: () => stream.cancel() };
  };
  return { check, watch, close: () => client.close() };
}

test('a process whose Postgres crashes says NOT_SERVING on its gRPC health until Postgres is back, and NOT_SERVING at shutdown', async (t) => {
  const [grpcPort, httpPort] = [await freePort(), await freePort()];
  const auth = await createTestAuth();
  const proc = spawnProcess(fileURLToPath(new URL('./health.fixture.ts', import.meta.url)), {
    SHOP_ENVIRONMENT: 'development',
    LOG_LEVEL: 'info',
    DATABASE_URL: pg.url(),
    DATABASE_POOL_MAX: '2',
    AUTH_JWKS: JSON.stringify(auth.jwks),
    SERVICE_TOKEN_KEY: auth.serviceKey,
    GRPC_PORT: String(grpcPort),
    HTTP_PORT: String(httpPort),
  });
  children.push(proc);
  await proc.line(/"msg":"started"/);
  const health = healthClient(`127.0.0.1:${grpcPort}`);
  t.teardown(health.close);
  const watch = health.watch('');
  t.teardown(watch.cancel);
  await waitFor('the health watch to say SERVING', () => watch.last() === 'SERVING');

  await pg.crash();
  await waitFor('the health watch to say NOT_SERVING', () => watch.last() === 'NOT_SERVING');
  // The port still answers: only what it says changed.
  t.is(await health.check(''), 'NOT_SERVING');
  t.truthy(proc.logs().find((l) => l.msg === 'a readiness check failed: not serving'));

  await pg.start();
  await waitFor('the health watch to say SERVING again', () => watch.last() === 'SERVING', { timeoutMs: 60_000 });
  t.is(await health.check(''), 'SERVING');

  proc.child.kill('SIGTERM');
  await waitFor('the health watch to say NOT_SERVING at shutdown', () => watch.last() === 'NOT_SERVING');
  const [code] = await proc.exited;
  t.is(code, 0);
  t.deepEqual(proc.logs().filter((l) => l.msg === 'stopping').map((l) => l.hook), ['readiness', 'grpc', 'postgres', 'ops-server'], proc.lines.slice(-40).join('\n'));
});

test('every served service name follows a readiness check the caller controls; shutdown is NOT_SERVING for good', async (t) => {
  let failing = false;
  let runs = 0;
  const readiness = new Readiness({ intervalMs: 20 });
  readiness.add({
    name: 'dependency',
    check: async () => {
      runs++;
      if (failing) throw new Error('dependency down');
    },
  });
  const name = 'shop.cart.v1.CartQueryService';
  const handlers = Object.fromEntries(Object.keys(CartQueryServiceService).map((m) => [m, async () => ({})]));
  const binding: ServiceBinding = { name, definition: CartQueryServiceService, handlers };
  const server = await startGrpcServer({ port: 0, services: [binding], descriptorSet: loadDescriptorSet(), log, registry: createMetrics('health-int-spec'), readiness });
  t.teardown(() => server.shutdown(2_000));
  const health = healthClient(`127.0.0.1:${server.port}`);
  t.teardown(health.close);
  const statuses = async () => [await health.check(''), await health.check(name)];

  // Not started yet: not serving, whatever the checks say.
  t.deepEqual(await statuses(), ['NOT_SERVING', 'NOT_SERVING']);
  readiness.setAccepting(true);
  await waitFor('SERVING', async () => (await statuses()).every((s) => s === 'SERVING'));

  failing = true;
  await waitFor('NOT_SERVING while the check fails', async () => (await statuses()).every((s) => s === 'NOT_SERVING'));
  failing = false;
  await waitFor('SERVING once it passes', async () => (await statuses()).every((s) => s === 'SERVING'));

  readiness.setAccepting(false);
  t.deepEqual(await statuses(), ['NOT_SERVING', 'NOT_SERVING'], 'shutdown begins: at once, before the next run');
  // The checks pass and keep running: nothing turns it back.
  const after = runs;
  await waitFor('two more runs of the passing check', () => runs >= after + 2);
  t.deepEqual(await statuses(), ['NOT_SERVING', 'NOT_SERVING']);
});
