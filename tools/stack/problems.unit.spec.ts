import test from 'ava';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { problemLines } from './problems.js';

const dir = () => mkdtempSync(path.join(tmpdir(), 'shop-problems-'));
const json = (o: object) => JSON.stringify(o);

test('warnings and errors of the processes are picked, info and known noise are not', (t) => {
  const d = dir();
  writeFileSync(
    path.join(d, 'user-command.log'),
    [
      '--- [stack] 2026-11-23T10:00:00.000Z starting: node …',
      json({ level: 'error', msg: 'from an earlier run of the process' }),
      '--- [stack] 2026-11-23T11:00:00.000Z starting: node …',
      json({ level: 30, msg: 'listening' }),
      json({ level: 'info', msg: 'listening, labelled' }),
      json({ level: 'error', msg: 'unexpected error', ref: 'r-1' }),
      json({ level: 40, component: 'kafkajs', msg: 'Limiting retries for the idempotent producer may invalidate EoS guarantees' }),
      json({ level: 40, msg: 'a spent refresh token was presented again' }),
      '{not json',
    ].join('\n'),
  );
  writeFileSync(path.join(d, 'install-kafka.log'), json({ level: 50, msg: 'install logs are not process logs' }));
  const lines = problemLines(d);
  t.is(lines[0], '--- user-command: 2 problem line(s)');
  t.true(lines[1]!.includes('r-1'));
  t.true(lines[2]!.includes('spent refresh token'));
  t.is(lines.length, 3);
});

test('Envoy lines: proxy failures, 5xx, server-side gRPC codes and slow calls; the latest per file only', (t) => {
  const d = dir();
  const call = (o: object) => json({ listener: 'grpc_user-command', flags: '-', status: 200, grpc_status: 0, duration_ms: 5, ...o });
  writeFileSync(
    path.join(d, 'envoy.log'),
    [
      call({ request_id: 'ok' }),
      call({ request_id: 'not-found', grpc_status: 5 }),
      call({ request_id: 'flags', flags: 'UF' }),
      call({ request_id: 'http-503', status: 503 }),
      call({ request_id: 'internal', grpc_status: 13 }),
      call({ request_id: 'slow', duration_ms: 2_500 }),
    ].join('\n'),
  );
  const ids = problemLines(d, { perFile: 3 }).slice(1).map((l) => (JSON.parse(l) as { request_id: string }).request_id);
  t.deepEqual(ids, ['http-503', 'internal', 'slow']);
  t.is(problemLines(d)[0], '--- envoy: 4 problem line(s)');
});

test('no log directory, no lines', (t) => {
  t.deepEqual(problemLines(path.join(tmpdir(), 'shop-no-such-dir')), []);
});

test('what needs no attention is left out: a client closing its stream, no route, documented waits, a broker loading its groups', (t) => {
  const d = dir();
  const line = (o: object) => json({ flags: '-', status: 200, grpc_status: null, duration_ms: 5, ...o });
  writeFileSync(
    path.join(d, 'envoy.log'),
    [
      line({ request_id: 'sse-closed', listener: 'edge', path: '/graphql', flags: 'DC', duration_ms: 30_000 }),
      line({ request_id: 'no-route', listener: 'edge', path: '/version', flags: 'NR', status: 404 }),
      line({ request_id: 'min-version-wait', listener: 'edge', path: '/graphql', duration_ms: 7_000 }),
      line({ request_id: 'get-cart-wait', listener: 'grpc_cart-query', path: '/shop.cart.v1.CartQueryService/GetCart', grpc_status: 0, duration_ms: 7_000 }),
      line({ request_id: 'slow-command', listener: 'grpc_cart-command', path: '/shop.cart.v1.CartCommandService/AddItem', grpc_status: 0, duration_ms: 7_000 }),
      line({ request_id: 'edge-503', listener: 'edge', path: '/graphql', status: 503 }),
    ].join('\n'),
  );
  writeFileSync(path.join(d, 'product.log'), json({ level: 'error', component: 'kafkajs', error: "The coordinator is loading and hence can't process requests for this group", msg: 'Response InitProducerId(key: 22, version: 1)' }));
  const ids = problemLines(d).filter((l) => l.startsWith('{')).map((l) => (JSON.parse(l) as { request_id?: string }).request_id);
  t.deepEqual(ids, ['slow-command', 'edge-503']);
});
