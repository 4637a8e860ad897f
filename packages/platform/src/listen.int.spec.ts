import { connect } from 'node:net';
import { networkInterfaces } from 'node:os';
import test from 'ava';
import { Registry } from 'prom-client';
import { createLogger } from './log.js';
import { startGrpcServer } from './grpc/server.js';
import { startOpsServer } from './ops-server.js';
import { loadDescriptorSet } from '@shop/contracts/descriptors';
import { freePort } from '@shop/testing';

/**
 * Nothing listens beyond loopback unless told to (LISTEN_HOST): the local stack's direct
 * gRPC ports and metrics ports are not reachable from the network.
 */
const reachable = (host: string, port: number) =>
  new Promise<boolean>((resolve) => {
    const socket = connect({ host, port, timeout: 5_000 });
    socket.once('connect', () => (socket.destroy(), resolve(true)));
    socket.once('error', () => resolve(false));
    socket.once('timeout', () => (socket.destroy(), resolve(false)));
  });

const externalAddress = Object.values(networkInterfaces()).flat().find((i) => i && !i.internal && i.family === 'IPv4')?.address;

test('the gRPC and ops servers listen on loopback by default, and on every interface when asked', async (t) => {
  if (!externalAddress) return t.fail('this machine has no non-loopback IPv4 address to try the servers from');
  const log = createLogger('listen-spec', 'silent');
  const grpcPort = await freePort();
  const opsPort = await freePort();
  const grpcServer = await startGrpcServer({ port: grpcPort, services: [], descriptorSet: loadDescriptorSet(), log, registry: new Registry() });
  const ops = await startOpsServer({ port: opsPort, registry: new Registry(), log });
  t.teardown(async () => {
    await grpcServer.shutdown();
    await ops.close();
  });
  t.true(await reachable('127.0.0.1', grpcPort));
  t.true(await reachable('127.0.0.1', opsPort));
  t.false(await reachable(externalAddress, grpcPort), `gRPC reachable on ${externalAddress}`);
  t.false(await reachable(externalAddress, opsPort), `metrics reachable on ${externalAddress}`);

  const everywhere = await startGrpcServer({ port: await freePort(), host: '0.0.0.0', services: [], descriptorSet: loadDescriptorSet(), log, registry: new Registry() });
  t.teardown(() => everywhere.shutdown());
  t.true(await reachable(externalAddress, everywhere.port));
});
