/**
 * `npm run minikube`: Shop on a running minikube, as k8s/README.md's steps do it by hand.
 *
 *   npm run minikube               build the image into minikube, apply, wait, print where to call
 *   npm run minikube -- --dry-run  print the commands it would run, run none
 *
 * Checks first that minikube and kubectl are installed and that a cluster is running, and
 * says how to get there if not. Then: `minikube image build -t shop:dev .` (the overlay
 * never pulls that image), `kubectl apply -k k8s/overlays/minikube`, `kubectl rollout
 * status` for every workload the overlay renders (infrastructure first), and finally the
 * GraphQL URL (the BFF's NodePort through `minikube service --url`) with a curl and a
 * grpcurl example.
 */
import { spawn, spawnSync } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseAllDocuments } from 'yaml';
import { shopImage } from './image.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

export const overlay = 'k8s/overlays/minikube';
export const namespace = 'shop';
/** The minikube overlay's `images:` entry gives the Shop image this tag. */
export const devImage = `${shopImage}:dev`;
const rolloutTimeout = '10m';

/** A failure the user can act on: printed as one message, exit code 1. */
export class MinikubeError extends Error {
  override name = 'MinikubeError';
}

export const installHints: Record<'minikube' | 'kubectl', string> = {
  minikube:
    'minikube is not installed (not on PATH). Install it from https://minikube.sigs.k8s.io/docs/start/ ' +
    '(Linux x86-64: curl -LO https://storage.googleapis.com/minikube/releases/latest/minikube-linux-amd64 && sudo install minikube-linux-amd64 /usr/local/bin/minikube), ' +
    'then start a cluster: minikube start --cpus 2 --memory 6g',
  kubectl:
    'kubectl is not installed (not on PATH). Install a 1.29 or newer client from https://kubernetes.io/docs/tasks/tools/ ' +
    '(or use minikube\'s own: alias kubectl="minikube kubectl --"; this script needs a kubectl on PATH).',
};

export const notRunningHint =
  'minikube has no running cluster. Start one (k8s/README.md, "Deploy on minikube", step 1):\n' +
  '  minikube start --cpus 2 --memory 6g\n' +
  '  # or, with the network policies enforced (Calico needs a third CPU):\n' +
  '  minikube start --cpus 3 --memory 6g --cni=calico\n' +
  'then run npm run minikube again.';

/** The absolute path of a program on PATH, or undefined (no `which` needed). */
export function onPath(program: string, envPath = process.env.PATH ?? ''): string | undefined {
  for (const dir of envPath.split(path.delimiter).filter(Boolean)) {
    const candidate = path.join(dir, program);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // Not in this directory: try the next one.
    }
  }
  return undefined;
}

type Workload = { kind: string; metadata: { name: string; labels?: Record<string, string> } };

/**
 * What to wait for, in the order it can become ready: StatefulSets (Postgres, Kafka), then
 * the other infrastructure (NATS), then the Shop processes, which restart until those answer.
 */
export function rolloutTargets(renderedYaml: string): string[] {
  const workloads = parseAllDocuments(renderedYaml)
    .map((d) => d.toJS() as Workload | null)
    .filter((o): o is Workload => o !== null && (o.kind === 'Deployment' || o.kind === 'StatefulSet'));
  const shopComponents = new Set(['grpc-service', 'bff', 'worker']);
  const rank = (w: Workload) => (w.kind === 'StatefulSet' ? 0 : shopComponents.has(w.metadata.labels?.['app.kubernetes.io/component'] ?? '') ? 2 : 1);
  return workloads
    .map((w, i) => ({ w, i }))
    .sort((a, b) => rank(a.w) - rank(b.w) || a.i - b.i)
    .map(({ w }) => `${w.kind.toLowerCase()}/${w.metadata.name}`);
}

/**
 * The commands of a deployment, once minikube and kubectl were found and a cluster runs.
 * kubectl is given minikube's context explicitly: whatever kubectl's current context is
 * (a production cluster, say), this applies to minikube only.
 */
export function deployCommands(targets: string[], context: string): string[][] {
  return [
    ['minikube', 'image', 'build', '-t', devImage, '.'],
    ['kubectl', '--context', context, 'apply', '-k', overlay],
    ...targets.map((t) => ['kubectl', '--context', context, '-n', namespace, 'rollout', 'status', t, `--timeout=${rolloutTimeout}`]),
    ['minikube', 'service', '-n', namespace, 'bff', '--url'],
  ];
}

/** minikube names its kubectl context after its profile ("minikube" unless -p was used). */
const defaultProfile = 'minikube';
function minikubeProfile(): string {
  const r = spawnSync('minikube', ['profile'], { encoding: 'utf8' });
  const name = r.status === 0 ? r.stdout.trim().split('\n').pop()?.trim() : undefined;
  return name && /^[\w.-]+$/.test(name) ? name : defaultProfile;
}

const shellQuote = (arg: string) => (/^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`);
export const commandLine = (cmd: string[]) => cmd.map(shellQuote).join(' ');

/** What to do once it runs: a GraphQL call through the edge and a gRPC call with grpcurl. */
export function nextSteps(edgeUrl: string, context: string): string {
  const graphql = `${edgeUrl.replace(/\/+$/, '')}/graphql`;
  return [
    `GraphQL (the Envoy edge in the BFF pod, NodePort 30080): ${graphql}`,
    `  curl -s ${graphql} -H 'content-type: application/json' -d '{"query":"{ products { _id name price quantity } }"}'`,
    'gRPC, with server reflection (grpcurl: go install github.com/fullstorydev/grpcurl/cmd/grpcurl@v1.9.3):',
    `  kubectl --context ${context} -n ${namespace} port-forward deploy/product 50051:50051 &`,
    '  grpcurl -plaintext 127.0.0.1:50051 list',
    `  grpcurl -plaintext -d '{"category":"kitchen","page":{"pageSize":5}}' 127.0.0.1:50051 shop.product.v1.ProductService/ListProducts`,
    'More (an admin key, creating a product, logs): k8s/README.md, "Deploy on minikube".',
  ].join('\n');
}

const say = (message: string) => console.log(`[minikube] ${message}`);

function render(): string {
  const kubectl = onPath('kubectl');
  if (!kubectl) throw new MinikubeError(installHints.kubectl);
  const result = spawnSync(kubectl, ['kustomize', overlay], { cwd: repoRoot, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (result.status !== 0) throw new MinikubeError(`kubectl kustomize ${overlay} failed: ${(result.stderr || result.error?.message || '').trim()}`);
  return result.stdout;
}

/** Runs a command with its output on the console; a failure names the command. */
function runVisible(cmd: string[]): Promise<void> {
  say(`$ ${commandLine(cmd)}`);
  return new Promise((resolve, reject) => {
    const child = spawn(cmd[0]!, cmd.slice(1), { cwd: repoRoot, stdio: 'inherit' });
    child.on('error', (err) => reject(new MinikubeError(`${commandLine(cmd)} could not run: ${err.message}`)));
    child.on('exit', (code, signal) =>
      code === 0 ? resolve() : reject(new MinikubeError(`${commandLine(cmd)} ${signal ? `was killed by ${signal}` : `failed (exit ${code})`}; its output is above.`)),
    );
  });
}

export async function main(argv: string[]): Promise<void> {
  const dryRun = argv.includes('--dry-run');
  const unknown = argv.filter((a) => a !== '--dry-run');
  if (unknown.length > 0) throw new MinikubeError(`unknown argument ${unknown.join(' ')}; usage: npm run minikube [-- --dry-run]`);

  if (dryRun) {
    say('dry run: the commands it would run, none run');
    for (const cmd of [['minikube', 'status'], ['minikube', 'profile'], ...deployCommands(rolloutTargets(render()), defaultProfile)]) console.log(commandLine(cmd));
    return;
  }

  for (const tool of ['minikube', 'kubectl'] as const) if (!onPath(tool)) throw new MinikubeError(installHints[tool]);
  const status = spawnSync('minikube', ['status'], { encoding: 'utf8' });
  if (status.status !== 0) throw new MinikubeError(`${notRunningHint}\n(minikube status said: ${(status.stdout || status.stderr || '').trim().split('\n').join('; ')})`);

  const context = minikubeProfile();
  const commands = deployCommands(rolloutTargets(render()), context);
  const serviceUrl = commands.pop()!;
  say(`building ${devImage} inside minikube (the first build takes a few minutes)…`);
  await runVisible(commands[0]!);
  await runVisible(commands[1]!);
  say('waiting for every workload (the first start pulls the infrastructure images; a restart or two of the Shop processes is expected)…');
  for (const cmd of commands.slice(2)) await runVisible(cmd);

  say(`$ ${commandLine(serviceUrl)}`);
  // With the docker driver on macOS or Windows it keeps a tunnel open after printing the
  // URL: take what it printed within the time limit.
  const url = spawnSync(serviceUrl[0]!, serviceUrl.slice(1), { encoding: 'utf8', timeout: 30_000 });
  const edge = (url.stdout ?? '').trim().split('\n').find((l) => /^https?:\/\//.test(l));
  if (!edge) throw new MinikubeError(`${commandLine(serviceUrl)} gave no URL (${(url.stderr || '').trim()}); reach the edge with: kubectl -n ${namespace} port-forward svc/bff 8080:8080`);
  say('Shop is running.');
  console.log(nextSteps(edge, context));
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await main(process.argv.slice(2)).catch((err: unknown) => {
    console.error(err instanceof MinikubeError ? `[minikube] error: ${err.message}` : err);
    process.exit(1);
  });
}
