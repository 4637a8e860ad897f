/**
 * The files generated from the process catalog are committed (kustomize and compose read
 * them from disk): each must be exactly what the catalog renders now, and the catalog must
 * agree with what stays hand-written around it.
 */
import test from 'ava';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { defaults, infrastructure, processes } from './catalog.js';
import { repoRoot } from '../stack/topology.js';
import { generateCommand, generatedFiles, staleGeneratedFiles } from './generated.js';

const read = (file: string) => {
  const full = path.join(repoRoot, file);
  return existsSync(full) ? readFileSync(full, 'utf8') : undefined;
};

test('every committed generated file is what the catalog renders', (t) => {
  const files = generatedFiles();
  t.true(files.length > 40);
  const drifted = files.filter((f) => read(f.file) !== f.text).map((f) => f.file);
  t.deepEqual(drifted, [], `differs from tools/catalog: run ${generateCommand} (and commit the result)`);
  t.deepEqual(staleGeneratedFiles(files), [], `generated for a process no longer in the catalog: run ${generateCommand}`);
});

test('every entry is a file, and every callee a gRPC service of the catalog', (t) => {
  const grpc = new Set(processes().filter((p) => p.kind === 'grpc-service').map((p) => p.name));
  for (const p of processes()) {
    t.true(existsSync(path.join(repoRoot, p.entry)), `${p.name}: entry ${p.entry}`);
    for (const callee of p.calls ?? []) t.true(grpc.has(callee), `${p.name} calls ${callee}, which is no gRPC service of the catalog`);
    t.is(p.kind === 'grpc-service', p.localPorts.grpc !== undefined && p.localPorts.envoy !== undefined, `${p.name}: a gRPC service has a gRPC port and an Envoy listener, nothing else does`);
  }
  const ports = processes().flatMap((p) => Object.values(p.localPorts));
  t.is(new Set(ports).size, ports.length, 'no local port is taken twice');
});

test("Postgres creates every catalog database's role, and every pool fits in its max_connections", (t) => {
  const initSql = read('k8s/base/postgres/init-databases.sql')!;
  const databases = new Set(processes().flatMap((p) => (p.database ? [p.database] : [])));
  for (const d of databases) t.regex(initSql, new RegExp(`\\\\getenv ${d}_password ${d.toUpperCase()}_DB_PASSWORD`), `init-databases.sql creates shop_${d}`);
  // k8s/base/postgres stays hand-written: it must say what the catalog (and compose) say.
  const statefulSet = read('k8s/base/postgres/statefulset.yaml')!;
  t.is(Number(/max_connections=(\d+)/.exec(statefulSet)?.[1]), infrastructure.postgres.maxConnections, 'k8s/base/postgres max_connections');
  const pools = processes()
    .filter((p) => p.database)
    .reduce((sum, p) => sum + (p.replicas ?? defaults.replicas) * defaults.databasePoolMax, 0);
  // Room for one replica of each during a rolling update, and for an operator's psql.
  t.true(2 * pools + 10 <= infrastructure.postgres.maxConnections, `${pools} pooled connections (twice during a rollout) exceed max_connections ${infrastructure.postgres.maxConnections}`);
});
