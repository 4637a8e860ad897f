/**
 * k8s/overlays/production, offline: rendered with `kubectl kustomize` from a copy of k8s/
 * with a site.env of the test's own (the overlay refuses to render without one), every
 * built-in object validated against the Kubernetes 1.32 schemas (kubernetes-validate
 * --strict), every custom resource against its operator's CRD schema
 * (tools/deploy/install-crds.ts; a group whose CRDs cannot be had is skipped, saying why),
 * and the properties production depends on checked one by one. Each check is also run on
 * a deliberately broken copy of the overlay and must report it. What needs a cluster
 * (the operators reconciling, pods running) cannot be checked here: the overlay's README.
 */
import test from 'ava';
import { execFile } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import type { ITopicConfig } from 'kafkajs';
import { parse as parseYaml, parseAllDocuments } from 'yaml';
import pg from 'pg';
import { eventTopic, topics } from '@shop/platform/topics';
import { ConfigError, loadConfig } from '@shop/platform/config';
import { cartTopics, DEFAULT_DLQ_TOPIC as cartDlq, DEFAULT_EVENTS_TOPIC as cartEvents } from '../../services/cart/src/topics.js';
import { userTopics, DEFAULT_DLQ_TOPIC as userDlq, DEFAULT_EVENTS_TOPIC as userEvents } from '../../services/user/src/topics.js';
import { paymentTopics, DEFAULT_DLQ_TOPIC as paymentDlq, DEFAULT_EVENTS_TOPIC as paymentEvents } from '../../services/payment/src/topics.js';
import { orderTopics } from '../../services/order/src/topics.js';
import { reportsTopics } from '../../services/reports/src/topics.js';
import { notificationsTopics } from '../../services/notifications/src/topics.js';
import { configSchema as orderConfig } from '../../services/order/src/config.js';
import { configSchema as reportsConfig } from '../../services/reports/src/config.js';
import { configSchema as notificationsConfig } from '../../services/notifications/src/config.js';
import { containerPorts, processes } from '../../tools/catalog/catalog.js';
import { productionBffEnvoyCommand, productionBffEnvoyFile, productionTrustedForwardHops, renderProductionBffEnvoy } from '../../tools/deploy/production-envoy.js';
import { crdFiles, crdGroups, installCrds } from '../../tools/deploy/install-crds.js';
import { deployVenv, installValidators, kubernetesValidateBinary } from '../../tools/deploy/install-validator.js';

const run = promisify(execFile);
const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const overlayPath = 'k8s/overlays/production';
const kubernetesVersion = '1.32.0';

type K8sObject = { apiVersion: string; kind: string; metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> }; spec?: any; data?: Record<string, string> };

/** What site.env gives in these tests: well-formed values, as a user's would be. */
const siteEnv = {
  SHOP_IMAGE: `registry.example.com/shop:1.0.0@sha256:${'a1'.repeat(32)}`,
  POSTGRES_IMAGE: `ghcr.io/cloudnative-pg/postgresql:15.14@sha256:${'b2'.repeat(32)}`,
  HOST: 'shop.example.com',
  CLUSTER_ISSUER: 'letsencrypt-prod',
  SECRET_STORE: 'shop-secrets',
  INGRESS_NAMESPACE: 'ingress-nginx',
  API_SERVER_CIDR: '10.0.0.10/32',
  MONITORING_NAMESPACE: 'monitoring',
};
const envFile = (values: Record<string, string>) => Object.entries(values).map(([k, v]) => `${k}=${v}`).join('\n') + '\n';

/** A copy of k8s/ (the overlay reaches ../../base and ../../components), removed afterwards. */
async function inCopy<T>(fn: (overlayDir: string) => Promise<T>): Promise<T> {
  mkdirSync(path.join(repoRoot, '.stack'), { recursive: true });
  const dir = mkdtempSync(path.join(repoRoot, '.stack', 'production-render-'));
  try {
    cpSync(path.join(repoRoot, 'k8s'), path.join(dir, 'k8s'), { recursive: true });
    return await fn(path.join(dir, overlayPath));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function kustomize(dir: string): Promise<string> {
  const { stdout } = await run('kubectl', ['kustomize', dir], { maxBuffer: 64 * 1024 * 1024, timeout: 120_000 });
  return stdout;
}

const parse = (text: string) => parseAllDocuments(text).map((d) => d.toJS() as K8sObject | null).filter((o): o is K8sObject => o !== null);

/**
 * Renders the overlay with site.env, after `edit` changed files of the copy (paths relative
 * to the overlay; a function of the file's text), as a user's broken overlay would be.
 */
function render(edit: Record<string, (text: string) => string> = {}, site: Record<string, string> = siteEnv): Promise<{ text: string; objects: K8sObject[] }> {
  return inCopy(async (dir) => {
    writeFileSync(path.join(dir, 'site.env'), envFile(site));
    for (const [file, change] of Object.entries(edit)) {
      const p = path.join(dir, file);
      const before = readFileSync(p, 'utf8');
      const after = change(before);
      if (after === before) throw new Error(`the edit of ${file} changed nothing: the broken overlay would not be broken`);
      writeFileSync(p, after);
    }
    const text = await kustomize(dir);
    return { text, objects: parse(text) };
  });
}

const find = (objects: K8sObject[], kind: string, name?: string) => objects.filter((o) => o.kind === kind && (name === undefined || o.metadata.name === name));
const one = (objects: K8sObject[], kind: string, name: string) => {
  const found = find(objects, kind, name);
  if (found.length !== 1) throw new Error(`expected one ${kind}/${name}, found ${found.length}`);
  return found[0]!;
};
const podSpec = (w: K8sObject) => w.spec.template.spec;
const containers = (w: K8sObject): any[] => [...(podSpec(w).initContainers ?? []), ...podSpec(w).containers];
const workloads = (objects: K8sObject[]) => objects.filter((o) => o.kind === 'Deployment' || o.kind === 'StatefulSet');
const shopComponents = new Set(['grpc-service', 'bff', 'worker']);
const shopDeployments = (objects: K8sObject[]) => find(objects, 'Deployment').filter((d) => shopComponents.has(d.metadata.labels?.['app.kubernetes.io/component'] ?? ''));
const envOf = (c: any): Record<string, string> => Object.fromEntries((c.env ?? []).filter((e: any) => 'value' in e).map((e: any) => [e.name, String(e.value)]));
const matches = (selector: Record<string, string>, labels: Record<string, string> = {}) => Object.entries(selector).every(([k, v]) => labels[k] === v);
type LabelSelector = { matchLabels?: Record<string, string>; matchExpressions?: { key: string; operator: string; values?: string[] }[] };
/** A Kubernetes label selector (matchLabels and matchExpressions) applied to a pod's labels. */
const selects = (selector: LabelSelector, labels: Record<string, string> = {}) =>
  matches(selector.matchLabels ?? {}, labels) &&
  (selector.matchExpressions ?? []).every((e) => {
    const has = e.key in labels;
    if (e.operator === 'In') return has && e.values!.includes(labels[e.key]!);
    if (e.operator === 'NotIn') return !has || !e.values!.includes(labels[e.key]!);
    if (e.operator === 'Exists') return has;
    if (e.operator === 'DoesNotExist') return !has;
    throw new Error(`unknown selector operator ${e.operator}`);
  });
const isEmptySelector = (selector: LabelSelector | undefined) => selector !== undefined && Object.keys(selector.matchLabels ?? {}).length === 0 && (selector.matchExpressions ?? []).length === 0;

// The facts of the code the checks compare with -------------------------------------------

/** A config field's default, as the process applies it when the variable is unset. */
const defaultOf = (schema: { shape: Record<string, { parse: (v: unknown) => unknown }> }, key: string) => String(schema.shape[key]!.parse(undefined));

/** Every topic the processes create (ensureTopics), with its partitions. */
const codeTopics: ITopicConfig[] = [
  ...Object.values(topics).map(eventTopic),
  ...cartTopics(cartEvents, cartDlq),
  ...userTopics(userEvents, userDlq),
  ...paymentTopics(paymentEvents, paymentDlq),
  ...orderTopics({ events: topics.orderEvents, checkout: topics.checkoutEvents, dlq: defaultOf(orderConfig, 'ORDER_DLQ_TOPIC') }),
  ...reportsTopics({ orderEvents: topics.orderEvents, dlq: defaultOf(reportsConfig, 'REPORTS_DLQ_TOPIC') }),
  ...notificationsTopics({ orderEvents: topics.orderEvents, dlq: defaultOf(notificationsConfig, 'NOTIFICATIONS_DLQ_TOPIC') }),
];
const partitionsInCode = new Map(codeTopics.map((t) => [t.topic, t.numPartitions ?? 1]));

type ConfigSchema = Parameters<typeof loadConfig>[0] & { shape: Record<string, { parse: (v: unknown) => unknown }> };

/** The config.ts beside a process's entry (its args: a source .ts or the compiled dist/….js). */
async function configOf(w: K8sObject): Promise<ConfigSchema> {
  const entry = String(podSpec(w).containers[0].args[0]).replace(/(^|\/)dist\//, '$1src/').replace(/\.js$/, '.ts');
  const file = path.join(repoRoot, path.dirname(entry), 'config.ts');
  return ((await import(pathToFileURL(file).href)) as { configSchema: ConfigSchema }).configSchema;
}

/** The topics a worker consumes: its *_TOPIC settings other than its dead letters. */
async function consumedTopics(worker: K8sObject): Promise<string[]> {
  const c = podSpec(worker).containers[0];
  const configSchema = await configOf(worker);
  const env = envOf(c);
  return Object.keys(configSchema.shape)
    .filter((k) => k.endsWith('_TOPIC') && !k.includes('DLQ'))
    .map((k) => env[k] ?? defaultOf(configSchema, k));
}

// The checks: each returns what is wrong, so that a broken overlay's problems can be asserted --

function placeholderProblems(text: string, objects: K8sObject[]): string[] {
  const problems: string[] = [];
  const decoded = objects.filter((o) => o.kind === 'Secret').flatMap((s) => Object.values(s.data ?? {}).map((v) => Buffer.from(v, 'base64').toString('utf8')));
  for (const t of [text, ...decoded]) {
    for (const m of t.matchAll(/REPLACE-ME|development-only|from-site\.env|<[a-z0-9 -]*digest[a-z0-9 -]*>/gi)) problems.push(`placeholder or development value: ${m[0]}`);
  }
  for (const d of shopDeployments(objects)) {
    const env = envOf(podSpec(d).containers[0]);
    if (env.SHOP_ENVIRONMENT !== undefined) problems.push(`${d.metadata.name}: SHOP_ENVIRONMENT=${env.SHOP_ENVIRONMENT} (production leaves it unset)`);
    for (const k of ['GRAPHIQL', 'GRAPHQL_INTROSPECTION']) if (env[k] === 'true') problems.push(`${d.metadata.name}: ${k}=true`);
  }
  if (find(objects, 'Secret').length > 0) problems.push(`Secrets in the output (${find(objects, 'Secret').map((s) => s.metadata.name).join(', ')}): production takes every secret from the store`);
  return problems;
}

const digestRef = /^[a-z0-9]+(?:[._/-][a-z0-9]+)*(?::[0-9]+)?(?:\/[a-z0-9]+(?:[._-][a-z0-9]+)*)*(?::[\w][\w.-]{0,127})?@sha256:[0-9a-f]{64}$/;
function imageProblems(objects: K8sObject[]): string[] {
  const refs = workloads(objects).flatMap((w) => containers(w).map((c) => ({ where: `${w.kind}/${w.metadata.name} container ${c.name}`, image: String(c.image) })));
  for (const cluster of find(objects, 'Cluster')) refs.push({ where: `Cluster/${cluster.metadata.name}`, image: String(cluster.spec.imageName) });
  const problems = refs.filter((r) => !digestRef.test(r.image)).map((r) => `${r.where}: ${r.image} is not pinned by digest`);
  for (const d of shopDeployments(objects)) if (podSpec(d).containers[0].image !== siteEnv.SHOP_IMAGE) problems.push(`${d.metadata.name}: not the Shop image of site.env`);
  return problems;
}

function hpaProblems(objects: K8sObject[]): string[] {
  const problems: string[] = [];
  const hpas = find(objects, 'HorizontalPodAutoscaler');
  for (const h of hpas) {
    const ref = h.spec.scaleTargetRef;
    const target = objects.find((o) => o.kind === ref.kind && o.metadata.name === ref.name && o.apiVersion === ref.apiVersion);
    if (!target) problems.push(`HPA ${h.metadata.name} targets ${ref.kind}/${ref.name}, which does not exist`);
    else if (target.spec.replicas !== undefined) problems.push(`${ref.name}: spec.replicas is set, so every apply resets what HPA ${h.metadata.name} chose`);
    if (h.spec.minReplicas < 2) problems.push(`HPA ${h.metadata.name}: minReplicas ${h.spec.minReplicas} (one replica is an outage at every restart)`);
  }
  for (const d of shopDeployments(objects)) {
    if (!hpas.some((h) => h.spec.scaleTargetRef.name === d.metadata.name)) problems.push(`${d.metadata.name} has no HPA`);
  }
  return problems;
}

async function partitionProblems(objects: K8sObject[]): Promise<string[]> {
  const problems: string[] = [];
  const workers = shopDeployments(objects).filter((d) => d.metadata.labels?.['app.kubernetes.io/component'] === 'worker');
  if (workers.length < 3) problems.push(`only ${workers.length} workers rendered`);
  for (const w of workers) {
    const consumed = await consumedTopics(w);
    const partitions = Math.min(...consumed.map((t) => partitionsInCode.get(t) ?? Infinity));
    if (!Number.isFinite(partitions)) problems.push(`${w.metadata.name}: consumes ${consumed.join(', ')}, not created by any process`);
    const hpa = find(objects, 'HorizontalPodAutoscaler').find((h) => h.spec.scaleTargetRef.name === w.metadata.name);
    if (hpa && hpa.spec.maxReplicas > partitions) problems.push(`HPA ${hpa.metadata.name}: maxReplicas ${hpa.spec.maxReplicas} > ${partitions} partitions of ${consumed.join(', ')}`);
  }
  return problems;
}

function pdbProblems(objects: K8sObject[]): string[] {
  const problems: string[] = [];
  const pdbs = find(objects, 'PodDisruptionBudget');
  const hpaMin = (name: string) => find(objects, 'HorizontalPodAutoscaler').find((h) => h.spec.scaleTargetRef.name === name)?.spec.minReplicas;
  for (const w of workloads(objects)) {
    const replicas = hpaMin(w.metadata.name) ?? w.spec.replicas ?? 1;
    if (replicas <= 1) continue;
    const labels = w.spec.template.metadata.labels;
    if (!pdbs.some((p) => matches(p.spec.selector.matchLabels ?? {}, labels))) problems.push(`${w.kind}/${w.metadata.name} (${replicas} replicas) has no PodDisruptionBudget`);
  }
  for (const p of pdbs) {
    if (!workloads(objects).some((w) => matches(p.spec.selector.matchLabels ?? {}, w.spec.template.metadata.labels))) problems.push(`PodDisruptionBudget ${p.metadata.name} selects no pods`);
  }
  return problems;
}

function kafkaProblems(objects: K8sObject[]): string[] {
  const problems: string[] = [];
  const kafka = find(objects, 'Kafka');
  if (kafka.length !== 1) return [`${kafka.length} Kafka resources`];
  const cluster = kafka[0]!.metadata.name;
  const pools = find(objects, 'KafkaNodePool').filter((p) => p.metadata.labels?.['strimzi.io/cluster'] === cluster);
  const count = (role: string) => pools.filter((p) => p.spec.roles.includes(role)).reduce((n, p) => n + p.spec.replicas, 0);
  if (count('broker') !== 3) problems.push(`${count('broker')} brokers, not 3`);
  if (count('controller') !== 3) problems.push(`${count('controller')} KRaft controllers, not 3`);
  const config = kafka[0]!.spec.kafka.config ?? {};
  const expected: Record<string, number> = { 'default.replication.factor': 3, 'min.insync.replicas': 2, 'offsets.topic.replication.factor': 3, 'transaction.state.log.replication.factor': 3, 'transaction.state.log.min.isr': 2 };
  for (const [key, value] of Object.entries(expected)) if (Number(config[key]) !== value) problems.push(`Kafka ${key} is ${config[key]}, not ${value}`);
  const declared = find(objects, 'KafkaTopic');
  for (const t of declared) {
    const name = t.spec.topicName ?? t.metadata.name;
    if (t.metadata.labels?.['strimzi.io/cluster'] !== cluster) problems.push(`KafkaTopic ${name} belongs to no cluster of this overlay`);
    if (t.spec.replicas !== 3) problems.push(`topic ${name}: replicas ${t.spec.replicas}, not 3`);
    if (t.spec.config?.['min.insync.replicas'] !== undefined && Number(t.spec.config['min.insync.replicas']) !== 2) problems.push(`topic ${name}: min.insync.replicas ${t.spec.config['min.insync.replicas']}`);
    if (!partitionsInCode.has(name)) problems.push(`topic ${name} is created by no process`);
    else if (t.spec.partitions !== partitionsInCode.get(name)) problems.push(`topic ${name}: ${t.spec.partitions} partitions, the code creates ${partitionsInCode.get(name)}`);
  }
  for (const name of partitionsInCode.keys()) {
    if (!declared.some((t) => (t.spec.topicName ?? t.metadata.name) === name)) problems.push(`topic ${name} (created by the code) has no KafkaTopic`);
  }
  return problems;
}

/** The labels Strimzi puts on the broker pods of a cluster (those the policies must select). */
const brokerPodLabels = (cluster: string) => ({ 'app.kubernetes.io/name': 'kafka', 'app.kubernetes.io/instance': cluster, 'strimzi.io/cluster': cluster, 'strimzi.io/kind': 'Kafka', 'strimzi.io/broker-role': 'true' });

/**
 * Who reaches a Kafka listener: Strimzi makes a NetworkPolicy per listener that admits
 * every pod of every namespace unless networkPolicyPeers are set, and every other policy
 * selecting the broker pods adds to it. Each listener names peers in the namespace only
 * (pod selectors, no namespaceSelector or ipBlock), those peers admit every process whose
 * catalog entry uses Kafka and no other kind (the BFF), and no other policy opens the
 * listener wider.
 */
function kafkaPeerProblems(objects: K8sObject[]): string[] {
  const problems: string[] = [];
  const kafka = find(objects, 'Kafka')[0];
  if (!kafka) return ['no Kafka'];
  const deployments = shopDeployments(objects);
  const labelsOf = (name: string) => deployments.find((d) => d.metadata.name === name)?.spec.template.metadata.labels as Record<string, string> | undefined;
  const listeners: any[] = kafka.spec.kafka.listeners ?? [];
  for (const l of listeners) {
    const peers: any[] = l.networkPolicyPeers ?? [];
    if (peers.length === 0) {
      problems.push(`Kafka listener ${l.name} (${l.port}) has no networkPolicyPeers: Strimzi's policy lets every pod of every namespace connect`);
      continue;
    }
    for (const p of peers) {
      if (p.namespaceSelector || p.ipBlock || !p.podSelector || isEmptySelector(p.podSelector)) problems.push(`Kafka listener ${l.name}: peer ${JSON.stringify(p)} is not a pod selector of this namespace`);
    }
    const admits = (labels: Record<string, string> | undefined) => labels !== undefined && peers.some((p) => p.podSelector && selects(p.podSelector, labels));
    for (const proc of processes()) {
      const labels = labelsOf(proc.name);
      if (!labels) continue;
      if (proc.uses.includes('kafka') && !admits(labels)) problems.push(`Kafka listener ${l.name}: ${proc.name} uses Kafka (catalog) but no peer admits it`);
      if (proc.kind === 'bff' && admits(labels)) problems.push(`Kafka listener ${l.name}: admits ${proc.name}, which does not use Kafka`);
    }
  }
  const ports = new Set(listeners.map((l) => l.port));
  const brokers = brokerPodLabels(kafka.metadata.name);
  for (const np of find(objects, 'NetworkPolicy').filter((n) => selects(n.spec.podSelector, brokers))) {
    for (const rule of np.spec.ingress ?? []) {
      const opens = !rule.ports || rule.ports.some((p: any) => ports.has(p.port));
      if (!opens) continue;
      const from: any[] = rule.from ?? [];
      if (from.length === 0 || from.some((p) => p.namespaceSelector || p.ipBlock || isEmptySelector(p.podSelector))) problems.push(`NetworkPolicy ${np.metadata.name} lets any pod reach a Kafka listener`);
    }
  }
  return problems;
}

/**
 * The BFF's edge behind ingress-nginx: its Envoy (the ConfigMap the bff Deployment mounts)
 * trusts exactly the one X-Forwarded-For hop of the ingress, and every policy on the BFF's
 * pods that opens the edge port admits the ingress-nginx namespace of site.env only, so
 * that no other pod can be the trusted hop and name any client address it likes.
 */
function edgeTrustProblems(objects: K8sObject[]): string[] {
  const problems: string[] = [];
  const bff = one(objects, 'Deployment', 'bff');
  const mounted = (podSpec(bff).volumes ?? []).map((v: any) => v.configMap?.name).filter(Boolean) as string[];
  const config = find(objects, 'ConfigMap').find((c) => mounted.includes(c.metadata.name) && c.data?.['envoy.yaml']);
  if (!config) return ['the bff Deployment mounts no Envoy ConfigMap'];
  const bootstrap = parseYaml(config.data!['envoy.yaml']!) as any;
  const edge = bootstrap.static_resources.listeners.find((l: any) => l.name === 'edge');
  const hops = edge?.filter_chains[0].filters[0].typed_config.xff_num_trusted_hops ?? 0;
  if (hops !== productionTrustedForwardHops) problems.push(`the BFF's Envoy (${config.metadata.name}) trusts ${hops} X-Forwarded-For hops, not ${productionTrustedForwardHops} (ingress-nginx): its rate limits count the ingress pods, not clients`);
  const labels = bff.spec.template.metadata.labels as Record<string, string>;
  for (const np of find(objects, 'NetworkPolicy').filter((n) => selects(n.spec.podSelector, labels))) {
    for (const rule of np.spec.ingress ?? []) {
      if (rule.ports && !rule.ports.some((p: any) => p.port === containerPorts.edge)) continue;
      const from: any[] = rule.from ?? [];
      const onlyIngress = from.length > 0 && from.every((p) => p.namespaceSelector?.matchLabels?.['kubernetes.io/metadata.name'] === siteEnv.INGRESS_NAMESPACE && !p.ipBlock);
      if (!onlyIngress) problems.push(`NetworkPolicy ${np.metadata.name} lets pods other than ingress-nginx's (namespace ${siteEnv.INGRESS_NAMESPACE}) reach the BFF's edge ${containerPorts.edge}`);
    }
  }
  return problems;
}

/** The Shop processes' ops port (/metrics, /healthz, /readyz) admits the monitoring namespace of site.env only. */
function metricsProblems(objects: K8sObject[]): string[] {
  const problems: string[] = [];
  const pods = shopDeployments(objects).map((d) => d.spec.template.metadata.labels as Record<string, string>);
  for (const np of find(objects, 'NetworkPolicy').filter((n) => pods.some((labels) => selects(n.spec.podSelector, labels)))) {
    for (const rule of np.spec.ingress ?? []) {
      if (rule.ports && !rule.ports.some((p: any) => p.port === containerPorts.ops)) continue;
      const from: any[] = rule.from ?? [];
      const onlyMonitoring = from.length > 0 && from.every((p) => p.namespaceSelector?.matchLabels?.['kubernetes.io/metadata.name'] === siteEnv.MONITORING_NAMESPACE && !p.ipBlock);
      if (!onlyMonitoring) problems.push(`NetworkPolicy ${np.metadata.name} lets pods outside the monitoring namespace (${siteEnv.MONITORING_NAMESPACE}) reach the ops port ${containerPorts.ops}`);
    }
  }
  return problems;
}

/** Ports of the Kubernetes API (the Service's 443; 6443 where the control plane listens). */
const apiServerPorts = new Set([443, 6443]);

/** Every egress to the Kubernetes API's ports goes to site.env's API server addresses only. */
function apiEgressProblems(objects: K8sObject[]): string[] {
  const problems: string[] = [];
  for (const np of find(objects, 'NetworkPolicy')) {
    for (const rule of np.spec.egress ?? []) {
      if (rule.ports && !rule.ports.some((p: any) => apiServerPorts.has(p.port))) continue;
      const to: any[] = rule.to ?? [];
      if (!rule.ports && to.some((p) => p.ipBlock)) problems.push(`NetworkPolicy ${np.metadata.name}: an ipBlock on every port`);
      const onlyApiServer = to.length > 0 && to.every((p) => p.ipBlock?.cidr === siteEnv.API_SERVER_CIDR && !p.podSelector && !p.namespaceSelector);
      if (rule.ports && !onlyApiServer) problems.push(`NetworkPolicy ${np.metadata.name} lets its pods reach ${to.length === 0 ? 'any address' : JSON.stringify(to)} on ${rule.ports.map((p: any) => p.port).join('/')}, not only the API server (${siteEnv.API_SERVER_CIDR})`);
    }
  }
  return problems;
}

/** Service databases, the catalog's: one per service, owned by its role shop_<name> (as init-databases.sql). */
const serviceDatabases = [...new Set(processes().flatMap((p) => (p.database ? [p.database] : [])))];

/**
 * What each process of the catalog (tools/catalog/catalog.ts) lacks in this overlay, named
 * with the overlay's file to add it to: the parts production lists per process by hand
 * (the base and the network policies follow the catalog by themselves).
 */
function catalogProblems(objects: K8sObject[]): string[] {
  const problems: string[] = [];
  const cluster = find(objects, 'Cluster')[0];
  const kafka = find(objects, 'Kafka')[0];
  const made = new Set(find(objects, 'ExternalSecret').map((es) => es.spec.target.name as string));
  for (const proc of processes()) {
    const lacks = (what: string, file: string) => problems.push(`${proc.name} (catalog) lacks ${what} (${file})`);
    const deployment = find(objects, 'Deployment', proc.name)[0];
    if (!deployment) {
      lacks('a Deployment', 'k8s/base: npm run generate:deploy');
      continue;
    }
    if (!find(objects, 'HorizontalPodAutoscaler').some((h) => h.spec.scaleTargetRef.name === proc.name)) lacks('an HPA', 'autoscaling.yaml');
    if (!find(objects, 'PodDisruptionBudget').some((p) => matches(p.spec.selector.matchLabels ?? {}, deployment.spec.template.metadata.labels))) lacks('a PodDisruptionBudget', 'autoscaling.yaml');
    const c = podSpec(deployment).containers[0];
    const env = envOf(c);
    for (const e of c.env ?? []) {
      const ref = e.valueFrom?.secretKeyRef;
      if (ref && !made.has(ref.name)) lacks(`an ExternalSecret making the Secret ${ref.name}`, 'external-secrets.yaml');
    }
    if (proc.uses.includes('kafka') && kafka && env.KAFKA_BROKERS !== `${kafka.metadata.name}-kafka-bootstrap:9092`) lacks(`KAFKA_BROKERS to Strimzi's bootstrap Service (it has ${env.KAFKA_BROKERS})`, 'endpoints.yaml, a block like cart-command\'s');
    if (proc.database && cluster) {
      const url = env.DATABASE_URL ?? '';
      if (!url.includes(`@${cluster.metadata.name}-rw:5432/${proc.database}?sslmode=verify-full`)) lacks(`DATABASE_URL to ${cluster.metadata.name}-rw over verified TLS with the CA mounted`, 'endpoints.yaml, a block like cart-command\'s');
      if (!find(objects, 'Database').some((d) => d.spec.name === proc.database)) lacks(`the Database ${proc.database}`, 'postgres.yaml');
      if (!(cluster.spec.managed?.roles ?? []).some((r: any) => r.name === `shop_${proc.database}`)) lacks(`the managed role shop_${proc.database}`, 'postgres.yaml');
      if (!(cluster.spec.postgresql?.pg_hba ?? []).includes(`hostssl ${proc.database} shop_${proc.database} all scram-sha-256`)) lacks(`a pg_hba line for shop_${proc.database}`, 'postgres.yaml');
    }
  }
  for (const secret of find(objects, 'Secret')) problems.push(`the base's Secret ${secret.metadata.name} is still rendered (kustomization.yaml: a $patch: delete; external-secrets.yaml makes it)`);
  return problems;
}

function postgresProblems(objects: K8sObject[]): string[] {
  const problems: string[] = [];
  const clusters = find(objects, 'Cluster');
  if (clusters.length !== 1) return [`${clusters.length} CloudNativePG Clusters`];
  const cluster = clusters[0]!;
  if (cluster.spec.instances !== 3) problems.push(`CloudNativePG instances ${cluster.spec.instances}, not 3`);
  const roles = cluster.spec.managed?.roles ?? [];
  for (const db of serviceDatabases) {
    const database = find(objects, 'Database').find((d) => d.spec.name === db);
    if (!database) problems.push(`no Database for ${db}`);
    else if (database.spec.owner !== `shop_${db}` || database.spec.cluster.name !== cluster.metadata.name) problems.push(`Database ${db}: owner ${database.spec.owner} in ${database.spec.cluster.name}`);
    const role = roles.find((r: any) => r.name === `shop_${db}`);
    if (!role || role.passwordSecret?.name !== `database-${db}` || role.login !== true) problems.push(`managed role shop_${db} missing, or not a login with the password of database-${db}`);
    if (!(cluster.spec.postgresql?.pg_hba ?? []).includes(`hostssl ${db} shop_${db} all scram-sha-256`)) problems.push(`pg_hba lets shop_${db} into ${db} by no line of its own`);
  }
  // Connections: every replica an HPA allows, plus a rolling update's surge (25%), each a full
  // pool and a LISTEN connection.
  let needed = 0;
  for (const d of shopDeployments(objects)) {
    const env = envOf(podSpec(d).containers[0]);
    if (!env.DATABASE_URL) continue;
    const max = find(objects, 'HorizontalPodAutoscaler').find((h) => h.spec.scaleTargetRef.name === d.metadata.name)?.spec.maxReplicas ?? 1;
    needed += Math.ceil(max * 1.25) * (Number(env.DATABASE_POOL_MAX ?? 10) + 1);
  }
  const maxConnections = Number(cluster.spec.postgresql?.parameters?.max_connections ?? 100);
  if (maxConnections < needed + 20) problems.push(`max_connections ${maxConnections} < ${needed} the processes may open + 20 for the operator and people`);
  return problems;
}

/**
 * Postgres only over TLS, the server verified: pg_hba admits no connection without TLS
 * (CloudNativePG's own default rule, host all all all, comes after the user's rules), and
 * every DATABASE_URL says sslmode=verify-full with sslrootcert, a file of the container
 * mounted from CloudNativePG's CA Secret with its ca.crt alone (never ca.key). What
 * node-postgres makes of the URL is checked too: its Client, with the file at a path of
 * the test, takes that CA as the only one trusted and keeps the hostname
 * check (nothing sets rejectUnauthorized or checkServerIdentity).
 */
function postgresTlsProblems(objects: K8sObject[]): string[] {
  const problems: string[] = [];
  const cluster = find(objects, 'Cluster')[0];
  if (!cluster) return ['no CloudNativePG Cluster'];
  const hba: string[] = cluster.spec.postgresql?.pg_hba ?? [];
  const allow = hba.filter((l) => !/\breject$/.test(l.trim()));
  for (const line of allow.filter((l) => !l.startsWith('hostssl '))) problems.push(`pg_hba: "${line}" admits connections without TLS`);
  if (!hba.includes('hostnossl all all all reject')) problems.push("pg_hba: no 'hostnossl all all all reject', so CloudNativePG's default rule admits connections without TLS");
  const caSecret = `${cluster.metadata.name}-ca`;
  const caDir = mkdtempSync(path.join(repoRoot, '.stack', 'production-ca-'));
  try {
    const caFile = path.join(caDir, 'ca.crt');
    writeFileSync(caFile, 'the CA certificate\n');
    for (const d of shopDeployments(objects)) {
      const c = podSpec(d).containers[0];
      const url = envOf(c).DATABASE_URL;
      if (url === undefined) continue;
      const params = new URL(url.replace(/\$\(\w+\)/g, 'x')).searchParams;
      if (params.get('sslmode') !== 'verify-full') problems.push(`${d.metadata.name}: DATABASE_URL sslmode ${params.get('sslmode')}, not verify-full`);
      const rootCert = params.get('sslrootcert');
      if (!rootCert) {
        problems.push(`${d.metadata.name}: DATABASE_URL has no sslrootcert`);
        continue;
      }
      const mount = (c.volumeMounts ?? []).find((m: any) => rootCert.startsWith(`${m.mountPath}/`));
      const volume = mount && (podSpec(d).volumes ?? []).find((v: any) => v.name === mount.name);
      const items: any[] = volume?.secret?.items ?? [];
      const file = mount && rootCert.slice(mount.mountPath.length + 1);
      if (volume?.secret?.secretName !== caSecret || !items.some((i) => i.key === 'ca.crt' && i.path === file)) problems.push(`${d.metadata.name}: sslrootcert ${rootCert} is not ca.crt of the Secret ${caSecret} mounted in the container`);
      if (volume?.secret && (items.length === 0 || items.some((i) => i.key !== 'ca.crt'))) problems.push(`${d.metadata.name}: mounts more of ${volume.secret.secretName} than ca.crt (its ca.key signs any server certificate)`);
      // The client the platform's pool makes (it connects only when asked to).
      const parsed = new pg.Client({ connectionString: url.replace(rootCert, caFile) }) as unknown as { ssl?: any; host?: string };
      if (parsed.ssl?.ca !== 'the CA certificate\n' || parsed.ssl.rejectUnauthorized === false || parsed.ssl.checkServerIdentity) problems.push(`${d.metadata.name}: node-postgres would not verify the server with that CA alone (${JSON.stringify(parsed.ssl)})`);
      if (parsed.host !== `${cluster.metadata.name}-rw`) problems.push(`${d.metadata.name}: host ${parsed.host} is not a name of CloudNativePG's server certificate`);
    }
  } finally {
    rmSync(caDir, { recursive: true, force: true });
  }
  return problems;
}

function natsProblems(objects: K8sObject[]): string[] {
  const problems: string[] = [];
  const nats = find(objects, 'StatefulSet', 'nats');
  if (nats.length !== 1) return [`${nats.length} NATS StatefulSets`];
  const set = nats[0]!;
  if (set.spec.replicas !== 3) problems.push(`NATS replicas ${set.spec.replicas}, not 3`);
  const args: string[] = podSpec(set).containers[0].args ?? [];
  const routes = args.find((a) => a.startsWith('--routes='))?.slice('--routes='.length).split(',') ?? [];
  for (let i = 0; i < 3; i++) if (!routes.includes(`nats://nats-${i}.${set.spec.serviceName}:6222`)) problems.push(`NATS routes miss nats-${i}`);
  if (!args.some((a) => a.startsWith('--cluster='))) problems.push('NATS without --cluster');
  if (!args.includes('--jetstream')) problems.push('NATS without JetStream (the base runs it with -js)');
  const headless = find(objects, 'Service', set.spec.serviceName)[0];
  if (headless?.spec.clusterIP !== 'None') problems.push(`no headless Service ${set.spec.serviceName} for the routes`);
  const client = find(objects, 'Service', 'nats')[0];
  if (!client || !matches(client.spec.selector, set.spec.template.metadata.labels)) problems.push('Service nats does not select the NATS pods');
  return problems;
}

function ingressProblems(objects: K8sObject[]): string[] {
  const problems: string[] = [];
  const ingresses = find(objects, 'Ingress');
  if (ingresses.length === 0) return ['no Ingress'];
  for (const ing of ingresses) {
    const hosts: string[] = ing.spec.rules.map((r: any) => r.host);
    const tls: any[] = ing.spec.tls ?? [];
    if (ing.spec.ingressClassName !== 'nginx') problems.push(`Ingress ${ing.metadata.name}: class ${ing.spec.ingressClassName}`);
    for (const host of hosts) {
      const entry = tls.find((t) => t.hosts?.includes(host));
      if (!entry) {
        problems.push(`Ingress ${ing.metadata.name}: no TLS for ${host}`);
        continue;
      }
      const cert = find(objects, 'Certificate').find((c) => c.spec.secretName === entry.secretName);
      if (!cert?.spec.dnsNames.includes(host)) problems.push(`Ingress ${ing.metadata.name}: no cert-manager Certificate for ${host} into ${entry.secretName}`);
    }
    for (const rule of ing.spec.rules) {
      for (const p of rule.http.paths) {
        const svc = find(objects, 'Service', p.backend.service.name)[0];
        if (!svc?.spec.ports.some((port: any) => port.name === p.backend.service.port.name || port.port === p.backend.service.port.number)) problems.push(`Ingress ${ing.metadata.name}: backend ${p.backend.service.name} has no such port`);
        const edge = svc && find(objects, 'Deployment').find((d) => matches(svc.spec.selector, d.spec.template.metadata.labels));
        if (edge?.metadata.name !== 'bff') problems.push(`Ingress ${ing.metadata.name}: backend is not the BFF pod's Envoy edge`);
      }
    }
  }
  return problems;
}

function endpointProblems(objects: K8sObject[]): string[] {
  const problems: string[] = [];
  const kafka = find(objects, 'Kafka')[0]?.metadata.name;
  const cluster = find(objects, 'Cluster')[0]?.metadata.name;
  for (const d of shopDeployments(objects)) {
    const env = envOf(podSpec(d).containers[0]);
    if (env.DATABASE_URL !== undefined) {
      const host = /@([^:/]+):(\d+)\//.exec(env.DATABASE_URL)?.[1];
      if (host !== `${cluster}-rw`) problems.push(`${d.metadata.name}: DATABASE_URL host ${host}, not ${cluster}-rw`);
    }
    if (env.KAFKA_BROKERS !== undefined && env.KAFKA_BROKERS !== `${kafka}-kafka-bootstrap:9092`) problems.push(`${d.metadata.name}: KAFKA_BROKERS ${env.KAFKA_BROKERS}`);
    if (env.NATS_URL !== undefined && env.NATS_URL !== 'nats://nats:4222') problems.push(`${d.metadata.name}: NATS_URL ${env.NATS_URL}`);
  }
  return problems;
}

/** Every secretKeyRef of a workload is a key of a Secret that an ExternalSecret makes. */
function secretProblems(objects: K8sObject[]): string[] {
  const problems: string[] = [];
  const made = new Map<string, Set<string>>();
  for (const es of find(objects, 'ExternalSecret')) {
    const keys = es.spec.target.template?.data ? Object.keys(es.spec.target.template.data) : (es.spec.data ?? []).map((d: any) => d.secretKey);
    made.set(es.spec.target.name, new Set(keys));
    // A SecretStore of the ExternalSecret's own namespace: a ClusterSecretStore would serve every namespace.
    if (es.spec.secretStoreRef.kind !== 'SecretStore' || es.spec.secretStoreRef.name !== siteEnv.SECRET_STORE) problems.push(`ExternalSecret ${es.metadata.name}: reads ${es.spec.secretStoreRef.kind} ${es.spec.secretStoreRef.name}, not the namespace's SecretStore of site.env`);
  }
  for (const w of workloads(objects)) {
    for (const c of containers(w)) {
      for (const e of c.env ?? []) {
        const ref = e.valueFrom?.secretKeyRef;
        if (ref && !made.get(ref.name)?.has(ref.key)) problems.push(`${w.metadata.name}/${c.name}: ${e.name} from Secret ${ref.name} key ${ref.key}, which no ExternalSecret makes`);
      }
    }
  }
  for (const role of find(objects, 'Cluster').flatMap((c) => c.spec.managed?.roles ?? [])) {
    const keys = made.get(role.passwordSecret?.name);
    if (!keys?.has('username') || !keys.has('password')) problems.push(`role ${role.name}: Secret ${role.passwordSecret?.name} has no username and password`);
  }
  return problems;
}

/**
 * What the secret store would hold, in the shapes the processes demand in production: a
 * fresh Ed25519 key and its JWKS, random 48-character keys and passwords.
 */
function storeValues(): Record<string, string> {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const secret = () => randomBytes(24).toString('hex');
  return {
    password: secret(),
    ADMIN_API_KEY: secret(),
    SERVICE_TOKEN_KEY: secret(),
    JWT_PRIVATE_KEY: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    JWT_KEY_ID: 'prod-1',
    AUTH_JWKS: JSON.stringify({ keys: [{ ...publicKey.export({ format: 'jwk' }), kid: 'prod-1', alg: 'EdDSA' }] }),
  };
}

/** A Secret's data as its ExternalSecret makes it from the store (templates: {{ .property }}). */
function externalSecretData(es: K8sObject, store: Record<string, string>): Record<string, string> {
  const fetched = Object.fromEntries((es.spec.data ?? []).map((d: any) => [d.secretKey, store[d.remoteRef.property] ?? '']));
  const template = es.spec.target.template?.data as Record<string, string> | undefined;
  if (!template) return fetched;
  return Object.fromEntries(Object.entries(template).map(([k, v]) => [k, v.replace(/\{\{\s*\.(\w+)\s*\}\}/g, (_, name: string) => fetched[name] ?? '')]));
}

/** Every Shop process's own config.ts accepts the environment it gets here, secrets included. */
async function configProblems(objects: K8sObject[]): Promise<string[]> {
  const problems: string[] = [];
  const store = storeValues();
  const secrets = new Map(find(objects, 'ExternalSecret').map((es) => [es.spec.target.name as string, externalSecretData(es, store)]));
  for (const d of shopDeployments(objects)) {
    const env: Record<string, string> = {};
    for (const e of podSpec(d).containers[0].env ?? []) {
      if ('value' in e) env[e.name] = String(e.value).replace(/\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g, (ref, name: string) => env[name] ?? ref);
      const ref = e.valueFrom?.secretKeyRef;
      const value = ref && secrets.get(ref.name)?.[ref.key];
      if (value !== undefined) env[e.name] = value;
    }
    try {
      loadConfig(await configOf(d), env);
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      problems.push(...err.problems.map((p) => `${d.metadata.name}: ${p}`));
    }
  }
  return problems;
}

// Schemas ---------------------------------------------------------------------------------

const builtInApiVersions = new Set(['v1', 'apps/v1', 'autoscaling/v2', 'policy/v1', 'networking.k8s.io/v1', 'batch/v1', 'rbac.authorization.k8s.io/v1']);

async function builtInSchemaProblems(objects: K8sObject[]): Promise<string[]> {
  const dir = mkdtempSync(path.join(repoRoot, '.stack', 'production-validate-'));
  try {
    const file = path.join(dir, 'built-in.yaml');
    writeFileSync(file, objects.filter((o) => builtInApiVersions.has(o.apiVersion)).map((o) => JSON.stringify(o)).join('\n---\n'));
    const r = await run(kubernetesValidateBinary(), ['--kubernetes-version', kubernetesVersion, '--strict', '--quiet', file], { maxBuffer: 64 * 1024 * 1024 }).then(
      (ok) => ({ ...ok, code: 0 }),
      (err: { stdout?: string; stderr?: string; code?: number }) => ({ stdout: err.stdout ?? '', stderr: err.stderr ?? '', code: err.code ?? 1 }),
    );
    const lines = `${r.stdout}\n${r.stderr}`.split('\n').filter((l) => /FAIL|ERROR/.test(l));
    return r.code === 0 && lines.length === 0 ? [] : lines.length > 0 ? lines : [`kubernetes-validate exited ${r.code}`];
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * A CRD's openAPIV3Schema as the API server applies it to a create with strict field
 * validation (kubectl's default): unknown fields are errors wherever the schema does not
 * preserve them; OpenAPI's nullable and int-or-string in JSON-schema terms.
 */
function structural(schema: any): any {
  if (Array.isArray(schema)) return schema.map(structural);
  if (schema === null || typeof schema !== 'object') return schema;
  const out: any = {};
  for (const [k, v] of Object.entries(schema)) out[k] = k === 'enum' || k === 'required' ? v : structural(v);
  if (out.properties && out.additionalProperties === undefined && !out['x-kubernetes-preserve-unknown-fields']) out.additionalProperties = false;
  if (out['x-kubernetes-int-or-string'] && !out.anyOf && !out.type) out.anyOf = [{ type: 'integer' }, { type: 'string' }];
  if (out.nullable === true && typeof out.type === 'string') out.type = [out.type, 'null'];
  return out;
}

type CrdSchemas = Map<string, any>;
const crdKey = (apiVersion: string, kind: string) => `${apiVersion}/${kind}`;

function loadCrdSchemas(groups: typeof crdGroups): CrdSchemas {
  const schemas: CrdSchemas = new Map();
  for (const group of groups) {
    for (const file of crdFiles(group)) {
      for (const crd of parse(readFileSync(file, 'utf8'))) {
        if (crd.kind !== 'CustomResourceDefinition') continue;
        for (const v of crd.spec.versions.filter((x: any) => x.served)) {
          schemas.set(crdKey(`${crd.spec.group}/${v.name}`, crd.spec.names.kind), structural(v.schema.openAPIV3Schema));
        }
      }
    }
  }
  return schemas;
}

/** Validates with the deploy virtualenv's jsonschema (Draft 4, OpenAPI 3.0's base). */
const validatorScript = `
import json, sys
from jsonschema import Draft4Validator
out = []
for job in json.load(open(sys.argv[1])):
    for e in Draft4Validator(job["schema"]).iter_errors(job["object"]):
        out.append("%s: %s: %s" % (job["where"], "/".join(map(str, e.absolute_path)), e.message[:300]))
print(json.dumps(out))
`;

async function customResourceProblems(objects: K8sObject[], schemas: CrdSchemas, apiGroups: string[]): Promise<string[]> {
  const problems: string[] = [];
  const jobs: { where: string; schema: any; object: K8sObject }[] = [];
  for (const o of objects.filter((x) => apiGroups.includes(x.apiVersion.split('/')[0]!))) {
    const schema = schemas.get(crdKey(o.apiVersion, o.kind));
    if (!schema) problems.push(`${o.apiVersion} ${o.kind}/${o.metadata.name}: no served CRD version has this kind`);
    else jobs.push({ where: `${o.kind}/${o.metadata.name}`, schema, object: o });
  }
  const dir = mkdtempSync(path.join(repoRoot, '.stack', 'production-crs-'));
  try {
    writeFileSync(path.join(dir, 'jobs.json'), JSON.stringify(jobs));
    writeFileSync(path.join(dir, 'validate.py'), validatorScript);
    const { stdout } = await run(path.join(deployVenv, 'bin', 'python'), [path.join(dir, 'validate.py'), path.join(dir, 'jobs.json')], { maxBuffer: 64 * 1024 * 1024 });
    return [...problems, ...(JSON.parse(stdout) as string[])];
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

// Set-up: validators, CRDs and one render, before the tests are declared ------------------

mkdirSync(path.join(repoRoot, '.stack'), { recursive: true });
await installValidators();
const crdFailures = await installCrds();
const installedGroups = crdGroups.filter((g) => !crdFailures.has(g.name));
const crdSchemas = loadCrdSchemas(installedGroups);
const rendered = await render();
const customGroups = [...new Set(rendered.objects.map((o) => o.apiVersion.split('/')[0]!).filter((g) => !builtInApiVersions.has(g) && g.includes('.') && !g.endsWith('k8s.io')))];

// Rendering -------------------------------------------------------------------------------

test('without site.env the overlay does not render, and says so', async (t) => {
  const err = await inCopy((dir) => kustomize(dir).then(() => undefined, (e: Error) => e));
  t.truthy(err, 'rendered without site.env');
  t.regex(String((err as { stderr?: string })?.stderr ?? err), /site\.env/);
});

test('site.env.example copied unchanged does not render: it names the first missing value', async (t) => {
  const err = await inCopy(async (dir) => {
    writeFileSync(path.join(dir, 'site.env'), readFileSync(path.join(dir, 'site.env.example'), 'utf8'));
    return kustomize(dir).then(() => undefined, (e: { stderr?: string }) => e.stderr ?? String(e));
  });
  t.regex(String(err), /data\.SHOP_IMAGE. is missing/);
});

test('the production overlay renders every part: operators\' resources, NATS, secrets, ingress, autoscaling, policies', (t) => {
  const kinds = new Set(rendered.objects.map((o) => o.kind));
  for (const kind of ['Kafka', 'KafkaNodePool', 'KafkaTopic', 'Cluster', 'Database', 'StatefulSet', 'ExternalSecret', 'Ingress', 'Certificate', 'HorizontalPodAutoscaler', 'PodDisruptionBudget', 'NetworkPolicy']) {
    t.true(kinds.has(kind), `no ${kind}`);
  }
  // The base's single-instance infrastructure is gone.
  for (const [kind, name] of [['StatefulSet', 'postgres'], ['StatefulSet', 'kafka'], ['Deployment', 'nats'], ['Service', 'postgres'], ['Service', 'kafka']] as const) {
    t.is(find(rendered.objects, kind, name).length, 0, `${kind}/${name} is still there`);
  }
  for (const o of rendered.objects.filter((x) => x.kind !== 'Namespace')) t.is(o.metadata.namespace, 'shop', `${o.kind}/${o.metadata.name}`);
  t.true(find(rendered.objects, 'NetworkPolicy', 'default-deny').length === 1, 'the network policies component is included');
});

// Schemas ---------------------------------------------------------------------------------

test('every built-in object validates against the Kubernetes 1.32 schemas (strict)', async (t) => {
  t.timeout(5 * 60_000);
  t.deepEqual(await builtInSchemaProblems(rendered.objects), []);
});

for (const group of crdGroups) {
  const failure = crdFailures.get(group.name);
  const title = `${group.apiGroups.join(', ')} resources validate against ${group.name} ${group.version}'s CRD schemas`;
  if (failure) {
    test.skip(`${title} (skipped: the CRDs could not be installed: ${failure})`, () => {});
    continue;
  }
  test(title, async (t) => {
    const mine = rendered.objects.filter((o) => group.apiGroups.includes(o.apiVersion.split('/')[0]!));
    t.true(mine.length > 0, `the overlay has no ${group.apiGroups.join(', ')} resource`);
    t.deepEqual(await customResourceProblems(rendered.objects, crdSchemas, group.apiGroups), []);
  });
}

test('every custom resource of the overlay belongs to an operator whose CRDs are checked', (t) => {
  const covered = new Set(crdGroups.flatMap((g) => g.apiGroups));
  t.deepEqual(customGroups.filter((g) => !covered.has(g)), []);
});

// Properties ------------------------------------------------------------------------------

test('no REPLACE-ME, development-only or placeholder value anywhere; no Secret rendered; production settings', (t) => {
  t.deepEqual(placeholderProblems(rendered.text, rendered.objects), []);
});

test('every container image (and the Postgres image) is pinned by digest; the Shop image is the one site.env names', (t) => {
  t.deepEqual(imageProblems(rendered.objects), []);
});

test('every Shop process has an HPA targeting its existing Deployment, whose replicas the HPA alone decides', (t) => {
  t.deepEqual(hpaProblems(rendered.objects), []);
});

test("a projector's or worker's maxReplicas is at most its topic's partitions (from the code)", async (t) => {
  t.deepEqual(await partitionProblems(rendered.objects), []);
});

test('every workload with more than one replica has a PodDisruptionBudget, and every PDB selects pods', (t) => {
  t.deepEqual(pdbProblems(rendered.objects), []);
});

test("Kafka: 3 brokers, 3 controllers, replication factor 3, min.insync.replicas 2, every topic of the code declared with the code's partitions", (t) => {
  t.deepEqual(kafkaProblems(rendered.objects), []);
  t.true(find(rendered.objects, 'KafkaTopic').length >= 12);
});

test("Kafka's listeners admit only the processes that use Kafka (Strimzi's networkPolicyPeers and every policy on the brokers)", (t) => {
  t.deepEqual(kafkaPeerProblems(rendered.objects), []);
});

test(`the BFF's Envoy of the overlay is ${productionBffEnvoyFile} as tools/deploy/production-envoy.ts renders it`, (t) => {
  t.is(readFileSync(path.join(repoRoot, productionBffEnvoyFile), 'utf8'), renderProductionBffEnvoy(), `stale: run ${productionBffEnvoyCommand}`);
});

test("the BFF's edge trusts ingress-nginx's X-Forwarded-For hop, and only ingress-nginx's namespace reaches it", (t) => {
  t.deepEqual(edgeTrustProblems(rendered.objects), []);
});

test("the Shop processes' /metrics port admits only the monitoring namespace of site.env", (t) => {
  t.deepEqual(metricsProblems(rendered.objects), []);
});

test("the operators' pods reach the Kubernetes API's ports at the API server's addresses of site.env only", (t) => {
  t.deepEqual(apiEgressProblems(rendered.objects), []);
});

test('site.env without API_SERVER_CIDR does not render: it names the key', async (t) => {
  const { API_SERVER_CIDR: _left, ...site } = siteEnv;
  const err = await render({}, site).then(() => undefined, (e: { stderr?: string }) => e.stderr ?? String(e));
  t.regex(String(err), /data\.API_SERVER_CIDR. is missing/);
});

test('Postgres: 3 CloudNativePG instances, a database and a role per service, max_connections above what the pools can open', (t) => {
  t.deepEqual(postgresProblems(rendered.objects), []);
});

test('Postgres only over TLS: pg_hba refuses plaintext, every DATABASE_URL verifies the server with the CloudNativePG CA (ca.crt alone mounted)', (t) => {
  t.deepEqual(postgresTlsProblems(rendered.objects), []);
});

test('NATS: 3 replicas routed to each other, JetStream on, behind the Service nats', (t) => {
  t.deepEqual(natsProblems(rendered.objects), []);
});

test('the Ingress has TLS for its host with a cert-manager Certificate, to the BFF pod\'s Envoy edge', (t) => {
  t.deepEqual(ingressProblems(rendered.objects), []);
});

test("every process's DATABASE_URL, KAFKA_BROKERS and NATS_URL point at the operators' and the NATS cluster's Services", (t) => {
  t.deepEqual(endpointProblems(rendered.objects), []);
});

test('every process of the catalog has what production adds per process (its HPA, PDB, endpoints, database, role and secrets)', (t) => {
  t.deepEqual(catalogProblems(rendered.objects), []);
});

test('every Shop process starts: its own config.ts accepts the environment it gets, with the secrets the store would give', async (t) => {
  t.deepEqual(await configProblems(rendered.objects), []);
});

test("every secret a container reads is made by an ExternalSecret from the namespace's SecretStore of site.env (no ClusterSecretStore)", (t) => {
  t.deepEqual(secretProblems(rendered.objects), []);
});

// Each check on a deliberately broken overlay ----------------------------------------------

type Breakage = {
  what: string;
  edit?: Record<string, (text: string) => string>;
  site?: Record<string, string>;
  check: (r: { text: string; objects: K8sObject[] }) => Promise<string[]> | string[];
  expect: RegExp;
  /** The CRD group (install-crds.ts) the check validates against: skipped, saying why, when it could not be installed. */
  crdGroup?: string;
};
const replace = (from: string | RegExp, to: string) => (text: string) => text.replace(from, to);
const breakages: Breakage[] = [
  { what: 'a misspelt field of a built-in object', edit: { 'nats.yaml': replace('podManagementPolicy:', 'podManagementPolicyy:') }, check: (r) => builtInSchemaProblems(r.objects), expect: /FAIL|ERROR|podManagementPolicyy/ },
  { what: 'a misspelt CloudNativePG field', edit: { 'postgres.yaml': replace('enableSuperuserAccess:', 'enableSuperuserAcess:') }, check: (r) => customResourceProblems(r.objects, crdSchemas, ['postgresql.cnpg.io']), expect: /enableSuperuserAcess/, crdGroup: 'cloudnative-pg' },
  { what: 'a KafkaTopic with partitions as text', edit: { 'kafka.yaml': replace('partitions: 1', 'partitions: one') }, check: (r) => customResourceProblems(r.objects, crdSchemas, ['kafka.strimzi.io']), expect: /partitions: 'one' is not of type 'integer'/, crdGroup: 'strimzi' },
  { what: 'an ExternalSecret without its store kind', edit: { 'external-secrets.yaml': replace('kind: SecretStore', 'kind: NamespaceStore') }, check: (r) => customResourceProblems(r.objects, crdSchemas, ['external-secrets.io']), expect: /NamespaceStore/, crdGroup: 'external-secrets' },
  { what: 'a Certificate with an unknown field', edit: { 'ingress.yaml': replace('rotationPolicy: Always', 'rotation: Always') }, check: (r) => customResourceProblems(r.objects, crdSchemas, ['cert-manager.io']), expect: /rotation/, crdGroup: 'cert-manager' },
  { what: 'a placeholder host in site.env', site: { ...siteEnv, HOST: 'REPLACE-ME.example.com' }, check: (r) => placeholderProblems(r.text, r.objects), expect: /REPLACE-ME/ },
  { what: 'the Shop image by tag', site: { ...siteEnv, SHOP_IMAGE: 'registry.example.com/shop:latest' }, check: (r) => imageProblems(r.objects), expect: /not pinned by digest/ },
  { what: 'an HPA on a Deployment that does not exist', edit: { 'autoscaling.yaml': replace('    name: product\n', '    name: produkt\n') }, check: (r) => hpaProblems(r.objects), expect: /targets Deployment\/produkt, which does not exist/ },
  { what: 'a projector allowed more replicas than partitions', edit: { 'autoscaling.yaml': replace(/(name: cart-projector\n  minReplicas: 2\n  maxReplicas: )3/, '$14') }, check: (r) => partitionProblems(r.objects), expect: /cart-projector: maxReplicas 4 > 3 partitions of shop\.cart\.events/ },
  { what: 'a PDB that selects nothing', edit: { 'autoscaling.yaml': replace('      app.kubernetes.io/name: bff', '      app.kubernetes.io/name: bf') }, check: (r) => pdbProblems(r.objects), expect: /PodDisruptionBudget bff selects no pods/ },
  { what: 'two brokers', edit: { 'kafka.yaml': replace(/(name: brokers\n[\s\S]*?replicas: )3/, '$12') }, check: (r) => kafkaProblems(r.objects), expect: /2 brokers, not 3/ },
  { what: 'min.insync.replicas 1', edit: { 'kafka.yaml': replace('      min.insync.replicas: 2', '      min.insync.replicas: 1') }, check: (r) => kafkaProblems(r.objects), expect: /min\.insync\.replicas is 1, not 2/ },
  { what: 'a topic of the code left out', edit: { 'kafka.yaml': replace(/---\napiVersion: kafka.strimzi.io\/v1\nkind: KafkaTopic\nmetadata:\n  name: shop\.reports\.dlq\n[\s\S]*?min\.insync\.replicas: 2\n/, '') }, check: (r) => kafkaProblems(r.objects), expect: /shop\.reports\.dlq \(created by the code\) has no KafkaTopic/ },
  { what: 'a Kafka listener without peers', edit: { 'kafka.yaml': replace(/        networkPolicyPeers:\n[\s\S]*?values: \[grpc-service, worker\]\n/, '') }, check: (r) => kafkaPeerProblems(r.objects), expect: /listener plain \(9092\) has no networkPolicyPeers/ },
  { what: 'Kafka peers that leave out the workers', edit: { 'kafka.yaml': replace('values: [grpc-service, worker]', 'values: [grpc-service]') }, check: (r) => kafkaPeerProblems(r.objects), expect: /cart-projector uses Kafka \(catalog\) but no peer admits it/ },
  { what: 'the component\'s kafka policy left open to the namespace', edit: { 'kustomization.yaml': replace(/  - target:\n      kind: NetworkPolicy\n      name: kafka\n[\s\S]*?values: \[grpc-service, worker\]\n/, '') }, check: (r) => kafkaPeerProblems(r.objects), expect: /NetworkPolicy kafka lets any pod reach a Kafka listener/ },
  { what: "the base's BFF Envoy (no trusted hop)", edit: { 'kustomization.yaml': replace('  - name: bff-envoy\n    behavior: replace\n    files:\n      - envoy.yaml=bff-envoy.yaml\n', '') }, check: (r) => edgeTrustProblems(r.objects), expect: /trusts 0 X-Forwarded-For hops, not 1/ },
  { what: "the BFF's edge open to every pod", edit: { 'kustomization.yaml': replace('                kubernetes.io/metadata.name: INGRESS_NAMESPACE-from-site.env\n', '                kubernetes.io/metadata.name: INGRESS_NAMESPACE-from-site.env\n          - podSelector: {}\n') }, check: (r) => edgeTrustProblems(r.objects), expect: /NetworkPolicy bff lets pods other than ingress-nginx's/ },
  { what: "the topic operator's API egress to anywhere", edit: { 'network-policies.yaml': replace('  egress:\n    - to:\n        - ipBlock:\n            cidr: API_SERVER_CIDR-from-site.env\n      ports:\n        - protocol: TCP\n          port: 443', '  egress:\n    - ports:\n        - protocol: TCP\n          port: 443'), 'kustomization.yaml': replace('      - select:\n          kind: NetworkPolicy\n          name: kafka-entity-operator\n        fieldPaths:\n          - spec.egress.0.to.0.ipBlock.cidr\n', '') }, check: (r) => apiEgressProblems(r.objects), expect: /NetworkPolicy kafka-entity-operator lets its pods reach any address on 443\/6443/ },
  { what: 'metrics open to every namespace', edit: { 'kustomization.yaml': replace('                kubernetes.io/metadata.name: MONITORING_NAMESPACE-from-site.env\n', '                kubernetes.io/metadata.name: MONITORING_NAMESPACE-from-site.env\n          - namespaceSelector: {}\n') }, check: (r) => metricsProblems(r.objects), expect: /NetworkPolicy metrics lets pods outside the monitoring namespace/ },
  { what: 'a pg_hba line without TLS', edit: { 'postgres.yaml': replace('- hostssl cart shop_cart', '- host cart shop_cart') }, check: (r) => postgresTlsProblems(r.objects), expect: /pg_hba: "host cart shop_cart all scram-sha-256" admits connections without TLS/ },
  { what: "CloudNativePG's default rule left to admit plaintext", edit: { 'postgres.yaml': replace('      - hostnossl all all all reject\n', '') }, check: (r) => postgresTlsProblems(r.objects), expect: /no 'hostnossl all all all reject'/ },
  { what: 'a DATABASE_URL with sslmode=require', edit: { 'endpoints.yaml': replace('5432/payment?sslmode=verify-full', '5432/payment?sslmode=require') }, check: (r) => postgresTlsProblems(r.objects), expect: /payment: DATABASE_URL sslmode require, not verify-full/ },
  { what: "the whole CA Secret mounted (ca.key too)", edit: { 'endpoints.yaml': replace('          secretName: shop-postgres-ca\n          items:\n          - key: ca.crt\n            path: ca.crt\n', '          secretName: shop-postgres-ca\n') }, check: (r) => postgresTlsProblems(r.objects), expect: /mounts more of shop-postgres-ca than ca\.crt/ },
  {
    what: 'a process of the catalog left out of the overlay (reports: no HPA, no endpoints block)',
    edit: {
      'autoscaling.yaml': replace(/---\napiVersion: autoscaling\/v2\nkind: HorizontalPodAutoscaler\nmetadata:\n  name: reports\n[\s\S]*?averageUtilization: 70\n/, ''),
      'endpoints.yaml': replace(/---\napiVersion: apps\/v1\nkind: Deployment\nmetadata:\n  name: reports\n[\s\S]*?(?=---\n)/, ''),
    },
    check: (r) => catalogProblems(r.objects),
    expect: /^reports \(catalog\) lacks an HPA \(autoscaling\.yaml\)$/,
  },
  { what: 'a catalog process whose endpoints block is missing', edit: { 'endpoints.yaml': replace(/---\napiVersion: apps\/v1\nkind: Deployment\nmetadata:\n  name: reports\n[\s\S]*?(?=---\n)/, '') }, check: (r) => catalogProblems(r.objects), expect: /^reports \(catalog\) lacks DATABASE_URL to shop-postgres-rw over verified TLS with the CA mounted \(endpoints\.yaml/ },
  { what: 'one Postgres instance', edit: { 'postgres.yaml': replace('instances: 3', 'instances: 1') }, check: (r) => postgresProblems(r.objects), expect: /instances 1, not 3/ },
  { what: 'max_connections too small for the pools', edit: { 'postgres.yaml': replace('max_connections: "500"', 'max_connections: "200"') }, check: (r) => postgresProblems(r.objects), expect: /max_connections 200 </ },
  { what: 'one NATS server', edit: { 'nats.yaml': replace('replicas: 3', 'replicas: 1') }, check: (r) => natsProblems(r.objects), expect: /NATS replicas 1, not 3/ },
  { what: 'an Ingress without TLS', edit: { 'ingress.yaml': replace(/  tls:\n    - hosts:\n        - HOST-from-site\.env\n      secretName: shop-tls\n/, ''), 'kustomization.yaml': replace('          - spec.tls.0.hosts.0\n', '') }, check: (r) => ingressProblems(r.objects), expect: /no TLS for shop\.example\.com/ },
  { what: 'a process left on the base\'s Postgres', edit: { 'endpoints.yaml': replace('@shop-postgres-rw:5432/payment', '@postgres:5432/payment') }, check: (r) => endpointProblems(r.objects), expect: /payment: DATABASE_URL host postgres, not shop-postgres-rw/ },
  { what: 'a DATABASE_URL the process refuses', edit: { 'endpoints.yaml': replace('postgres://shop_order:$(DATABASE_PASSWORD)@shop-postgres-rw:5432/order', 'shop-postgres-rw:5432/order') }, check: (r) => configProblems(r.objects), expect: /^order: DATABASE_URL/ },
  { what: 'an ExternalSecret reading a ClusterSecretStore', edit: { 'external-secrets.yaml': replace('    kind: SecretStore\n', '    kind: ClusterSecretStore\n') }, check: (r) => secretProblems(r.objects), expect: /reads ClusterSecretStore shop-secrets, not the namespace's SecretStore/ },
  { what: 'a secret key no ExternalSecret makes', edit: { 'external-secrets.yaml': replace('    - secretKey: ADMIN_API_KEY', '    - secretKey: ADMIN_KEY') }, check: (r) => secretProblems(r.objects), expect: /ADMIN_API_KEY from Secret bff-secrets key ADMIN_API_KEY, which no ExternalSecret makes/ },
];

for (const b of breakages) {
  if (b.crdGroup !== undefined && !crdGroups.some((g) => g.name === b.crdGroup)) throw new Error(`breakage '${b.what}': no CRD group ${b.crdGroup} in install-crds.ts`);
  const failure = b.crdGroup === undefined ? undefined : crdFailures.get(b.crdGroup);
  (failure ? test.skip : test)(`the checks catch ${b.what}${failure ? ` (skipped: ${failure})` : ''}`, async (t) => {
    t.timeout(5 * 60_000);
    const broken = await render(b.edit ?? {}, b.site ?? siteEnv);
    const problems = await b.check(broken);
    t.true(problems.some((p) => b.expect.test(p)), `expected a problem matching ${b.expect}, got:\n${problems.join('\n')}`);
  });
}
