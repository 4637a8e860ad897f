/**
 * FerretDB (the MongoDB wire protocol over SQLite), for the MongoDB event store adapter.
 * `go install` of it fails here (the module proxy refuses its version list), so it is built
 * from its module source (DESIGN.md, "Infrastructure notes"): `go mod download` the exact
 * version, copy the read-only module directory into stackDir/build, write the version
 * file its build embeds (build/version/version.txt, normally written by its Taskfile from
 * git), and `go build ./cmd/ferretdb` into stackDir/bin. Go's module and build caches
 * make a rebuild fast.
 */
import { cp, rm, writeFile, chmod } from 'node:fs/promises';
import path from 'node:path';
import { versions } from '../versions.js';
import { stackPaths, ensureDir } from '../paths.js';
import { StackError } from '../log.js';
import { capture, runLogged } from '../run.js';
import { installer, type InstallOutcome } from './installer.js';

const modulePath = 'github.com/FerretDB/FerretDB';

export function ferretdbBinary(): string {
  return path.join(stackPaths.bin, 'ferretdb');
}

/** The version the installed binary reports (`version: v1.24.0` on its first line), or undefined. */
async function installedVersion(): Promise<string | undefined> {
  const out = await capture(ferretdbBinary(), ['--version']);
  if (out?.code !== 0) return undefined;
  return /^version:\s*(\S+)/m.exec(out.stdout)?.[1];
}

export const installFerretdb = installer('ferretdb', async (progress): Promise<InstallOutcome> => {
  if ((await installedVersion()) === versions.ferretdb) return 'cached';
  const log = stackPaths.installLog('ferretdb');
  const hint = 'Check that Go is installed and the module proxy is reachable (go env GOPROXY).';
  progress(`downloading the FerretDB ${versions.ferretdb} module source…`);
  const download = await capture('go', ['mod', 'download', '-json', `${modulePath}@${versions.ferretdb}`]);
  if (!download) throw new StackError(`ferretdb: go could not run: Go is not installed or not on PATH. ${hint}`);
  let dir: string | undefined;
  try {
    dir = (JSON.parse(download.stdout) as { Dir?: string }).Dir;
  } catch {
    // Reported below with go's own words.
  }
  if (download.code !== 0 || !dir) {
    throw new StackError(`ferretdb: go mod download ${modulePath}@${versions.ferretdb} failed: "${(download.stderr || download.stdout).trim().split('\n').at(-1)}". ${hint}`);
  }
  const source = path.join(ensureDir(path.join(stackPaths.root, 'build')), `ferretdb-${versions.ferretdb}`);
  await rm(source, { recursive: true, force: true });
  // The module cache is read-only; the build writes its version file into the tree.
  await cp(dir, source, { recursive: true });
  await chmod(path.join(source, 'build', 'version'), 0o755);
  await writeFile(path.join(source, 'build', 'version', 'version.txt'), `${versions.ferretdb}\n`);
  progress(`building ferretdb ${versions.ferretdb} with go build (first time ~1-3 min)…`);
  await runLogged('go', ['build', '-o', path.join(ensureDir(stackPaths.bin), 'ferretdb'), './cmd/ferretdb'], {
    logFile: log,
    what: `ferretdb: go build ./cmd/ferretdb (in ${source})`,
    hint,
    cwd: source,
    // Static binary, as the other Go tools: no C toolchain needed (its SQLite is pure Go).
    env: { CGO_ENABLED: '0' },
  });
  await rm(source, { recursive: true, force: true });
  const built = await installedVersion();
  if (built !== versions.ferretdb) throw new StackError(`ferretdb: the built binary reports version ${built ?? '(none)'}, not ${versions.ferretdb}. Full log: ${log}`);
  return 'installed';
});
