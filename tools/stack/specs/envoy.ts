/**
 * A supervised Envoy for a given config file (the config itself is generated elsewhere).
 * Install it first with installEnvoy().
 */
import { infraPorts } from '../topology.js';
import { envoyBinary } from '../install/envoy.js';
import { httpReady } from '../probes.js';
import type { ProcessSpec } from '../supervisor.js';

export interface EnvoySpecOptions {
  configPath: string;
  /** Process name for pid file and log; default "envoy". */
  name?: string;
  /** Ports the config listens on (checked free before start); default the edge and admin ports. */
  ports?: number[];
  /** Admin port from the config; readiness is GET /ready on it. Default infraPorts.envoyAdmin. */
  adminPort?: number;
  logLevel?: 'trace' | 'debug' | 'info' | 'warn' | 'error';
  extraArgs?: string[];
  readyTimeoutMs?: number;
}

export function envoySpec(o: EnvoySpecOptions): ProcessSpec {
  const adminPort = o.adminPort ?? infraPorts.envoyAdmin;
  return {
    name: o.name ?? 'envoy',
    command: envoyBinary(),
    args: [
      '-c', o.configPath,
      '--log-level', o.logLevel ?? 'info',
      // Hot restart needs a shared-memory region per base id; two stacks on one machine would collide.
      '--disable-hot-restart',
      ...(o.extraArgs ?? []),
    ],
    ports: o.ports ?? [infraPorts.envoyEdge, adminPort],
    // /ready answers 200 "LIVE" once listeners are up and initial cluster discovery is done.
    ready: () => httpReady(`http://127.0.0.1:${adminPort}/ready`, 'LIVE'),
    readyTimeoutMs: o.readyTimeoutMs ?? 20_000,
    readyIntervalMs: 200,
  };
}
