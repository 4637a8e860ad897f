/** NATS server built from source with go install (Debian's package is years old). */
import path from 'node:path';
import { versions } from '../versions.js';
import { stackPaths } from '../paths.js';
import { capture } from '../run.js';
import { goInstall } from './go-install.js';
import { installer, type InstallOutcome } from './installer.js';

export function natsBinary(): string {
  return path.join(stackPaths.bin, 'nats-server');
}

export const installNats = installer('nats', async (progress): Promise<InstallOutcome> => {
  const current = await capture(natsBinary(), ['--version']);
  if (current?.code === 0 && current.stdout.trim().endsWith(versions.natsServer)) return 'cached';
  progress(`building nats-server ${versions.natsServer} with go install (first time ~2-4 min)…`);
  await goInstall('nats', 'github.com/nats-io/nats-server/v2', versions.natsServer);
  return 'installed';
});
