/**
 * Kafka in KRaft mode from Maven Central jars (the Apache download site is not reachable
 * here): Maven copies Kafka's runtime classpath into stackDir/kafka/libs, then the storage
 * is formatted once.
 */
import { existsSync, readFileSync, writeFileSync, copyFileSync, rmSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { infraPorts } from '../topology.js';
import { versions } from '../versions.js';
import { StackError } from '../log.js';
import { stackPaths, ensureDir } from '../paths.js';
import { runLogged, capture, lastLine } from '../run.js';
import { renderServerProperties, renderLog4jProperties } from '../kafka-config.js';
import { installer, type InstallOutcome } from './installer.js';

const committedPom = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'kafka', 'pom.xml');

export const kafkaPaths = {
  libs: path.join(stackPaths.kafka, 'libs'),
  /** Java expands the trailing '*' itself (no shell involved). */
  classpath: path.join(stackPaths.kafka, 'libs', '*'),
  serverProperties: path.join(stackPaths.kafka, 'server.properties'),
  log4jProperties: path.join(stackPaths.kafka, 'log4j.properties'),
  dataDir: path.join(stackPaths.data, 'kafka'),
};

const installLog = () => stackPaths.installLog('kafka');
const marker = () => path.join(kafkaPaths.libs, '.shop-stack-versions');
const wantedMarker = `kafka_${versions.kafkaScala}:${versions.kafka} slf4j-reload4j:${versions.slf4jReload4j}\n`;
const javaHint = 'Check that a JDK 17+ is installed (apt-get install -y openjdk-17-jre-headless).';

export const installKafka = installer('kafka', async (progress): Promise<InstallOutcome> => {
  let outcome: InstallOutcome = 'cached';
  if (!jarsCurrent()) {
    progress('resolving jars with Maven (first time ~30s)…');
    await copyJars();
    outcome = 'installed';
  }
  writeKafkaConfig();
  if (!existsSync(path.join(kafkaPaths.dataDir, 'meta.properties'))) {
    progress('formatting KRaft storage…');
    await formatStorage();
    outcome = 'installed';
  }
  return outcome;
});

/** Writes server.properties and log4j.properties for the current ports. */
export function writeKafkaConfig(): void {
  ensureDir(stackPaths.kafka);
  writeFileSync(kafkaPaths.serverProperties, renderServerProperties({ brokerPort: infraPorts.kafka, controllerPort: infraPorts.kafkaController, logDir: kafkaPaths.dataDir }));
  writeFileSync(kafkaPaths.log4jProperties, renderLog4jProperties());
}

function jarsCurrent(): boolean {
  if (!existsSync(marker()) || readFileSync(marker(), 'utf8') !== wantedMarker) return false;
  return readdirSync(kafkaPaths.libs).some((f) => f.startsWith(`kafka_${versions.kafkaScala}-${versions.kafka}`));
}

async function copyJars(): Promise<void> {
  // Jars of another version left in libs would end up on the same classpath.
  rmSync(kafkaPaths.libs, { recursive: true, force: true });
  // Run Maven on a copy under stackDir so that it never writes a target/ into the source tree.
  const pom = path.join(ensureDir(stackPaths.kafka), 'pom.xml');
  copyFileSync(committedPom, pom);
  await runLogged(
    'mvn',
    [
      // Full plugin coordinates: no plugin-prefix lookup, and the version is pinned.
      '-B', '-q', '-Dstyle.color=never', '-f', pom,
      `org.apache.maven.plugins:maven-dependency-plugin:${versions.mavenDependencyPlugin}:copy-dependencies`,
      '-DincludeScope=runtime',
      `-DoutputDirectory=${kafkaPaths.libs}`,
      `-Dkafka.version=${versions.kafka}`,
      `-Dkafka.scala=${versions.kafkaScala}`,
      `-Dslf4j.reload4j.version=${versions.slf4jReload4j}`,
    ],
    { logFile: installLog(), what: 'kafka: mvn maven-dependency-plugin:copy-dependencies', hint: 'Check that Maven Central is reachable (proxies go in ~/.m2/settings.xml) and that mvn is installed (apt-get install -y maven).', cwd: stackPaths.kafka },
  );
  writeFileSync(marker(), wantedMarker);
}

async function formatStorage(): Promise<void> {
  const log4j = `-Dlog4j.configuration=file:${kafkaPaths.log4jProperties}`;
  const uuid = await capture('java', [log4j, '-cp', kafkaPaths.classpath, 'kafka.tools.StorageTool', 'random-uuid']);
  if (!uuid) throw new StackError(`kafka: java not found. ${javaHint}`);
  const clusterId = lastLine(uuid.stdout);
  if (uuid.code !== 0 || !/^[A-Za-z0-9_-]{22}$/.test(clusterId)) {
    throw new StackError(`kafka: StorageTool random-uuid failed (exit ${uuid.code}): "${lastLine(uuid.stderr || uuid.stdout)}". ${javaHint}`);
  }
  await runLogged('java', [log4j, '-cp', kafkaPaths.classpath, 'kafka.tools.StorageTool', 'format', '-t', clusterId, '-c', kafkaPaths.serverProperties], {
    logFile: installLog(),
    what: 'kafka: StorageTool format',
    hint: `If ${kafkaPaths.dataDir} holds a half-formatted log, run \`npm run stack -- reset\`.`,
  });
}
