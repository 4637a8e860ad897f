/**
 * The Envoy configurations of the container deployments, rendered by the one generator
 * (envoy/src/config.ts) that the local stack uses too, so that listeners, routes,
 * retries and health checks are the same everywhere. The files are committed (kustomize
 * and compose read them from disk); tests/deploy fails when they drift from this.
 */
import path from 'node:path';
import { stringify } from 'yaml';
import { envoyBootstrap, renderEnvoyConfig, type EnvoyTopology } from '@shop/envoy';
import { repoRoot } from '../stack/topology.js';
import { generatedHeader } from '../catalog/marker.js';
import { composeEnvoyTopology, kubernetesEnvoyTopology, serviceCallers, sidecarEnvoyTopology } from './topology.js';

export interface RenderedFile {
  /** Relative to the repository root. */
  file: string;
  text: string;
}

type Bootstrap = { static_resources: { listeners: Array<{ name: string }>; clusters: Array<{ name: string }> } };

/**
 * The generator's bootstrap without the edge listener and the BFF clusters, for the
 * sidecar of a service that only calls others. (An option of the generator to leave the
 * edge out would make this step unnecessary.)
 */
function renderEgressOnly(t: EnvoyTopology): string {
  const bootstrap = envoyBootstrap(t) as Bootstrap;
  bootstrap.static_resources.listeners = bootstrap.static_resources.listeners.filter((l) => l.name !== 'edge');
  bootstrap.static_resources.clusters = bootstrap.static_resources.clusters.filter((c) => c.name !== 'bff' && c.name !== 'bff_sse');
  return `# Rendered by envoy/src/config.ts (envoyBootstrap, edge listener and BFF clusters left out).\n${stringify(bootstrap)}`;
}

export function deployEnvoyConfigs(): RenderedFile[] {
  return [
    {
      // Read by k8s/base/bff/kustomization.yaml (configMapGenerator bff-envoy).
      file: 'k8s/base/bff/envoy.yaml',
      text: generatedHeader('Envoy sidecar of the BFF pod: the edge and every gRPC service (tools/catalog/catalog.ts).') + renderEnvoyConfig(kubernetesEnvoyTopology()),
    },
    ...Object.keys(serviceCallers).map((caller) => ({
      // Read by k8s/base/<caller>/kustomization.yaml (configMapGenerator <caller>-envoy).
      file: `k8s/base/${caller}/envoy.yaml`,
      text: generatedHeader(`Envoy sidecar of the ${caller} pod: egress to ${serviceCallers[caller]!.join(', ')} (tools/catalog/catalog.ts).`) + renderEgressOnly(sidecarEnvoyTopology(caller)),
    })),
    {
      // Mounted by docker-compose.yml into the envoy service.
      file: 'tools/deploy/compose/envoy.yaml',
      text: generatedHeader('Envoy of docker-compose.yml: the edge and every gRPC service (tools/catalog/catalog.ts).') + renderEnvoyConfig(composeEnvoyTopology()),
    },
  ];
}

export const absolute = (f: RenderedFile) => path.join(repoRoot, f.file);
