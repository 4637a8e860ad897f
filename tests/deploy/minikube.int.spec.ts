/**
 * `npm run minikube` (tools/deploy/minikube.ts) without a cluster: stand-in `minikube` and
 * `kubectl` programs on PATH record what they are asked (kubectl's `kustomize` is passed to
 * the real kubectl, which renders offline), so the script's checks, its order of commands
 * and what it prints are observed without running minikube. Also: the overlay it applies
 * holds no placeholder secret. An integration spec: it runs the real kubectl (no cluster),
 * and the tests that render are skipped, saying so, where kubectl is not installed.
 */
import test, { type ExecutionContext } from 'ava';
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { onPath } from '../../tools/deploy/minikube.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const script = path.join(repoRoot, 'tools/deploy/minikube.ts');
const realKubectl = onPath('kubectl');

/** A test that renders with the real kubectl: skipped, naming the reason, without one. */
const withKubectl = (title: string, fn: (t: ExecutionContext) => void) =>
  realKubectl ? test(title, fn) : test.skip(`${title} (skipped: kubectl is not on PATH, and this test renders the overlay with it)`, fn);

type Fakes = { minikube?: boolean; kubectl?: boolean; minikubeStatusExit?: number };

/** A PATH with only the stand-ins asked for; their calls go to calls.log, one line each. */
function fakePath(t: ExecutionContext, fakes: Fakes): { dir: string; calls: () => string[] } {
  const dir = mkdtempSync(path.join(tmpdir(), 'shop-minikube-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const log = path.join(dir, 'calls.log');
  const program = (name: string, body: string) => {
    const file = path.join(dir, name);
    writeFileSync(file, `#!/bin/sh\necho "${name} $*" >> '${log}'\n${body}\n`);
    chmodSync(file, 0o755);
  };
  if (fakes.minikube) {
    program(
      'minikube',
      [
        'case "$1" in',
        `  status) echo "host: Running"; exit ${fakes.minikubeStatusExit ?? 0} ;;`,
        '  service) echo "http://192.168.49.2:30080" ;;',
        '  profile) echo "dev-cluster" ;;',
        'esac',
        'exit 0',
      ].join('\n'),
    );
  }
  if (fakes.kubectl) program('kubectl', `if [ "$1" = kustomize ]; then exec '${realKubectl}' "$@"; fi\nexit 0`);
  return { dir, calls: () => (existsSync(log) ? readFileSync(log, 'utf8').trim().split('\n') : []) };
}

function runScript(dir: string, args: string[] = []) {
  // node itself is started by its absolute path: PATH holds the stand-ins only.
  const r = spawnSync(process.execPath, ['--import', 'tsx', script, ...args], { cwd: repoRoot, encoding: 'utf8', env: { ...process.env, PATH: dir }, timeout: 60_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

test('without minikube on PATH it stops at once and says how to install it', (t) => {
  const { dir, calls } = fakePath(t, { kubectl: true });
  const r = runScript(dir);
  t.is(r.code, 1);
  t.regex(r.stderr, /minikube is not installed/);
  t.regex(r.stderr, /https:\/\/minikube\.sigs\.k8s\.io\/docs\/start\//);
  t.regex(r.stderr, /minikube start --cpus 2 --memory 6g/);
  t.deepEqual(calls(), [], 'nothing was run');
});

test('without kubectl on PATH it says how to install that', (t) => {
  const { dir, calls } = fakePath(t, { minikube: true });
  const r = runScript(dir);
  t.is(r.code, 1);
  t.regex(r.stderr, /kubectl is not installed/);
  t.regex(r.stderr, /https:\/\/kubernetes\.io\/docs\/tasks\/tools\//);
  t.deepEqual(calls(), []);
});

test('with no running cluster it says how to start one, and builds nothing', (t) => {
  const { dir, calls } = fakePath(t, { minikube: true, kubectl: true, minikubeStatusExit: 7 });
  const r = runScript(dir);
  t.is(r.code, 1);
  t.regex(r.stderr, /minikube has no running cluster/);
  t.regex(r.stderr, /minikube start --cpus 2 --memory 6g/);
  t.regex(r.stderr, /--cni=calico/);
  t.deepEqual(calls(), ['minikube status']);
});

withKubectl('--dry-run prints every command it would run, and runs none of them', (t) => {
  const { dir, calls } = fakePath(t, { minikube: true, kubectl: true });
  const r = runScript(dir, ['--dry-run']);
  t.is(r.code, 0, r.stderr);
  const printed = r.stdout.split('\n').filter((l) => !l.startsWith('[minikube]') && l.trim() !== '');
  t.is(printed[0], 'minikube status');
  t.is(printed[1], 'minikube profile');
  t.is(printed[2], 'minikube image build -t shop:dev .');
  t.is(printed[3], 'kubectl --context minikube apply -k k8s/overlays/minikube');
  t.true(printed.includes('kubectl --context minikube -n shop rollout status statefulset/postgres --timeout=10m'));
  t.true(printed.includes('kubectl --context minikube -n shop rollout status deployment/bff --timeout=10m'));
  // Infrastructure before the processes that need it.
  t.true(printed.indexOf('kubectl --context minikube -n shop rollout status statefulset/kafka --timeout=10m') < printed.indexOf('kubectl --context minikube -n shop rollout status deployment/order --timeout=10m'));
  t.is(printed.at(-1), 'minikube service -n shop bff --url');
  // Only the offline render ran.
  t.deepEqual(calls(), ['kubectl kustomize k8s/overlays/minikube']);
});

withKubectl('a deployment builds the image into minikube, applies the overlay, waits for every workload, then prints the GraphQL URL and a grpcurl call', (t) => {
  const { dir, calls } = fakePath(t, { minikube: true, kubectl: true });
  const r = runScript(dir);
  t.is(r.code, 0, r.stderr);
  const made = calls();
  // kubectl goes to minikube's context (its profile's name), whatever its current context is.
  t.deepEqual(made.slice(0, 5), ['minikube status', 'minikube profile', 'kubectl kustomize k8s/overlays/minikube', 'minikube image build -t shop:dev .', 'kubectl --context dev-cluster apply -k k8s/overlays/minikube']);
  const waited = made.filter((c) => c.startsWith('kubectl --context dev-cluster -n shop rollout status '));
  const rendered = spawnSync(realKubectl!, ['kustomize', 'k8s/overlays/minikube'], { cwd: repoRoot, encoding: 'utf8' }).stdout;
  const workloads = [...rendered.matchAll(/^kind: (Deployment|StatefulSet)\nmetadata:\n(?:  .*\n)*?  name: (\S+)$/gm)].map((m) => `${m[1]!.toLowerCase()}/${m[2]}`);
  t.true(workloads.length >= 10);
  t.deepEqual(waited.map((c) => c.split(' ')[7]).sort(), workloads.sort(), 'one rollout status per workload of the overlay');
  t.is(made.at(-1), 'minikube service -n shop bff --url');
  t.regex(r.stdout, /GraphQL .*: http:\/\/192\.168\.49\.2:30080\/graphql/);
  t.regex(r.stdout, /grpcurl -plaintext 127\.0\.0\.1:50051 list/);
});

withKubectl('the minikube overlay it applies has no REPLACE-ME placeholder left (its secrets are the development-only ones)', (t) => {
  const rendered = spawnSync(realKubectl!, ['kustomize', 'k8s/overlays/minikube'], { cwd: repoRoot, encoding: 'utf8' });
  t.is(rendered.status, 0, rendered.stderr);
  const secrets = [...rendered.stdout.matchAll(/^kind: Secret$/gm)].length;
  t.true(secrets >= 8);
  // Secret values are base64: decode every data value, and check the text around them too.
  const decoded = [...rendered.stdout.matchAll(/^ {2}[A-Z_]+: ([A-Za-z0-9+/=]{8,})$/gm)].map((m) => Buffer.from(m[1]!, 'base64').toString('utf8'));
  t.true(decoded.some((v) => v.includes('development-only')), 'the secrets were decoded');
  for (const text of [rendered.stdout, ...decoded]) t.notRegex(text, /REPLACE-ME/i);
});
