/** grpcurl, for poking at the gRPC services by hand and in smoke tests. */
import path from 'node:path';
import { versions } from '../versions.js';
import { stackPaths } from '../paths.js';
import { goInstall, goBinaryModuleVersion } from './go-install.js';
import { installer, type InstallOutcome } from './installer.js';

const modulePath = 'github.com/fullstorydev/grpcurl';

export function grpcurlBinary(): string {
  return path.join(stackPaths.bin, 'grpcurl');
}

export const installGrpcurl = installer('grpcurl', async (progress): Promise<InstallOutcome> => {
  // grpcurl built by go install reports no version of its own; the module version is in the binary.
  if ((await goBinaryModuleVersion(grpcurlBinary(), modulePath)) === versions.grpcurl) return 'cached';
  progress(`building grpcurl ${versions.grpcurl} with go install (first time ~1-2 min)…`);
  await goInstall('grpcurl', `${modulePath}/cmd/grpcurl`, versions.grpcurl);
  return 'installed';
});
