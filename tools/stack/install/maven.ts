/**
 * Jars from Maven Central for the JVM parts of the stack (install/kafka.ts: the broker;
 * install/kafka-connect.ts: Connect and Debezium): Maven resolves a committed pom's runtime
 * dependencies and copies them into one directory, which becomes a classpath.
 */
import { copyFileSync } from 'node:fs';
import path from 'node:path';
import { versions } from '../versions.js';
import { ensureDir } from '../paths.js';
import { runLogged } from '../run.js';

export interface MavenCopyDependencies {
  /** Names the step in errors and the install log (e.g. 'kafka'). */
  what: string;
  /** The committed pom.xml whose runtime dependencies are wanted. */
  pom: string;
  /** Where Maven runs, on a copy of the pom: never in the source tree, where it would write a target/. */
  workDir: string;
  /** Where the jars go. */
  outputDirectory: string;
  /** -D properties the pom reads (the versions it pins, from versions.ts). */
  properties: Record<string, string>;
  logFile: string;
}

export async function mavenCopyDependencies(o: MavenCopyDependencies): Promise<void> {
  const pom = path.join(ensureDir(o.workDir), 'pom.xml');
  copyFileSync(o.pom, pom);
  await runLogged(
    'mvn',
    [
      // -C: a jar whose checksum differs from the repository's is an error (Maven 3 only warns).
      '-B', '-q', '-C', '-Dstyle.color=never', '-f', pom,
      // Full plugin coordinates: no plugin-prefix lookup, and the version is pinned.
      `org.apache.maven.plugins:maven-dependency-plugin:${versions.mavenDependencyPlugin}:copy-dependencies`,
      '-DincludeScope=runtime',
      `-DoutputDirectory=${o.outputDirectory}`,
      ...Object.entries(o.properties).map(([name, value]) => `-D${name}=${value}`),
    ],
    {
      logFile: o.logFile,
      what: `${o.what}: mvn maven-dependency-plugin:copy-dependencies`,
      hint: 'Check that Maven Central is reachable (proxies go in ~/.m2/settings.xml) and that mvn is installed (apt-get install -y maven).',
      cwd: o.workDir,
    },
  );
}
