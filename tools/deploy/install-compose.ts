/**
 * The Docker Compose v2 CLI plugin, built from its Go module, for `docker compose config`
 * where the docker client has no compose plugin (as on this project's machines: a
 * docker client without an engine). It goes into a docker config directory of its own,
 * used as `docker --config .stack/deploy-docker compose …`, so the user's ~/.docker is
 * never touched.
 *
 *   node --import tsx tools/deploy/install-compose.ts
 *
 * `go install module/cmd@version` refuses this module (its go.mod has exclude
 * directives), so the module is downloaded through the Go proxy and built in a copy of
 * its directory, with its own go.mod. The first build takes about 5 minutes on 2 cores;
 * later runs say "ok (cached)".
 */
import { cpSync, chmodSync, mkdirSync, rmSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { StackError } from '../stack/log.js';
import { installer } from '../stack/install/installer.js';
import { stackPaths } from '../stack/paths.js';
import { capture, runLogged } from '../stack/run.js';

export const composeVersion = 'v2.40.3';
const composeModule = 'github.com/docker/compose/v2';

/** Pass as `docker --config DIR`: holds cli-plugins/docker-compose and nothing else. */
export const composeDockerConfig = path.join(stackPaths.root, 'deploy-docker');
const pluginBinary = path.join(composeDockerConfig, 'cli-plugins', 'docker-compose');

export const installComposePlugin = installer('docker-compose', async (progress) => {
  const current = await capture(pluginBinary, ['version', '--short']);
  if (current?.code === 0 && current.stdout.trim() === composeVersion.replace(/^v/, '')) return 'cached';
  const log = { logFile: stackPaths.installLog('docker-compose') };
  const goVersion = await capture('go', ['version']);
  if (!goVersion) throw new StackError('docker-compose: building the compose plugin needs Go (https://go.dev/dl/), which is not on PATH.');

  progress(`go mod download ${composeModule}@${composeVersion}…`);
  const download = await capture('go', ['mod', 'download', '-json', `${composeModule}@${composeVersion}`]);
  const moduleDir = download?.code === 0 ? (JSON.parse(download.stdout) as { Dir?: string }).Dir : undefined;
  if (!moduleDir) {
    throw new StackError(`docker-compose: go mod download ${composeModule}@${composeVersion} failed: ${(download?.stdout || download?.stderr || '').trim().split('\n').pop()}. Check that the Go module proxy is reachable (go env GOPROXY).`);
  }

  // The module cache is read-only; the build needs the module as the main module.
  const buildDir = path.join(stackPaths.root, 'deploy-build', `compose-${composeVersion}`);
  rmSync(buildDir, { recursive: true, force: true });
  cpSync(moduleDir, buildDir, { recursive: true });
  makeWritable(buildDir);
  mkdirSync(path.dirname(pluginBinary), { recursive: true });
  progress(`go build (first time ~5 min on 2 cores)…`);
  await runLogged('go', ['build', '-trimpath', '-ldflags', `-s -w -X ${composeModule}/internal.Version=${composeVersion}`, '-o', pluginBinary, './cmd'], {
    ...log,
    cwd: buildDir,
    what: `docker-compose: go build ${composeModule}@${composeVersion}`,
    hint: 'Check that the Go module proxy is reachable (go env GOPROXY).',
  });
  rmSync(buildDir, { recursive: true, force: true });
  return 'installed';
});

function makeWritable(dir: string): void {
  chmodSync(dir, 0o755);
  for (const entry of readdirSync(dir)) {
    const p = path.join(dir, entry);
    if (statSync(p).isDirectory()) makeWritable(p);
    else chmodSync(p, 0o644);
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await installComposePlugin().then(
    () => console.log(`docker --config ${composeDockerConfig} compose version`),
    (err: unknown) => {
      console.error(err instanceof StackError ? `[deploy] error: ${err.message}` : err);
      process.exit(1);
    },
  );
}
