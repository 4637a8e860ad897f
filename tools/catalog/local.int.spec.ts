/**
 * The local supervisor's processes (tools/stack/apps.ts) are the catalog's: every entry in
 * its order, Envoy just before the BFF, started in waves, on the ports of tools/stack/topology.ts, and every
 * call through the local Envoy's listener for the callee. Read from localProcessSpecs, which
 * prepares nothing (appSpecs also sets the database roles' passwords and retires a Debezium
 * relay): this spec changes nothing on the running stack.
 */
import test from 'ava';
import { localEnvoyTopology, localProcessSpecs, startWave } from '../stack/apps.js';
import { bffPort, grpcServices, workers } from '../stack/topology.js';
import { addressVariable, processes } from './catalog.js';

const specs = localProcessSpecs();

test('the local stack starts every catalog process in catalog order, Envoy just before the BFF; the services at once, then Envoy, then the BFF', (t) => {
  const names = specs.map((s) => s.name);
  const expected = processes().flatMap((p) => (p.kind === 'bff' ? ['envoy', p.name] : [p.name]));
  t.deepEqual(names, expected);
  const waveOf = (name: string) => specs.find((s) => s.name === name)!.wave;
  for (const p of processes()) {
    if (p.kind !== 'bff') t.is(waveOf(p.name), startWave.services, `${p.name} starts with the services`);
  }
  t.true(waveOf('envoy')! > startWave.services, 'Envoy after the services');
  t.true(waveOf('bff')! > waveOf('envoy')!, 'the BFF after Envoy');
});

test("each local process listens on topology.ts's ports and calls its callees through the local Envoy", (t) => {
  const envoy = localEnvoyTopology();
  for (const p of processes()) {
    const spec = specs.find((s) => s.name === p.name)!;
    const env = spec.env ?? {};
    const grpc = grpcServices.find((s) => s.name === p.name);
    if (grpc) {
      t.is(env.GRPC_PORT, String(grpc.grpcPort), `${p.name}: GRPC_PORT`);
      t.is(env.HTTP_PORT, String(grpc.httpPort), `${p.name}: HTTP_PORT`);
    } else if (p.kind === 'worker') t.is(env.HTTP_PORT, String(workers[p.name as keyof typeof workers].httpPort), `${p.name}: HTTP_PORT`);
    else t.is(env.PORT, String(bffPort), `${p.name}: PORT`);
    t.deepEqual(spec.ports, [env.GRPC_PORT ?? env.PORT, env.HTTP_PORT].filter(Boolean).map(Number), `${p.name}: the ports checked free before start`);
    for (const callee of p.calls ?? []) {
      const route = envoy.grpc.find((r) => r.name === callee)!;
      t.is(env[addressVariable(callee)], `127.0.0.1:${route.listenPort}`, `${p.name} calls ${callee} through the local Envoy`);
    }
  }
});
