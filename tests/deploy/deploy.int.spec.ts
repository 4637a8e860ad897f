/**
 * The deployment users copy: docker-compose.yml, k8s/ (kustomize) and the generated Envoy
 * configurations. Everything is checked offline with the real tools: kubectl kustomize,
 * kubernetes-validate (Kubernetes 1.32 schemas), envoy --mode validate,
 * docker compose config and hadolint. What needs a cluster or a Docker engine (pulling images,
 * building the image, running pods) cannot be checked here; k8s/README.md says how to.
 */
import test from 'ava';
import { execFile, spawnSync } from 'node:child_process';
import { createPublicKey, createPrivateKey, generateKeyPairSync, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { parseAllDocuments } from 'yaml';
import { ConfigError, loadConfig } from '@shop/platform/config';
import { repoRoot } from '@shop/tools/topology';
import { envoyBinary } from '@shop/tools/install/envoy';
import { deployEnvoyConfigs } from '../../tools/deploy/envoy-configs.js';
import { containerPorts, deployedGrpcServices, serviceCallers } from '../../tools/deploy/topology.js';
import { containerArgs, shopUser } from '../../tools/deploy/image.js';
import { processes } from '../../tools/catalog/catalog.js';
import { generateCommand, generatedFiles } from '../../tools/catalog/generated.js';
import { hadolintBinary, installValidators, kubernetesValidateBinary } from '../../tools/deploy/install-validator.js';
import { composeDockerConfig, installComposePlugin } from '../../tools/deploy/install-compose.js';

const run = promisify(execFile);
const exec = (cmd: string, args: string[], opts: { cwd?: string; timeout?: number; env?: NodeJS.ProcessEnv } = {}) =>
  run(cmd, args, { cwd: opts.cwd ?? repoRoot, timeout: opts.timeout ?? 120_000, maxBuffer: 64 * 1024 * 1024, ...(opts.env ? { env: opts.env } : {}) });

const overlay = 'k8s/overlays/minikube';
const kubernetesVersion = '1.32.0';
/** The image the minikube overlay deploys (built into minikube, never pulled). */
const shopImage = 'shop:dev';
/** Infrastructure containers whose image writes into its own filesystem (see the manifest's comment). */
const writableRootAllowed = new Set(['kafka']);

type K8sObject = { apiVersion: string; kind: string; metadata: { name: string; namespace?: string; labels?: Record<string, string> }; spec?: any; data?: Record<string, string> };

function parseManifests(text: string): K8sObject[] {
  return parseAllDocuments(text)
    .map((doc) => doc.toJS() as K8sObject | null)
    .filter((o): o is K8sObject => o !== null);
}

async function kustomize(dir: string): Promise<{ text: string; objects: K8sObject[] }> {
  const { stdout } = await exec('kubectl', ['kustomize', dir]);
  return { text: stdout, objects: parseManifests(stdout) };
}

/** A fresh Ed25519 signing key, as `openssl genpkey -algorithm ed25519` prints it. */
const ed25519Pem = () => generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();

/** Every overlay a user can apply (each must turn the network policies on). */
const overlays = ['k8s/overlays/minikube'];

/** A kustomization beside the repository's (kustomize only accepts relative paths to others), removed afterwards. */
async function withKustomization<T>(lines: (rel: (p: string) => string) => string[], files: Record<string, string>, fn: (dir: string) => Promise<T>): Promise<T> {
  mkdirSync(path.join(repoRoot, '.stack'), { recursive: true });
  const dir = mkdtempSync(path.join(repoRoot, '.stack', 'deploy-kustomize-'));
  try {
    const rel = (p: string) => path.relative(dir, path.join(repoRoot, p));
    for (const [name, text] of Object.entries(files)) writeFileSync(path.join(dir, name), text);
    writeFileSync(path.join(dir, 'kustomization.yaml'), [...lines(rel), ''].join('\n'));
    return await fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The service databases of the catalog (init-databases.sql creates each with its role shop_<name>). */
const serviceDatabases = [...new Set(processes().flatMap((p) => (p.database ? [p.database] : [])))];

/**
 * The source entry of a container's first argument: the catalog's process whose
 * containerArgs (tools/deploy/image.ts: the source or the compiled entry) it is.
 */
function sourceEntryOf(arg: string | undefined): string {
  const p = processes().find((x) => containerArgs(x.entry)[0] === arg);
  if (!p) throw new Error(`${arg} is the container argument of no process in tools/catalog/catalog.ts`);
  return p.entry;
}

/** A production overlay as k8s/README.md step 3 shows it: every secret generated. */
function productionOverlay(pem: string) {
  const secret = () => randomBytes(24).toString('hex');
  return <T>(fn: (dir: string) => Promise<T>) =>
    withKustomization(
    (rel) => [
      'resources:',
      `  - ${rel('k8s/base')}`,
      'namespace: shop',
      'secretGenerator:',
      '  - name: postgres-credentials',
      '    behavior: replace',
      '    literals:',
      `      - POSTGRES_PASSWORD=${secret()}`,
      ...serviceDatabases.flatMap((d) => [`  - name: database-${d}`, '    behavior: replace', '    literals:', `      - DATABASE_PASSWORD=${secret()}`]),
      '  - name: bff-secrets',
      '    behavior: replace',
      '    literals:',
      `      - ADMIN_API_KEY=${secret()}`,
      '  - name: user-command-secrets',
      '    behavior: replace',
      '    files:',
      '      - JWT_PRIVATE_KEY=jwt-private-key.pem',
      '  - name: service-auth',
      '    behavior: replace',
      '    files:',
      '      - AUTH_JWKS=auth-jwks.json',
      '    literals:',
      `      - SERVICE_TOKEN_KEY=${secret()}`,
    ],
    { 'jwt-private-key.pem': pem, 'auth-jwks.json': JSON.stringify({ keys: [{ ...createPublicKey(pem).export({ format: 'jwk' }), kid: 'prod-1', alg: 'EdDSA' }] }) },
    fn,
  );
}

const workloads = (objects: K8sObject[]) => objects.filter((o) => o.kind === 'Deployment' || o.kind === 'StatefulSet');
const podSpec = (w: K8sObject) => w.spec.template.spec;
const allContainers = (w: K8sObject): any[] => [...(podSpec(w).initContainers ?? []), ...podSpec(w).containers];
const envOf = (c: any): Record<string, string> => Object.fromEntries((c.env ?? []).filter((e: any) => 'value' in e).map((e: any) => [e.name, e.value]));

/**
 * The environment a container's process sees: literals, values of the rendered Secrets
 * (secretKeyRef), and $(VAR) references expanded as the kubelet does.
 */
function processEnv(c: any, objects: K8sObject[]): Record<string, string> {
  const env: Record<string, string> = {};
  for (const e of c.env ?? []) {
    if ('value' in e) env[e.name] = String(e.value).replace(/\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g, (ref, name: string) => env[name] ?? ref);
    const ref = e.valueFrom?.secretKeyRef;
    const data = ref && objects.find((o) => o.kind === 'Secret' && o.metadata.name === ref.name)?.data?.[ref.key];
    if (data !== undefined) env[e.name] = Buffer.from(data, 'base64').toString('utf8');
  }
  return env;
}

/** Every process reads its environment through the config.ts beside its entry file (STYLE.md). */
async function configSchemaOf(arg: string): Promise<Parameters<typeof loadConfig>[0]> {
  const file = path.join(repoRoot, path.dirname(sourceEntryOf(arg)), 'config.ts');
  const mod = (await import(pathToFileURL(file).href)) as { configSchema?: Parameters<typeof loadConfig>[0] };
  if (!mod.configSchema) throw new Error(`${file} exports no configSchema`);
  return mod.configSchema;
}

/** configSchemaOf for every entry file, loaded once before the tests (loadConfig needs it synchronously). */
const schemas = new Map<string, Parameters<typeof loadConfig>[0]>();
const configSchemaOfSync = (entry: string) => {
  const schema = schemas.get(entry);
  if (!schema) throw new Error(`no config schema loaded for ${entry}`);
  return schema;
};
test.before(async () => {
  const { objects } = await kustomize('k8s/base');
  for (const w of workloads(objects)) {
    const entry = podSpec(w).containers[0].args?.[0];
    if (podSpec(w).containers[0].image === 'shop' && entry) schemas.set(entry, await configSchemaOf(entry));
  }
});

// (a) ------------------------------------------------------------------------------------

test('the minikube overlay renders, everything in namespace shop, the Shop image never pulled', async (t) => {
  const { objects } = await kustomize(overlay);
  const kinds = objects.map((o) => `${o.kind}/${o.metadata.name}`);
  for (const expected of ['Namespace/shop', 'StatefulSet/postgres', 'StatefulSet/kafka', 'Deployment/nats', 'Deployment/bff', 'Service/bff']) {
    t.true(kinds.includes(expected), `${expected} is missing from ${overlay}`);
  }
  for (const o of objects.filter((x) => x.kind !== 'Namespace')) t.is(o.metadata.namespace, 'shop', `${o.kind}/${o.metadata.name} namespace`);

  const shopContainers = workloads(objects).flatMap((w) => allContainers(w).filter((c) => c.image === shopImage).map((c) => ({ w, c })));
  t.true(shopContainers.length >= 2);
  for (const { w, c } of shopContainers) {
    const where = `${w.kind}/${w.metadata.name} container ${c.name}`;
    t.is(c.imagePullPolicy, 'Never', `${where}: minikube has the image locally only`);
    // The overlay patches containers/0: the Shop container must be the first.
    t.is(podSpec(w).containers[0].name, c.name, `${where}: the Shop image's container must come first`);
    const entry = c.args?.[0];
    t.notThrows(() => sourceEntryOf(entry), `${where}: ${entry} is no process's entry`);
  }
  for (const o of workloads(objects)) {
    for (const c of allContainers(o)) t.not(c.image, 'shop', `${o.metadata.name}/${c.name}: image without the overlay's tag`);
  }
});

test('every Shop process accepts the environment its Deployment gives it (its own config.ts decides)', async (t) => {
  const { objects } = await kustomize(overlay);
  const shop = workloads(objects).flatMap((w) => allContainers(w).filter((c) => c.image === shopImage).map((c) => ({ w, c })));
  t.true(shop.length >= 2);
  for (const { w, c } of shop) {
    const schema = await configSchemaOf(c.args[0]);
    // Throws a ConfigError naming every missing or bad variable, as the process would at start-up.
    t.notThrows(() => loadConfig(schema, processEnv(c, objects)), `k8s ${w.kind}/${w.metadata.name} (${c.args[0]})`);
  }
});

test('every container runs as non-root without privileges, with resources and probes; app containers read-only', async (t) => {
  const { objects } = await kustomize(overlay);
  const list = workloads(objects);
  t.true(list.length >= 5);
  for (const w of list) {
    const pod = podSpec(w);
    t.true(typeof pod.terminationGracePeriodSeconds === 'number', `${w.metadata.name}: terminationGracePeriodSeconds`);
    for (const c of allContainers(w)) {
      const where = `${w.kind}/${w.metadata.name} container ${c.name}`;
      const sc = c.securityContext ?? {};
      const runAsNonRoot = sc.runAsNonRoot ?? pod.securityContext?.runAsNonRoot;
      const runAsUser = sc.runAsUser ?? pod.securityContext?.runAsUser;
      t.true(runAsNonRoot, `${where}: runAsNonRoot`);
      t.true(typeof runAsUser === 'number' && runAsUser > 0, `${where}: a numeric non-zero runAsUser`);
      t.is(sc.allowPrivilegeEscalation, false, `${where}: allowPrivilegeEscalation`);
      t.deepEqual(sc.capabilities?.drop, ['ALL'], `${where}: drop ALL capabilities`);
      t.is((sc.seccompProfile ?? pod.securityContext?.seccompProfile)?.type, 'RuntimeDefault', `${where}: seccomp (the namespace enforces "restricted")`);
      if (!writableRootAllowed.has(c.name)) t.is(sc.readOnlyRootFilesystem, true, `${where}: readOnlyRootFilesystem`);
      for (const kind of ['requests', 'limits']) {
        t.truthy(c.resources?.[kind]?.cpu && c.resources?.[kind]?.memory, `${where}: resources.${kind} cpu and memory`);
      }
      t.truthy(c.readinessProbe, `${where}: readinessProbe`);
      t.truthy(c.livenessProbe, `${where}: livenessProbe`);
    }
    const shop = pod.containers[0];
    if (shop.image !== shopImage) continue;
    // The Shop image: /tmp is the only writable path, metrics are scraped on HTTP_PORT.
    const tmp = shop.volumeMounts?.find((m: any) => m.mountPath === '/tmp');
    t.truthy(tmp && pod.volumes.find((v: any) => v.name === tmp.name)?.emptyDir, `${w.metadata.name}: an emptyDir on /tmp`);
    const annotations = w.spec.template.metadata.annotations ?? {};
    t.is(annotations['prometheus.io/scrape'], 'true', `${w.metadata.name}: prometheus.io/scrape`);
    t.is(annotations['prometheus.io/port'], envOf(shop).HTTP_PORT, `${w.metadata.name}: prometheus.io/port is HTTP_PORT`);
  }
});

test('gRPC services: a native gRPC startup probe on GRPC_PORT, liveness from /healthz, readiness from /readyz, a headless Service, an Envoy route and a BFF address each', async (t) => {
  const { objects } = await kustomize(overlay);
  const bff = objects.find((o) => o.kind === 'Deployment' && o.metadata.name === 'bff')!;
  const bffEnv = Object.values(envOf(podSpec(bff).containers[0]));
  const grpcDeployments = objects.filter((o) => o.kind === 'Deployment' && o.metadata.labels?.['app.kubernetes.io/component'] === 'grpc-service');
  t.deepEqual(grpcDeployments.map((d) => d.metadata.name).sort(), deployedGrpcServices.map((s) => s.name).sort(), 'k8s/base and the catalog (tools/catalog/catalog.ts) list the same gRPC services');

  for (const s of deployedGrpcServices) {
    const d = grpcDeployments.find((x) => x.metadata.name === s.name)!;
    const c = podSpec(d).containers[0];
    const grpcPort = Number(envOf(c).GRPC_PORT);
    t.is(grpcPort, containerPorts.grpc, `${s.name}: GRPC_PORT`);
    t.is(c.startupProbe?.grpc?.port, grpcPort, `${s.name}: startupProbe is a gRPC probe on GRPC_PORT`);
    // gRPC health follows readiness: liveness must not, or a database outage restarts every pod.
    t.is(c.livenessProbe?.httpGet?.path, '/healthz', `${s.name}: liveness from /healthz`);
    t.is(c.readinessProbe?.httpGet?.path, '/readyz', `${s.name}: readiness from /readyz`);
    const svc = objects.find((o) => o.kind === 'Service' && o.metadata.name === s.name);
    t.is(svc?.spec.clusterIP, 'None', `${s.name}: headless Service (Envoy balances per pod)`);
    t.is(svc?.spec.ports[0].port, grpcPort, `${s.name}: Service port`);
    if (s.calledByBff === false) t.false(bffEnv.includes(`127.0.0.1:${s.envoyPort}`), `${s.name}: the BFF has no client of it (calledByBff: false)`);
    else t.true(bffEnv.includes(`127.0.0.1:${s.envoyPort}`), `${s.name}: the BFF calls it through Envoy's listener 127.0.0.1:${s.envoyPort}`);
  }
});

test('every Envoy sidecar gets its generated config, and every caller reaches its callees through it', async (t) => {
  const { objects } = await kustomize(overlay);
  const withSidecar = workloads(objects).filter((w) => (podSpec(w).initContainers ?? []).some((c: any) => c.name === 'envoy'));
  t.deepEqual(withSidecar.map((w) => w.metadata.name).sort(), ['bff', ...Object.keys(serviceCallers)].sort(), 'the BFF and every caller of the catalog have an Envoy sidecar');
  for (const w of withSidecar) {
    const envoy = podSpec(w).initContainers.find((c: any) => c.name === 'envoy');
    t.is(envoy.restartPolicy, 'Always', `${w.metadata.name}: a native sidecar`);
    const mount = envoy.volumeMounts.find((m: any) => m.mountPath === '/etc/envoy');
    const volume = podSpec(w).volumes.find((v: any) => v.name === mount.name);
    const configMap = objects.find((o) => o.kind === 'ConfigMap' && o.metadata.name === volume.configMap.name);
    const generated = deployEnvoyConfigs().find((f) => f.file === `k8s/base/${w.metadata.name}/envoy.yaml`);
    t.truthy(generated, `${w.metadata.name}: tools/deploy renders k8s/base/${w.metadata.name}/envoy.yaml`);
    t.is(configMap?.data?.['envoy.yaml'], generated?.text, `${w.metadata.name}: the ConfigMap holds the generated config`);
  }
  for (const [caller, callees] of Object.entries(serviceCallers)) {
    const w = withSidecar.find((x) => x.metadata.name === caller)!;
    const addresses = Object.values(envOf(podSpec(w).containers[0]));
    for (const callee of callees) {
      const port = deployedGrpcServices.find((s) => s.name === callee)!.envoyPort;
      t.true(addresses.includes(`127.0.0.1:${port}`), `${caller} calls ${callee} through its sidecar's 127.0.0.1:${port}`);
    }
  }
  const bffConfig = deployEnvoyConfigs().find((f) => f.file === 'k8s/base/bff/envoy.yaml')!;
  t.regex(bffConfig.text, /socket_address:\s+address: product\s+port_value: 50051/);
});

test("user-command's signing key: from a Secret, never a literal; minikube's is the development-only one, which production refuses", async (t) => {
  const { objects } = await kustomize(overlay);
  const userCommand = objects.find((o) => o.kind === 'Deployment' && o.metadata.name === 'user-command')!;
  const c = podSpec(userCommand).containers[0];
  const key = c.env.find((e: any) => e.name === 'JWT_PRIVATE_KEY');
  t.is(key?.valueFrom?.secretKeyRef?.key, 'JWT_PRIVATE_KEY', 'JWT_PRIVATE_KEY comes from a Secret, never a literal');
  const env = processEnv(c, objects);
  t.is(env.SHOP_ENVIRONMENT, 'development');
  t.notThrows(() => loadConfig(configSchemaOfSync(c.args[0]), env));
  const { SHOP_ENVIRONMENT: _development, ...asProduction } = env;
  t.throws(() => loadConfig(configSchemaOfSync(c.args[0]), asProduction), { message: /JWT_PRIVATE_KEY (contains "development"|is the development-only key)/ });
});

test('k8s/base is production: every Shop process refuses its placeholder secrets at start-up, naming the variable', async (t) => {
  const { objects } = await kustomize('k8s/base');
  const shop = workloads(objects).flatMap((w) => allContainers(w).filter((c) => c.image === 'shop').map((c) => ({ w, c })));
  t.true(shop.length >= 10);
  const refused = new Set<string>();
  for (const { w, c } of shop) {
    const env = processEnv(c, objects);
    t.is(env.SHOP_ENVIRONMENT, undefined, `${w.metadata.name}: production is the default, nothing to set`);
    // A process without secrets (notifications: Kafka and NATS only) has nothing to refuse.
    if (!('DATABASE_URL' in env || 'ADMIN_API_KEY' in env || w.metadata.name === 'user-command')) continue;
    const schema = configSchemaOfSync(c.args[0]);
    const err = t.throws(() => loadConfig(schema, env), { instanceOf: ConfigError }, `${w.metadata.name} starts with a placeholder`);
    const problems = (err as ConfigError | undefined)?.problems ?? [];
    for (const p of problems) refused.add(p.split(/[ :]/)[0]!);
    // Each variable that holds a placeholder, in each process: a secret check lost by one
    // schema (a shared fragment wrapped into a new schema object) shows here.
    const placeholders = Object.entries(env).filter(([k, v]) => k in schema.shape && /replace-me/i.test(String(v))).map(([k]) => k);
    t.true(placeholders.length > 0, `${w.metadata.name} has placeholder secrets in k8s/base`);
    for (const name of placeholders) t.true(problems.some((p) => p.startsWith(`${name} `) || p.startsWith(`${name}:`)), `${w.metadata.name}: ${name} holds a placeholder and is refused (${problems.join('; ')})`);
  }
  for (const name of ['ADMIN_API_KEY', 'DATABASE_URL', 'JWT_PRIVATE_KEY']) t.true(refused.has(name), `${name} is refused: ${[...refused].join(', ')}`);
});

test('a production overlay that replaces every secret (k8s/README.md step 3) starts every process', async (t) => {
  const pem = ed25519Pem();
  const replaced = await productionOverlay(pem)((dir) => kustomize(dir));
  const shop = workloads(replaced.objects).flatMap((w) => allContainers(w).filter((c) => c.image === 'shop').map((c) => ({ w, c })));
  t.true(shop.length >= 10);
  for (const { w, c } of shop) {
    const env = processEnv(c, replaced.objects);
    t.notThrows(() => loadConfig(configSchemaOfSync(c.args[0]), env), `${w.metadata.name}`);
    if (w.metadata.name === 'user-command') t.is(createPrivateKey(env.JWT_PRIVATE_KEY!).asymmetricKeyType, 'ed25519');
  }
});

test('each service connects as its own database role, which Postgres creates with the same password', async (t) => {
  const { objects } = await kustomize(overlay);
  const postgres = objects.find((o) => o.kind === 'StatefulSet' && o.metadata.name === 'postgres')!;
  const postgresEnv = processEnv(podSpec(postgres).containers[0], objects);
  const initSql = objects.find((o) => o.kind === 'ConfigMap' && o.metadata.name.startsWith('postgres-init'))!.data!['init-databases.sql']!;
  let withDatabase = 0;
  for (const w of workloads(objects)) {
    const c = podSpec(w).containers[0];
    const url = processEnv(c, objects).DATABASE_URL;
    if (!url) continue;
    withDatabase++;
    const { username, password, pathname } = new URL(url);
    const database = pathname.slice(1);
    t.true(serviceDatabases.includes(database), `${w.metadata.name}: ${database}`);
    t.is(username, `shop_${database}`, `${w.metadata.name}: the role of its own database, not the superuser`);
    t.is(decodeURIComponent(password), postgresEnv[`${database.toUpperCase()}_DB_PASSWORD`] ?? '(unset)', `${w.metadata.name}: the password Postgres gives shop_${database}`);
    t.not(decodeURIComponent(password), postgresEnv.POSTGRES_PASSWORD ?? '');
    t.false(JSON.stringify(c.env).includes('postgres-credentials'), `${w.metadata.name}: the superuser's Secret stays with Postgres`);
  }
  t.true(withDatabase >= 10);
  for (const d of serviceDatabases) t.regex(initSql, new RegExp(`\\\\getenv ${d}_password ${d.toUpperCase()}_DB_PASSWORD`), `init-databases.sql reads ${d.toUpperCase()}_DB_PASSWORD`);
  t.regex(initSql, /REVOKE ALL ON DATABASE %I FROM PUBLIC/);
});

test('production (base) turns GraphiQL and introspection off; minikube turns them on', async (t) => {
  const bffEnv = async (dir: string) => {
    const { objects } = await kustomize(dir);
    return envOf(podSpec(objects.find((o) => o.kind === 'Deployment' && o.metadata.name === 'bff')!).containers[0]);
  };
  t.like(await bffEnv('k8s/base'), { GRAPHIQL: 'false', GRAPHQL_INTROSPECTION: 'false' });
  t.like(await bffEnv(overlay), { GRAPHIQL: 'true', GRAPHQL_INTROSPECTION: 'true' });
});

test("Envoy sidecars: only the edge listens beyond the pod's loopback", (t) => {
  for (const rendered of deployEnvoyConfigs().filter((f) => f.file.startsWith('k8s/'))) {
    const listeners = (parseAllDocuments(rendered.text)[0]!.toJS() as any).static_resources.listeners as any[];
    for (const l of listeners) {
      const expected = l.name === 'edge' ? '0.0.0.0' : '127.0.0.1';
      t.is(l.address.socket_address.address, expected, `${rendered.file}: listener ${l.name}`);
    }
  }
});

// (b) ------------------------------------------------------------------------------------

test('the rendered manifests (network policies included) validate against the Kubernetes 1.32 schemas', async (t) => {
  t.timeout(10 * 60_000);
  // Installs into .stack/deploy-venv when missing (PyPI); a failure to install fails here.
  await installValidators();
  const dir = mkdtempSync(path.join(tmpdir(), 'shop-deploy-'));
  const validate = (file: string) => exec(kubernetesValidateBinary(), ['--kubernetes-version', kubernetesVersion, '--strict', file]);
  const plain = path.join(dir, 'minikube.yaml');
  writeFileSync(plain, (await kustomize(overlay)).text);
  const { stdout } = await validate(plain);
  t.log(stdout.trim().split('\n').at(-1));
  t.notRegex(stdout, /FAIL|ERROR/);

  // Network policies are on in every overlay; under default deny, a Shop process without
  // an egress policy of its own could not reach anything.
  for (const o of overlays) {
    const rendered = await kustomize(o);
    const networkPolicies = rendered.objects.filter((x) => x.kind === 'NetworkPolicy');
    t.true(networkPolicies.some((p) => p.metadata.name === 'default-deny'), `${o}: the default-deny NetworkPolicy`);
    t.true(networkPolicies.every((p) => p.metadata.namespace === 'shop'), `${o}: NetworkPolicies land in namespace shop`);
    for (const w of workloads(rendered.objects).filter((x) => ['grpc-service', 'bff', 'worker'].includes(x.metadata.labels?.['app.kubernetes.io/component'] ?? ''))) {
      const own = networkPolicies.find((p) => p.spec.podSelector.matchLabels?.['app.kubernetes.io/name'] === w.metadata.name && p.spec.policyTypes.includes('Egress'));
      t.truthy(own, `k8s/components/network-policies has no egress policy for ${w.metadata.name}`);
    }
  }

  // The check can fail: a misspelt field is rejected.
  const broken = path.join(dir, 'broken.yaml');
  writeFileSync(broken, (await kustomize(overlay)).text.replace('imagePullPolicy: Never', 'imagePullPolicyy: Never'));
  await t.throwsAsync(validate(broken));
  rmSync(dir, { recursive: true, force: true });
});

// (c) ------------------------------------------------------------------------------------

for (const rendered of deployEnvoyConfigs()) {
  test(`envoy --mode validate accepts ${rendered.file} (DNS upstreams are resolved at run time only)`, async (t) => {
    const dir = mkdtempSync(path.join(tmpdir(), 'shop-envoy-'));
    const file = path.join(dir, 'envoy.yaml');
    writeFileSync(file, rendered.text);
    const { stdout } = await exec(envoyBinary(), ['--mode', 'validate', '-c', file, '--use-dynamic-base-id'], { timeout: 60_000 });
    t.regex(stdout, /configuration .* OK/);
    t.regex(rendered.text, /type: STRICT_DNS/);
    rmSync(dir, { recursive: true, force: true });
  });
}

// (d) ------------------------------------------------------------------------------------

test('the committed manifests, Envoy configs and docker-compose.yml are what the catalog renders', (t) => {
  for (const rendered of generatedFiles()) {
    const file = path.join(repoRoot, rendered.file);
    const committed = existsSync(file) ? readFileSync(file, 'utf8') : undefined;
    t.true(committed === rendered.text, `${rendered.file} differs from tools/catalog: run ${generateCommand}`);
  }
});

// The Dockerfile ----------------------------------------------------------------------------

test('hadolint accepts the Dockerfile; .dockerignore keeps local state out of the build context', async (t) => {
  t.timeout(10 * 60_000);
  await installValidators();
  await t.notThrowsAsync(exec(hadolintBinary(), ['Dockerfile']));
  // The check can fail: a classic mistake is reported.
  const dir = mkdtempSync(path.join(tmpdir(), 'shop-hadolint-'));
  writeFileSync(path.join(dir, 'Dockerfile'), 'FROM node:20-bookworm-slim\nRUN cd /app && npm ci\n');
  await t.throwsAsync(exec(hadolintBinary(), [path.join(dir, 'Dockerfile')]));
  rmSync(dir, { recursive: true, force: true });

  const ignored = readFileSync(path.join(repoRoot, '.dockerignore'), 'utf8').split('\n').map((l) => l.trim());
  for (const pattern of ['node_modules', '**/node_modules', '.stack', '.git', '**/dist', 'bench/results']) {
    t.true(ignored.includes(pattern), `.dockerignore lists ${pattern}`);
  }
});

// (e) ------------------------------------------------------------------------------------

const dockerClient = spawnSync('docker', ['--version'], { encoding: 'utf8' });
const dockerMissing = dockerClient.error !== undefined || dockerClient.status !== 0;
if (dockerMissing) console.log('[deploy] docker compose config: skipped, the docker client is not installed');

/** `docker compose …` with the client's own plugin, or with the one tools/deploy builds. */
async function dockerCompose(t: { log: (...v: unknown[]) => void }): Promise<(args: string[], env?: NodeJS.ProcessEnv) => ReturnType<typeof exec>> {
  const native = spawnSync('docker', ['compose', 'version'], { encoding: 'utf8' });
  if (native.status === 0) return (args, env) => exec('docker', ['compose', ...args], { env });
  t.log('the docker client has no compose plugin: using tools/deploy/install-compose.ts (built once, ~5 min)');
  await installComposePlugin();
  return (args, env) => exec('docker', ['--config', composeDockerConfig, 'compose', ...args], { env });
}

(dockerMissing ? test.skip : test)(
  `docker compose config accepts docker-compose.yml${dockerMissing ? ' (skipped: no docker client)' : ''}`,
  async (t) => {
    t.timeout(20 * 60_000);
    const compose = await dockerCompose(t);
    // Without keys of one's own, compose runs on the development-only ones (SHOP_ENVIRONMENT=development there).
    const { JWT_PRIVATE_KEY: _unset, AUTH_JWKS: _unsetJwks, SERVICE_TOKEN_KEY: _unsetKey, ...withoutKey } = process.env;
    await t.notThrowsAsync(compose(['-f', 'docker-compose.yml', 'config', '-q'], withoutKey));
    const pem = ed25519Pem();
    const withKey = {
      ...withoutKey,
      JWT_PRIVATE_KEY: pem,
      AUTH_JWKS: JSON.stringify({ keys: [{ ...createPublicKey(pem).export({ format: 'jwk' }), kid: 'compose-1', alg: 'EdDSA' }] }),
      SERVICE_TOKEN_KEY: randomBytes(24).toString('hex'),
    };
    await t.notThrowsAsync(compose(['-f', 'docker-compose.yml', 'config', '-q'], withKey));

    const { stdout } = await compose(['-f', 'docker-compose.yml', 'config', '--format', 'json'], withKey);
    const services = (JSON.parse(stdout) as { services: Record<string, any> }).services;
    for (const s of deployedGrpcServices) t.truthy(services[s.name], `compose has a service ${s.name}`);
    for (const [name, s] of Object.entries(services).filter(([, s]) => s.image === shopImage)) {
      t.true(s.read_only, `${name}: read_only`);
      t.is(s.user, `${shopUser.uid}:${shopUser.gid}`, `${name}: user`);
      t.notThrows(() => sourceEntryOf(s.command[0]), `${name}: ${s.command[0]} is no process's entry`);
    }
    for (const [name, s] of Object.entries(services).filter(([, s]) => s.image === shopImage)) {
      const schema = await configSchemaOf(s.command[0]);
      t.notThrows(() => loadConfig(schema, s.environment), `compose service ${name} (${s.command[0]})`);
    }
    const callers: Record<string, string[]> = { bff: deployedGrpcServices.filter((s) => s.calledByBff !== false).map((s) => s.name), ...serviceCallers };
    for (const [caller, callees] of Object.entries(callers)) {
      const addresses = Object.values(services[caller].environment as Record<string, string>);
      for (const callee of callees) {
        const port = deployedGrpcServices.find((s) => s.name === callee)!.envoyPort;
        t.true(addresses.includes(`envoy:${port}`), `${caller} calls ${callee} through envoy:${port}`);
      }
    }
    // Envoy before the BFF (the BFF is ready once it has listed revocations through Envoy); NATS healthy first.
    t.like(services.bff.depends_on, { nats: { condition: 'service_healthy' }, envoy: { condition: 'service_healthy' } });
    t.truthy(services.nats.healthcheck?.test, 'NATS has a healthcheck the BFF can wait for');
    t.falsy(services.envoy.depends_on?.bff, 'Envoy does not wait for the BFF, which waits for it');
    // Pools, heap and limits are the catalog's in both deployments.
    const k8s = workloads((await kustomize('k8s/base')).objects);
    for (const [name, s] of Object.entries(services).filter(([, s]) => s.image === shopImage)) {
      const c = podSpec(k8s.find((w) => w.metadata.name === name)!).containers[0];
      const env = envOf(c);
      for (const v of ['DATABASE_POOL_MAX', 'NODE_OPTIONS']) t.is(s.environment[v], env[v], `${name}: ${v} in compose and k8s`);
      // compose config answers bytes; Kubernetes says 384Mi.
      const mebibytes = (q: string | number) => (/^\d+$/.test(String(q)) ? Number(q) / 2 ** 20 : Number.parseInt(String(q), 10));
      t.is(mebibytes(s.deploy?.resources?.limits?.memory), mebibytes(c.resources.limits.memory), `${name}: memory limit in compose and k8s`);
    }
    const envoyMount = services.envoy.volumes.find((v: any) => v.target === '/etc/envoy/envoy.yaml');
    t.is(path.relative(repoRoot, envoyMount.source), 'tools/deploy/compose/envoy.yaml');
    // Published on this machine only: the development-only admin key is public.
    t.deepEqual(services.envoy.ports.map((p: any) => `${p.host_ip}:${p.published}:${p.target}`), ['127.0.0.1:8080:8080']);
    // SHOP_ENVIRONMENT comes from the shell (or .env), development unless said otherwise.
    for (const [name, s] of Object.entries(services).filter(([, s]) => s.image === shopImage)) t.is(s.environment.SHOP_ENVIRONMENT, 'development', `${name}: SHOP_ENVIRONMENT`);
    const production = JSON.parse((await compose(['-f', 'docker-compose.yml', 'config', '--format', 'json'], { ...withKey, SHOP_ENVIRONMENT: 'production' })).stdout) as { services: Record<string, any> };
    for (const [name, s] of Object.entries(production.services).filter(([, s]) => s.image === shopImage)) t.is(s.environment.SHOP_ENVIRONMENT, 'production', `${name}: SHOP_ENVIRONMENT from the shell`);

    // The check can fail: an unknown key is rejected.
    const dir = mkdtempSync(path.join(tmpdir(), 'shop-compose-'));
    const broken = path.join(dir, 'docker-compose.yml');
    writeFileSync(broken, readFileSync(path.join(repoRoot, 'docker-compose.yml'), 'utf8').replace('read_only: true', 'read_onlyy: true'));
    await t.throwsAsync(compose(['-f', broken, '--project-directory', repoRoot, 'config', '-q'], withKey));
    rmSync(dir, { recursive: true, force: true });
  },
);
