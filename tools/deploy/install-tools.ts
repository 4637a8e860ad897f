/**
 * Installs what tests/deploy needs (the validators; the compose plugin when the docker
 * client has none), before the suite starts: `npm test` runs it with the stack installer,
 * so these CPU-heavy first-time builds never compete with the end-to-end tests for the
 * machine's cores. Idempotent ("ok (cached)" on later runs).
 *
 *   node --import tsx tools/deploy/install-tools.ts
 */
import { spawnSync } from 'node:child_process';
import { StackError } from '../stack/log.js';
import { installComposePlugin } from './install-compose.js';
import { installCrds } from './install-crds.js';
import { installValidators } from './install-validator.js';

const hasDocker = spawnSync('docker', ['--version']).status === 0;
const hasNativeCompose = hasDocker && spawnSync('docker', ['compose', 'version']).status === 0;

try {
  await installValidators();
  // The operators' CRDs for the production overlay's spec; one that cannot be had is
  // reported here and its checks are skipped there, naming the reason.
  for (const [name, message] of await installCrds()) console.warn(`[deploy] warning: ${name}: ${message}`);
  // Without a docker client the compose check is skipped; with its own plugin it needs none.
  if (hasDocker && !hasNativeCompose) await installComposePlugin();
} catch (err) {
  console.error(err instanceof StackError ? `[deploy] error: ${err.message}` : err);
  process.exit(1);
}
