import test from 'ava';
import { testLogger } from '@shop/testing';
import { Lifecycle } from './shutdown.js';

/**
 * The shutdown hook order. A process registers its hooks as it starts things (runProcess:
 * the ops server first; `main`: pools, then consumers and servers; runProcess: readiness
 * last), and they run last-registered first: readiness goes NOT_SERVING, servers drain,
 * consumers finish their batch, pools close, and the ops server (metrics, probes) goes last.
 */

/** A hook that records its start and end, and finishes only when `release` is called. */
function slowHook(name: string, trace: string[]) {
  let release!: () => void;
  const released = new Promise<void>((r) => (release = r));
  return {
    release,
    fn: async () => {
      trace.push(`${name}:start`);
      await released;
      trace.push(`${name}:end`);
    },
  };
}

test('hooks run last-registered first, each one finished before the next starts', async (t) => {
  const { log, lines } = testLogger();
  const lifecycle = new Lifecycle(log);
  const trace: string[] = [];
  const grpc = slowHook('grpc', trace);
  // In the order the cart query process registers them (runProcess and its main).
  lifecycle.onShutdown('ops-server', () => void trace.push('ops-server'));
  lifecycle.onShutdown('postgres', () => void trace.push('postgres'));
  lifecycle.onShutdown('read-model-waits', () => void trace.push('read-model-waits'));
  lifecycle.onShutdown('grpc', grpc.fn);
  lifecycle.onShutdown('readiness', () => void trace.push('readiness'));

  const stopped = lifecycle.shutdown();
  t.true(lifecycle.isStopping);
  // The draining server holds the rest back: nothing after it runs until it is done.
  await new Promise((r) => setImmediate(r));
  t.deepEqual(trace, ['readiness', 'grpc:start']);
  grpc.release();
  await stopped;
  t.deepEqual(trace, ['readiness', 'grpc:start', 'grpc:end', 'read-model-waits', 'postgres', 'ops-server']);
  t.deepEqual(
    lines().filter((l) => l.msg === 'stopping').map((l) => l.hook),
    ['readiness', 'grpc', 'read-model-waits', 'postgres', 'ops-server'],
    'each hook is logged as it starts',
  );
});

test('a failing hook is logged and the hooks after it still run; the shutdown then fails', async (t) => {
  const { log, lines } = testLogger();
  const lifecycle = new Lifecycle(log);
  const trace: string[] = [];
  lifecycle.onShutdown('postgres', () => void trace.push('postgres'));
  lifecycle.onShutdown('projector', () => {
    throw new Error('consumer would not leave');
  });
  lifecycle.onShutdown('readiness', () => void trace.push('readiness'));
  await t.throwsAsync(lifecycle.shutdown(), { message: 'shutdown hooks failed' });
  t.deepEqual(trace, ['readiness', 'postgres'], 'the pool still closes');
  t.like(lines().find((l) => l.msg === 'shutdown hook failed'), { hook: 'projector', err: { message: 'consumer would not leave' } });
});

test('a second request to stop joins the first: every hook runs once', async (t) => {
  const lifecycle = new Lifecycle(testLogger().log);
  let runs = 0;
  lifecycle.onShutdown('postgres', () => void runs++);
  const first = lifecycle.shutdown();
  const second = lifecycle.shutdown();
  t.is(first, second);
  await first;
  await lifecycle.shutdown();
  t.is(runs, 1);
});

test('own registers the resource’s stop as a hook and hands the resource back', async (t) => {
  const { log } = testLogger();
  const lifecycle = new Lifecycle(log);
  let stopped = 0;
  const relay = { stop: async () => void stopped++ };
  t.is(lifecycle.own('relay', relay), relay);
  await lifecycle.shutdown();
  t.is(stopped, 1);
});

test('a hook registered once the shutdown has begun runs at once, not never', async (t) => {
  const { log, lines } = testLogger();
  const lifecycle = new Lifecycle(log);
  const pool = slowHook('postgres', []);
  lifecycle.onShutdown('postgres', pool.fn);
  const stopping = lifecycle.shutdown();
  // A main still starting registers what it started after the shutdown began.
  let serverStopped = false;
  lifecycle.onShutdown('grpc', () => void (serverStopped = true));
  await new Promise((r) => setImmediate(r));
  t.true(serverStopped, 'stopped without waiting for the hooks in progress');
  t.like(lines().find((l) => l.msg === 'stopping (started during shutdown)'), { hook: 'grpc' });
  pool.release();
  await stopping;
});
