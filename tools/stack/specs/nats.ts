/** NATS with JetStream as a supervised process. */
import path from 'node:path';
import { infraPorts } from '../topology.js';
import { stackPaths } from '../paths.js';
import { natsBinary } from '../install/nats.js';
import { httpReady } from '../probes.js';
import type { ProcessSpec } from '../supervisor.js';

export function natsSpec(): ProcessSpec {
  return {
    name: 'nats',
    command: natsBinary(),
    args: ['-a', '127.0.0.1', '-p', String(infraPorts.nats), '-m', String(infraPorts.natsMonitor), '-js', '-sd', path.join(stackPaths.data, 'nats')],
    ports: [infraPorts.nats, infraPorts.natsMonitor],
    // /healthz also waits for JetStream to be up, not just the listener.
    ready: () => httpReady(`http://127.0.0.1:${infraPorts.natsMonitor}/healthz`, 'ok'),
    readyTimeoutMs: 20_000,
    readyIntervalMs: 200,
  };
}
