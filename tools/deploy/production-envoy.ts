/**
 * The BFF pod's Envoy configuration for k8s/overlays/production: the base's (the same
 * generator, envoy/src/config.ts, and the same topology), except that the edge trusts one
 * X-Forwarded-For hop, the entry ingress-nginx appends, since in production every request
 * comes from an ingress-nginx pod (k8s/overlays/production/README.md, "Client addresses").
 * The file is committed (kustomize reads it from disk); tests/deploy/production.int.spec.ts
 * fails when it drifts from this render.
 *
 *   node --import tsx tools/deploy/production-envoy.ts    # writes the file
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { renderEnvoyConfig } from '@shop/envoy';
import { repoRoot } from '../stack/topology.js';
import { kubernetesEnvoyTopology } from './topology.js';

export const productionBffEnvoyFile = 'k8s/overlays/production/bff-envoy.yaml';
export const productionBffEnvoyCommand = 'node --import tsx tools/deploy/production-envoy.ts';

/** Proxies in front of the edge in production: ingress-nginx alone (the network policy lets only its namespace reach 8080). */
export const productionTrustedForwardHops = 1;

export function renderProductionBffEnvoy(): string {
  const header = [
    '# Rendered by tools/deploy/production-envoy.ts (envoy/src/config.ts) — do not edit by hand.',
    "# The base's BFF Envoy (k8s/base/bff/envoy.yaml) with one trusted X-Forwarded-For hop: ingress-nginx's.",
    `# Regenerate with: ${productionBffEnvoyCommand}`,
  ].join('\n');
  return `${header}\n${renderEnvoyConfig({ ...kubernetesEnvoyTopology(), trustedForwardHops: productionTrustedForwardHops })}`;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  writeFileSync(path.join(repoRoot, productionBffEnvoyFile), renderProductionBffEnvoy());
  console.log(productionBffEnvoyFile);
}
