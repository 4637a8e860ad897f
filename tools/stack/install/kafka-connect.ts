/**
 * Kafka Connect with Debezium's Postgres connector, for the Debezium outbox relay
 * (RELAY=debezium): Maven copies Connect's and Debezium's runtime jars from Maven Central
 * into stackDir/kafka-connect/libs (as install/kafka.ts does for the broker), then javac
 * builds the one transform of our own (tools/stack/debezium/src, see OutboxEnvelope.java)
 * into libs/shop-connect.jar. Everything sits on one classpath: Connect finds the connector
 * and the transforms there, no plugin.path needed.
 *
 * Idempotent: the jars are fetched again only when a pin of versions.ts changes, the
 * transform is compiled again only when its source changes.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { versions } from '../versions.js';
import { stackPaths, ensureDir } from '../paths.js';
import { runLogged } from '../run.js';
import { StackError } from '../log.js';
import { installer, type InstallOutcome } from './installer.js';
import { mavenCopyDependencies } from './maven.js';

const debeziumDir = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'debezium');
const committedPom = path.join(debeziumDir, 'pom.xml');
const transformSources = ['shop/connect/OutboxEnvelope.java'].map((f) => path.join(debeziumDir, 'src', f));

const root = path.join(stackPaths.root, 'kafka-connect');
export const kafkaConnectPaths = {
  root,
  libs: path.join(root, 'libs'),
  /** Java expands the trailing '*' itself (no shell involved). */
  classpath: path.join(root, 'libs', '*'),
  transformJar: path.join(root, 'libs', 'shop-connect.jar'),
};

const installLog = () => stackPaths.installLog('kafka-connect');
const jarsMarker = () => path.join(kafkaConnectPaths.libs, '.shop-stack-versions');
const transformMarker = () => path.join(root, '.shop-connect-source');
const wantedJars = `connect-runtime:${versions.kafkaConnect} debezium-connector-postgres:${versions.debezium} slf4j-reload4j:${versions.slf4jReload4j}\n`;
const javaHint = 'Check that a JDK 17+ with javac is installed (apt-get install -y openjdk-17-jdk-headless).';

export const installKafkaConnect = installer('kafka-connect', async (progress): Promise<InstallOutcome> => {
  let outcome: InstallOutcome = 'cached';
  if (!jarsCurrent()) {
    progress(`resolving Kafka Connect ${versions.kafkaConnect} and Debezium ${versions.debezium} with Maven (first time ~30s)…`);
    await copyJars();
    outcome = 'installed';
  }
  const source = transformSourceHash();
  if (!existsSync(kafkaConnectPaths.transformJar) || !existsSync(transformMarker()) || readFileSync(transformMarker(), 'utf8') !== source) {
    progress('compiling the outbox envelope transform…');
    await buildTransform();
    writeFileSync(transformMarker(), source);
    outcome = 'installed';
  }
  return outcome;
});

function jarsCurrent(): boolean {
  if (!existsSync(jarsMarker()) || readFileSync(jarsMarker(), 'utf8') !== wantedJars) return false;
  const jars = readdirSync(kafkaConnectPaths.libs);
  return jars.includes(`connect-runtime-${versions.kafkaConnect}.jar`) && jars.includes(`debezium-connector-postgres-${versions.debezium}.jar`);
}

async function copyJars(): Promise<void> {
  // Jars of another version left in libs would end up on the same classpath.
  rmSync(kafkaConnectPaths.libs, { recursive: true, force: true });
  rmSync(transformMarker(), { force: true });
  await mavenCopyDependencies({
    what: 'kafka-connect',
    pom: committedPom,
    workDir: root,
    outputDirectory: kafkaConnectPaths.libs,
    properties: { 'connect.version': versions.kafkaConnect, 'debezium.version': versions.debezium, 'slf4j.reload4j.version': versions.slf4jReload4j },
    logFile: installLog(),
  });
  writeFileSync(jarsMarker(), wantedJars);
}

function transformSourceHash(): string {
  const hash = createHash('sha256');
  for (const file of transformSources) hash.update(readFileSync(file));
  return `${hash.digest('hex')} against ${wantedJars}`;
}

async function buildTransform(): Promise<void> {
  const classes = path.join(root, 'classes');
  rmSync(classes, { recursive: true, force: true });
  await runLogged('javac', ['--release', '17', '-nowarn', '-cp', kafkaConnectPaths.classpath, '-d', ensureDir(classes), ...transformSources], {
    logFile: installLog(),
    what: 'kafka-connect: javac OutboxEnvelope',
    hint: javaHint,
  });
  await runLogged('jar', ['cf', kafkaConnectPaths.transformJar, '-C', classes, '.'], {
    logFile: installLog(),
    what: 'kafka-connect: jar shop-connect.jar',
    hint: javaHint,
  });
}

// Run as a script (tools/bin/test installs it before the suite, as it does Chromium): the same
// one-line errors as the stack CLI.
if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  await installKafkaConnect().catch((err: unknown) => {
    console.error(err instanceof StackError ? `[stack] error: ${err.message}` : err);
    process.exit(1);
  });
}
