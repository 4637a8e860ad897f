/**
 * FerretDB as a supervised process: the MongoDB wire protocol for the MongoDB event store
 * adapter, with the SQLite backend (one file per database under .stack/data/ferretdb).
 */
import path from 'node:path';
import { infraPorts } from '../topology.js';
import { stackPaths, ensureDir } from '../paths.js';
import { ferretdbBinary } from '../install/ferretdb.js';
import { tcpReady } from '../probes.js';
import type { ProcessSpec } from '../supervisor.js';

export function ferretdbSpec(): ProcessSpec {
  const dataDir = path.join(stackPaths.data, 'ferretdb');
  return {
    name: 'ferretdb',
    command: ferretdbBinary(),
    args: [
      '--handler=sqlite',
      // A directory URL: the trailing slash is required.
      `--sqlite-url=file:${dataDir}/`,
      `--listen-addr=127.0.0.1:${infraPorts.ferretdb}`,
      // Its debug handler (metrics, pprof) would take a fixed port of its own: off.
      '--debug-addr=-',
      '--telemetry=disable',
      `--state-dir=${dataDir}`,
      '--log-level=warn',
    ],
    ports: [infraPorts.ferretdb],
    prepare: async () => {
      ensureDir(dataDir);
    },
    ready: () => tcpReady(infraPorts.ferretdb),
    readyTimeoutMs: 20_000,
    readyIntervalMs: 200,
  };
}
