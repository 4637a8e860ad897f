/**
 * Every file generated from the process catalog, rendered in memory: the Envoy configs,
 * k8s/base/<process>/, the per-process NetworkPolicies and their component, the process
 * list of k8s/base/kustomization.yaml and docker-compose.yml. `npm run generate:deploy`
 * writes them (tools/catalog/generate.ts); generated.unit.spec.ts fails when a committed
 * file differs.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { Document, isScalar, visit } from 'yaml';
import { deployEnvoyConfigs } from '../deploy/envoy-configs.js';
import { repoRoot } from '../stack/topology.js';
import { processes } from './catalog.js';
import { composeFile, composeHeader, renderComposeObject } from './compose.js';
import { deployment, kustomization, networkPolicy, networkPolicyKustomization, service } from './k8s.js';
import { generatedHeader, generatedMarker } from './marker.js';

export { generateCommand, generatedMarker } from './marker.js';

export interface GeneratedFile {
  /** Relative to the repository root. */
  file: string;
  text: string;
}

const comment = (text: string) =>
  text
    .split('\n')
    .map((l) => (l ? `# ${l}` : '#'))
    .join('\n') + '\n';
/** Words into lines of at most 88 characters. */
function wrap(text: string, width = 88): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/).filter(Boolean)) {
    if (line && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  return [...lines, line];
}

/**
 * No anchors (every object is written out where it is used), no folded lines, and lists of
 * short plain values on one line (`cap_drop: [ ALL ]`), as a person would write them. A key
 * `'#name'` in a rendered object is the comment written above the key `name` (generators
 * keep the reason beside the value, and the file a user copies keeps it too).
 */
function yaml(value: unknown): string {
  const doc = new Document(value, { aliasDuplicateObjects: false });
  visit(doc, {
    Map(_, node) {
      for (let i = node.items.length - 1; i >= 0; i--) {
        const key = node.items[i]!.key;
        const name = isScalar(key) && typeof key.value === 'string' && key.value.startsWith('#') ? key.value.slice(1) : undefined;
        if (name === undefined) continue;
        const target = node.items.find((p) => isScalar(p.key) && p.key.value === name);
        if (!target || !isScalar(target.key)) throw new Error(`comment #${name} has no key ${name} beside it`);
        const text = String((node.items[i]!.value as { value?: unknown } | null)?.value ?? '');
        target.key.commentBefore = wrap(text).map((l) => ` ${l}`).join('\n');
        node.items.splice(i, 1);
      }
    },
    Seq(_, node) {
      if (node.items.every((i) => isScalar(i)) && JSON.stringify(node.toJSON()).length <= 80) node.flow = true;
    },
  });
  return doc.toString({ lineWidth: 0 });
}

const baseKustomization = 'k8s/base/kustomization.yaml';
const listStart = '  # One folder per process (generated from tools/catalog: npm run generate:deploy).';

/**
 * k8s/base/kustomization.yaml stays hand-written (infrastructure, secrets); only its list of
 * process folders, from the marked line to the next blank line, is the catalog's.
 */
function renderBaseKustomization(current: string): string {
  const lines = current.split('\n');
  const start = lines.findIndex((l) => l.startsWith('  # One folder per process'));
  if (start < 0) throw new Error(`${baseKustomization}: no line "${listStart}" to put the process list after`);
  let end = start + 1;
  while (end < lines.length && lines[end]!.trim() !== '') end++;
  return [...lines.slice(0, start), listStart, ...processes().map((p) => `  - ${p.name}`), ...lines.slice(end)].join('\n');
}

export function generatedFiles(): GeneratedFile[] {
  const files: GeneratedFile[] = [];
  for (const p of processes()) {
    const dir = `k8s/base/${p.name}`;
    const what = `${p.name} (${p.entry}): ${p.summary}.`;
    files.push({ file: `${dir}/deployment.yaml`, text: generatedHeader(what) + yaml(deployment(p)) });
    const svc = service(p);
    if (svc) files.push({ file: `${dir}/service.yaml`, text: generatedHeader(what) + yaml(svc) });
    files.push({ file: `${dir}/kustomization.yaml`, text: generatedHeader(what) + yaml(kustomization(p)) });
    files.push({ file: `k8s/components/network-policies/${p.name}.yaml`, text: generatedHeader(`What ${p.name} connects to (its catalog entry's database, uses and calls).`) + yaml(networkPolicy(p)) });
  }
  const np = networkPolicyKustomization();
  files.push({ file: 'k8s/components/network-policies/kustomization.yaml', text: generatedHeader('The network-policies component.') + comment(np.comment) + yaml(np.value) });
  for (const e of deployEnvoyConfigs()) files.push(e);
  files.push({ file: composeFile, text: generatedHeader('docker-compose.yml.') + composeHeader + yaml(renderComposeObject()) });
  files.push({ file: baseKustomization, text: renderBaseKustomization(readFileSync(path.join(repoRoot, baseKustomization), 'utf8')) });
  return files;
}

/**
 * Generated files of processes no longer in the catalog (a folder of k8s/base or a policy
 * whose first line is the marker): the generator removes them, the drift spec reports them.
 */
export function staleGeneratedFiles(current = generatedFiles()): string[] {
  const wanted = new Set(current.map((f) => f.file));
  const candidates = [
    ...readdirSync(path.join(repoRoot, 'k8s/base'), { withFileTypes: true })
      .filter((d) => d.isDirectory())
      .flatMap((d) => readdirSync(path.join(repoRoot, 'k8s/base', d.name)).map((f) => `k8s/base/${d.name}/${f}`)),
    ...readdirSync(path.join(repoRoot, 'k8s/components/network-policies')).map((f) => `k8s/components/network-policies/${f}`),
  ];
  return candidates.filter((f) => !wanted.has(f) && existsSync(path.join(repoRoot, f)) && isGenerated(f));
}

function isGenerated(file: string): boolean {
  const text = readFileSync(path.join(repoRoot, file), 'utf8');
  return text.startsWith(generatedMarker);
}
