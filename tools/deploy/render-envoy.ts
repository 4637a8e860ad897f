/**
 * Writes the Envoy configurations of docker-compose.yml and k8s/ from the generator.
 * Run after changing envoy/src/config.ts or tools/deploy/topology.ts:
 *
 *   node --import tsx tools/deploy/render-envoy.ts
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { absolute, deployEnvoyConfigs } from './envoy-configs.js';

for (const rendered of deployEnvoyConfigs()) {
  const target = absolute(rendered);
  const current = existsSync(target) ? readFileSync(target, 'utf8') : undefined;
  if (current === rendered.text) {
    console.log(`[deploy] ${rendered.file}: up to date`);
    continue;
  }
  mkdirSync(path.dirname(target), { recursive: true });
  writeFileSync(target, rendered.text);
  console.log(`[deploy] ${rendered.file}: ${current === undefined ? 'written' : 'updated'}`);
}
