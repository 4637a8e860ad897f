/**
 * The CustomResourceDefinitions of the operators k8s/overlays/production relies on, for
 * validating its custom resources offline (tests/deploy/production.int.spec.ts), cached
 * under .stack/deploy-crds/<group>/ (git-ignored):
 *
 *   - CloudNativePG (Cluster, Database): config/crd/bases of its Go module;
 *   - External Secrets (ExternalSecret): config/crds/bases of its Go module;
 *   - cert-manager (Certificate, ClusterIssuer): deploy/crds of its Go module;
 *   - Strimzi (Kafka, KafkaNodePool, KafkaTopic): no artifact ships its CRDs as YAML, so they
 *     are generated as Strimzi's own build does, by its CRD generator (io.strimzi:crd-generator,
 *     Maven Central) from its API model (io.strimzi:api), which needs Java 21 or newer.
 *
 *   node --import tsx tools/deploy/install-crds.ts
 *
 * Each group installs on its own, idempotently ("ok (cached)" once its pinned version is
 * there), with progress lines; a group that cannot be had fails with a message saying what
 * to do, and the spec skips, naming the reason, the checks that needed it.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { StackError } from '../stack/log.js';
import { installer } from '../stack/install/installer.js';
import { stackPaths } from '../stack/paths.js';
import { capture, runLogged } from '../stack/run.js';
import { versions } from '../stack/versions.js';

/** Pinned with every other version (tools/stack/versions.ts); k8s/overlays/production/README.md names them. */
const operatorVersions = versions.operators;

export const crdRoot = path.join(stackPaths.root, 'deploy-crds');

export interface CrdGroup {
  /** Directory name under crdRoot, and the installer's name. */
  name: string;
  /** The API groups whose custom resources these CRDs describe. */
  apiGroups: string[];
  version: string;
  install: () => Promise<void>;
}

const stampFile = (dir: string) => path.join(dir, '.version');
const isCached = (dir: string, version: string) => existsSync(stampFile(dir)) && readFileSync(stampFile(dir), 'utf8') === version;

/** CRD files from a Go module's source, through the module proxy (`go mod download`). */
function fromGoModule(name: string, apiGroups: string[], module: string, version: string, files: string[]): CrdGroup {
  const dir = path.join(crdRoot, name);
  return {
    name,
    apiGroups,
    version,
    install: installer(`crds-${name}`, async (progress) => {
      if (isCached(dir, version)) return 'cached';
      if (!(await capture('go', ['version']))) throw new StackError(`crds-${name}: fetching ${module} needs Go (https://go.dev/dl/), which is not on PATH.`);
      progress(`go mod download ${module}@${version}…`);
      const download = await capture('go', ['mod', 'download', '-json', `${module}@${version}`]);
      const parsed = download?.stdout ? (JSON.parse(download.stdout) as { Dir?: string; Error?: string }) : undefined;
      if (!parsed?.Dir) {
        throw new StackError(`crds-${name}: go mod download ${module}@${version} failed: ${(parsed?.Error ?? download?.stderr ?? '').trim()}. Check that the Go module proxy is reachable (go env GOPROXY).`);
      }
      rmSync(dir, { recursive: true, force: true });
      mkdirSync(dir, { recursive: true });
      for (const file of files) {
        const source = path.join(parsed.Dir, file);
        if (!existsSync(source)) throw new StackError(`crds-${name}: ${module}@${version} has no ${file}; the pinned version and the file list in tools/deploy/install-crds.ts disagree.`);
        copyFileSync(source, path.join(dir, path.basename(file)));
      }
      writeFileSync(stampFile(dir), version);
      return 'installed';
    }),
  };
}

/** The major version of a `java -version` banner ("17.0.15", "21.0.4", "25"). */
export function javaMajor(banner: string): number | undefined {
  const m = /version "(\d+)(?:\.(\d+))?/.exec(banner);
  if (!m) return undefined;
  return m[1] === '1' ? Number(m[2]) : Number(m[1]);
}

/** A java of at least `major`: JAVA_HOME's, the one on PATH, or one under /usr/lib/jvm. */
function findJava(major: number): string | undefined {
  const candidates = [
    ...(process.env.JAVA_HOME ? [path.join(process.env.JAVA_HOME, 'bin', 'java')] : []),
    'java',
    ...(existsSync('/usr/lib/jvm') ? readdirSync('/usr/lib/jvm').map((d) => path.join('/usr/lib/jvm', d, 'bin', 'java')) : []),
  ];
  for (const java of candidates) {
    const r = spawnSync(java, ['-version'], { encoding: 'utf8' });
    const found = r.status === 0 ? javaMajor(r.stderr) : undefined;
    if (found !== undefined && found >= major) return java;
  }
  return undefined;
}

/** Strimzi's CRDs, generated from its API model by its own generator (both from Maven Central). */
function strimzi(version: string): CrdGroup {
  const name = 'strimzi';
  const dir = path.join(crdRoot, name);
  const kinds = {
    'kafkas.yaml': 'io.strimzi.api.kafka.model.kafka.Kafka',
    'kafkanodepools.yaml': 'io.strimzi.api.kafka.model.nodepool.KafkaNodePool',
    'kafkatopics.yaml': 'io.strimzi.api.kafka.model.topic.KafkaTopic',
  };
  return {
    name,
    apiGroups: ['kafka.strimzi.io'],
    version,
    install: installer(`crds-${name}`, async (progress) => {
      if (isCached(dir, version)) return 'cached';
      // The generator's classes are compiled for Java 21.
      const java = findJava(21);
      if (!java) throw new StackError(`crds-${name}: Strimzi's CRD generator ${version} needs Java 21 or newer (java on PATH is older, none under JAVA_HOME or /usr/lib/jvm). Install one (e.g. apt-get install openjdk-21-jre-headless, or a Temurin 21+ JDK) or set JAVA_HOME to it.`);
      const log = { logFile: stackPaths.installLog(`crds-${name}`) };
      const jars = path.join(stackPaths.root, 'deploy-build', `strimzi-${version}`);
      rmSync(jars, { recursive: true, force: true });
      mkdirSync(jars, { recursive: true });
      for (const artifact of ['api', 'crd-generator']) {
        progress(`mvn dependency:copy io.strimzi:${artifact}:${version}…`);
        await runLogged('mvn', ['-B', '-q', 'dependency:copy', `-Dartifact=io.strimzi:${artifact}:${version}`, `-DoutputDirectory=${jars}`, '-Dtransitive=false'], {
          ...log,
          what: `crds-${name}: mvn dependency:copy io.strimzi:${artifact}:${version}`,
          hint: 'Maven and Maven Central must be reachable (mvn -v; ~/.m2/settings.xml for mirrors and proxies).',
        });
      }
      rmSync(dir, { recursive: true, force: true });
      mkdirSync(dir, { recursive: true });
      progress(`generating ${Object.keys(kinds).join(', ')} with ${java}…`);
      const classpath = [`crd-generator-${version}.jar`, `api-${version}.jar`].map((j) => path.join(jars, j)).join(path.delimiter);
      await runLogged(java, ['-cp', classpath, 'io.strimzi.crdgenerator.CrdGenerator', '--yaml', '--crd-api-version', 'v1', ...Object.entries(kinds).map(([file, cls]) => `${cls}=${path.join(dir, file)}`)], {
        ...log,
        what: `crds-${name}: io.strimzi.crdgenerator.CrdGenerator`,
        hint: `The generator's command line may have changed with ${version}: see the log.`,
      });
      for (const file of Object.keys(kinds)) {
        if (!existsSync(path.join(dir, file))) throw new StackError(`crds-${name}: the generator wrote no ${file}. Full log: ${log.logFile}`);
      }
      rmSync(jars, { recursive: true, force: true });
      writeFileSync(stampFile(dir), version);
      return 'installed';
    }),
  };
}

export const crdGroups: CrdGroup[] = [
  fromGoModule('cloudnative-pg', ['postgresql.cnpg.io'], 'github.com/cloudnative-pg/cloudnative-pg', operatorVersions.cloudnativePg, [
    'config/crd/bases/postgresql.cnpg.io_clusters.yaml',
    'config/crd/bases/postgresql.cnpg.io_databases.yaml',
  ]),
  fromGoModule('external-secrets', ['external-secrets.io'], 'github.com/external-secrets/external-secrets', operatorVersions.externalSecrets, [
    'config/crds/bases/external-secrets.io_externalsecrets.yaml',
    'config/crds/bases/external-secrets.io_clustersecretstores.yaml',
  ]),
  fromGoModule('cert-manager', ['cert-manager.io'], 'github.com/cert-manager/cert-manager', operatorVersions.certManager, [
    'deploy/crds/cert-manager.io_certificates.yaml',
    'deploy/crds/cert-manager.io_clusterissuers.yaml',
  ]),
  strimzi(operatorVersions.strimzi),
];

/** The CRD files of an installed group. */
export function crdFiles(group: CrdGroup): string[] {
  const dir = path.join(crdRoot, group.name);
  return readdirSync(dir)
    .filter((f) => f.endsWith('.yaml'))
    .map((f) => path.join(dir, f));
}

/** Installs every group; what failed is returned by name with its message, never thrown. */
export async function installCrds(): Promise<Map<string, string>> {
  const failed = new Map<string, string>();
  for (const group of crdGroups) {
    await group.install().catch((err: unknown) => failed.set(group.name, err instanceof Error ? err.message : String(err)));
  }
  return failed;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const failed = await installCrds();
  for (const [name, message] of failed) console.error(`[deploy] error: ${name}: ${message}`);
  if (failed.size > 0) process.exit(1);
  console.log(crdRoot);
}
