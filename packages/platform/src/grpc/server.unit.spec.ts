import test from 'ava';
import * as grpc from '@grpc/grpc-js';
import { Registry } from 'prom-client';
import { prom } from '../metrics.js';
import { createLogger } from '../log.js';
import { wrapUnary } from './server.js';

function harness(handler: () => Promise<unknown>) {
  const histogram = new prom.Histogram({ name: 'h', help: 'h', labelNames: ['grpc_service', 'grpc_method', 'grpc_code'] as const, registers: [new Registry()] });
  const wrapped = wrapUnary('test.v1.Test', 'run', handler, createLogger('server-unit-spec', 'silent'), histogram);
  return (deadline: grpc.Deadline) =>
    new Promise<{ err: Partial<grpc.StatusObject> | null; res: unknown }>((resolve) => {
      const call = { request: {}, metadata: new grpc.Metadata(), getDeadline: () => deadline } as unknown as grpc.ServerUnaryCall<unknown, unknown>;
      wrapped(call, ((err: Partial<grpc.StatusObject> | null, res: unknown) => resolve({ err, res })) as grpc.sendUnaryData<unknown>);
    });
}

test('a call whose deadline has passed before it starts is answered DEADLINE_EXCEEDED, and never run', async (t) => {
  let runs = 0;
  const call = harness(async () => {
    runs++;
    return { ok: true };
  });
  const late = await call(Date.now() - 1);
  t.is(late.err?.code, grpc.status.DEADLINE_EXCEEDED);
  t.is(runs, 0);
  const onTime = await call(Date.now() + 5_000);
  t.is(onTime.err, null);
  t.deepEqual(onTime.res, { ok: true });
  const noDeadline = await call(Infinity);
  t.is(noDeadline.err, null);
  t.is(runs, 2);
});
