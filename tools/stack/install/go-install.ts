/** `go install MODULE/PATH@VERSION` into stackDir/bin (Go's own module and build caches make reinstalls fast). */
import { stackPaths, ensureDir } from '../paths.js';
import { runLogged, capture } from '../run.js';

export async function goInstall(name: string, pkg: string, version: string): Promise<void> {
  await runLogged('go', ['install', `${pkg}@${version}`], {
    logFile: stackPaths.installLog(name),
    what: `${name}: go install ${pkg}@${version}`,
    hint: 'Check that Go is installed and the module proxy is reachable (go env GOPROXY).',
    // Static binaries: no C toolchain needed, and they keep working if libc changes.
    env: { GOBIN: ensureDir(stackPaths.bin), CGO_ENABLED: '0' },
  });
}

/** The module version a Go binary was built from (`go version -m`), or undefined. */
export async function goBinaryModuleVersion(binary: string, modulePath: string): Promise<string | undefined> {
  const out = await capture('go', ['version', '-m', binary]);
  if (!out || out.code !== 0) return undefined;
  for (const line of out.stdout.split('\n')) {
    const [kind, mod, version] = line.trim().split(/\s+/);
    if (kind === 'mod' && mod === modulePath) return version;
  }
  return undefined;
}
