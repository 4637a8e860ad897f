/**
 * k8s/base/<process>/ and the per-process NetworkPolicies, from the catalog.
 *
 * Every Shop pod: non-root (the image's user, image.ts shopUser), no service-account token, no Service
 * links (PRODUCT_PORT=tcp://… would clash with configuration read from the environment),
 * read-only root filesystem with an emptyDir on /tmp (libraries may use os.tmpdir()), all
 * capabilities dropped, resources and probes. The Shop image's container comes first (the
 * minikube overlay patches containers/0); an Envoy sidecar is a native sidecar (an init
 * container with restartPolicy Always, Kubernetes >= 1.29): listening before the process
 * starts, stopped only after it has drained.
 */
import { baseEnv } from '@shop/platform/config';
import { containerArgs, infraImages, shopImage, shopUser } from '../deploy/image.js';
import { containerPorts, defaults, health, infrastructure, processes, type ProcessEntry } from './catalog.js';
import { environment } from './env.js';

type Obj = Record<string, unknown>;
type Named = ProcessEntry & { name: string };

const labels = (p: Named) => ({ 'app.kubernetes.io/name': p.name, 'app.kubernetes.io/component': p.kind });

/** How long a process drains its work on SIGTERM unless SHUTDOWN_TIMEOUT_MS says otherwise (the platform's default). */
export const drainSeconds = baseEnv.SHUTDOWN_TIMEOUT_MS.parse(undefined) / 1000;

const restricted = { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } };

/**
 * Envoy's /ready on its admin port, the Kubernetes probe and compose's healthcheck: the admin
 * listener is bound to 127.0.0.1 (hence a command, not an HTTP probe) and the image has bash
 * but no curl, so bash's /dev/tcp makes the request. /ready answers LIVE once the listeners are up.
 */
export const envoyReadyCommand = ['bash', '-c', `exec 3<>/dev/tcp/127.0.0.1/${containerPorts.envoyAdmin} && printf 'GET /ready HTTP/1.0\\r\\n\\r\\n' >&3 && grep -q LIVE <&3`];
const envoyReady = { exec: { command: envoyReadyCommand } };

/** Whether the pod has an Envoy sidecar: the BFF (the edge) and every process that calls a service. */
export const hasEnvoySidecar = (p: Named) => p.kind === 'bff' || (p.calls ?? []).length > 0;

function envoySidecar(p: Named): Obj {
  const edge = p.kind === 'bff';
  return {
    name: 'envoy',
    image: infraImages.envoy,
    restartPolicy: 'Always',
    '#command': "Straight to the binary: the image's entrypoint switches users with su-exec, which needs root. Hot restart (restarting in place) is never used in a pod; disabling it also avoids its shared memory.",
    command: ['/usr/local/bin/envoy'],
    args: ['-c', '/etc/envoy/envoy.yaml', '--disable-hot-restart', '--log-level', 'warn'],
    ...(edge
      ? {
          ports: [{ name: 'edge', containerPort: containerPorts.edge }],
          startupProbe: { tcpSocket: { port: containerPorts.edge }, periodSeconds: 1, failureThreshold: 30 },
          '#readinessProbe': "Through the edge to the BFF's /healthz: ready means a client request would reach the BFF.",
          readinessProbe: { httpGet: { path: '/healthz', port: containerPorts.edge }, periodSeconds: 5, timeoutSeconds: 3 },
          livenessProbe: { tcpSocket: { port: containerPorts.edge }, periodSeconds: 10, failureThreshold: 3 },
        }
      : {
          startupProbe: { ...envoyReady, periodSeconds: 1, failureThreshold: 30 },
          readinessProbe: { ...envoyReady, periodSeconds: 10, timeoutSeconds: 3 },
          livenessProbe: { ...envoyReady, periodSeconds: 20, timeoutSeconds: 3, failureThreshold: 3 },
        }),
    resources: defaults.envoyResources,
    securityContext: restricted,
    volumeMounts: [
      { name: 'envoy-config', mountPath: '/etc/envoy', readOnly: true },
      { name: 'tmp', mountPath: '/tmp' },
    ],
  };
}

/** The catalog's health checks (catalog.ts, health) as Kubernetes probes. */
function probes(p: Named): Obj {
  const readiness = { readinessProbe: { httpGet: { path: health.readinessPath, port: 'http-ops' }, periodSeconds: 5, timeoutSeconds: 3, failureThreshold: 2 } };
  const liveness = { livenessProbe: { httpGet: { path: health.livenessPath, port: 'http-ops' }, periodSeconds: 10, timeoutSeconds: 3, failureThreshold: 3 } };
  const startup = health.startup[p.kind];
  if (!startup) return { ...readiness, ...liveness };
  const { failureThreshold } = startup;
  return {
    '#startupProbe':
      startup.probe === 'grpc'
        ? 'The standard gRPC health service; allows for migrations and for Postgres and Kafka to come up first.'
        : 'The GraphQL port itself: the ops server starts first.',
    startupProbe:
      startup.probe === 'grpc'
        ? { grpc: { port: containerPorts.grpc }, periodSeconds: startup.periodSeconds, failureThreshold }
        : { httpGet: { path: startup.path, port: 'http' }, periodSeconds: startup.periodSeconds, failureThreshold },
    ...readiness,
    '#livenessProbe': 'Only whether the process runs (/healthz): a dependency out must not restart every pod into a crash loop.',
    ...liveness,
    '#lifecycle': 'Let endpoint removal reach Envoy (and the Service) before the server stops taking calls.',
    lifecycle: { preStop: { exec: { command: ['sleep', String(health.preStopSeconds)] } } },
  };
}

function ports(p: Named) {
  const own = p.kind === 'grpc-service' ? [{ name: 'grpc', containerPort: containerPorts.grpc }] : p.kind === 'bff' ? [{ name: 'http', containerPort: containerPorts.bff }] : [];
  return [...own, { name: 'http-ops', containerPort: containerPorts.ops }];
}

export function deployment(p: Named): Obj {
  const sidecar = hasEnvoySidecar(p);
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: p.name, labels: labels(p) },
    spec: {
      replicas: p.replicas ?? defaults.replicas,
      selector: { matchLabels: { 'app.kubernetes.io/name': p.name } },
      template: {
        metadata: {
          labels: labels(p),
          annotations: { 'prometheus.io/scrape': 'true', 'prometheus.io/port': String(containerPorts.ops), 'prometheus.io/path': '/metrics' },
        },
        spec: {
          automountServiceAccountToken: false,
          '#enableServiceLinks': 'Keeps Service variables (PRODUCT_PORT=tcp://…) out of a process that reads its configuration from the environment.',
          enableServiceLinks: false,
          '#terminationGracePeriodSeconds': `preStop (${health.preStopSeconds} s) + the process's own drain (SHUTDOWN_TIMEOUT_MS, ${drainSeconds} s by default) + margin (and Envoy's stop after it).`,
          terminationGracePeriodSeconds: 30,
          securityContext: { runAsNonRoot: true, runAsUser: shopUser.uid, runAsGroup: shopUser.gid, seccompProfile: { type: 'RuntimeDefault' } },
          ...(sidecar
            ? {
                '#initContainers': `A native sidecar (Kubernetes >= 1.29): listening before ${p.name} starts, stopped only after it has drained. Its config: envoy.yaml, generated.`,
                initContainers: [envoySidecar(p)],
              }
            : {}),
          '#containers': 'The Shop image with its entry; its container comes first (the minikube overlay patches containers/0).',
          containers: [
            {
              name: p.name,
              image: shopImage,
              imagePullPolicy: 'IfNotPresent',
              args: containerArgs(p.entry),
              env: environment(p, { target: 'k8s' }).map((v) => ('value' in v ? v : { name: v.name, valueFrom: { secretKeyRef: v.secretKeyRef } })),
              ports: ports(p),
              ...probes(p),
              resources: p.resources ?? defaults.resources,
              securityContext: restricted,
              volumeMounts: [{ name: 'tmp', mountPath: '/tmp' }],
            },
          ],
          volumes: [...(sidecar ? [{ name: 'envoy-config', configMap: { name: `${p.name}-envoy` } }] : []), { name: 'tmp', emptyDir: { sizeLimit: '64Mi' } }],
        },
      },
    },
  };
}

/**
 * A gRPC service's Service is headless: its name resolves to every ready pod, so a caller's
 * Envoy (STRICT_DNS) sees each replica as its own host, balances requests across them and
 * health-checks and ejects them one by one; through a ClusterIP one long-lived HTTP/2
 * connection would pin all traffic to a single pod. The BFF's Service is the public entry
 * point: Envoy's edge listener (a number as targetPort: the port belongs to a sidecar, and
 * not every Kubernetes version resolves names there).
 */
export function service(p: Named): Obj | undefined {
  const meta = { name: p.name, labels: labels(p) };
  const selector = { 'app.kubernetes.io/name': p.name };
  if (p.kind === 'grpc-service') {
    const why = "Headless: the name resolves to every ready pod, so a caller's Envoy (STRICT_DNS) balances across replicas and health-checks and ejects them one by one; through a ClusterIP one long-lived HTTP/2 connection would pin all traffic to a single pod.";
    return { apiVersion: 'v1', kind: 'Service', metadata: meta, spec: { '#clusterIP': why, clusterIP: 'None', selector, ports: [{ name: 'grpc', port: containerPorts.grpc, targetPort: 'grpc', appProtocol: 'kubernetes.io/h2c' }] } };
  }
  if (p.kind === 'bff') return { apiVersion: 'v1', kind: 'Service', metadata: meta, spec: { selector, '#ports': 'The public entry point: the Envoy edge (a number as targetPort: the port is a sidecar\'s).', ports: [{ name: 'http', port: containerPorts.edge, targetPort: containerPorts.edge }] } };
  return undefined;
}

export function kustomization(p: Named): Obj {
  return {
    apiVersion: 'kustomize.config.k8s.io/v1beta1',
    kind: 'Kustomization',
    resources: ['deployment.yaml', ...(service(p) ? ['service.yaml'] : [])],
    // The name gets a content hash, so a new Envoy config rolls the pods.
    ...(hasEnvoySidecar(p) ? { configMapGenerator: [{ name: `${p.name}-envoy`, files: ['envoy.yaml'] }] } : {}),
  };
}

/**
 * A process's own NetworkPolicy: egress to what it uses and calls (under default-deny,
 * nothing else). Ingress of servers is in the hand-written grpc-services.yaml,
 * infrastructure.yaml and metrics.yaml. The BFF's Envoy has a listener for, and
 * health-checks, every gRPC service, so it may reach them all (by label); its edge takes
 * clients from anywhere (NodePort, port-forward, an ingress controller).
 */
/**
 * Where a process's pods may connect: the database, the infrastructure it uses, and the gRPC
 * services it calls (the BFF's Envoy: every gRPC service pod, by label). The one list that
 * both the NetworkPolicy and the component's comment are written from.
 */
export function flowsOf(p: Named): Array<{ to: string; selector: Record<string, string>; port: number; note?: string }> {
  const pod = (name: string) => ({ 'app.kubernetes.io/name': name });
  return [
    ...(p.database ? [{ to: 'postgres', selector: pod('postgres'), port: infrastructure.postgres.port }] : []),
    ...(['kafka', 'nats'] as const).filter((i) => p.uses.includes(i)).map((i) => ({ to: i, selector: pod(i), port: infrastructure[i].port })),
    ...(p.kind === 'bff'
      ? [{ to: 'every grpc-service pod', selector: { 'app.kubernetes.io/component': 'grpc-service' }, port: containerPorts.grpc, note: 'its Envoy' }]
      : (p.calls ?? []).map((callee) => ({ to: callee, selector: pod(callee), port: containerPorts.grpc, note: 'its Envoy sidecar' }))),
  ];
}

export function networkPolicy(p: Named): Obj {
  const egress = flowsOf(p).map((f) => ({ to: [{ podSelector: { matchLabels: f.selector } }], ports: [{ protocol: 'TCP', port: f.port }] }));
  const ingress = p.kind === 'bff' ? [{ ports: [{ protocol: 'TCP', port: containerPorts.edge }] }] : undefined;
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: { name: p.name },
    spec: {
      podSelector: { matchLabels: { 'app.kubernetes.io/name': p.name } },
      policyTypes: ingress ? ['Ingress', 'Egress'] : ['Egress'],
      ...(ingress ? { ingress } : {}),
      egress,
    },
  };
}

/** The policies written by hand (k8s/components/network-policies/): the defaults and the servers' ingress. */
export const staticPolicies = ['default-deny.yaml', 'dns.yaml', 'infrastructure.yaml', 'grpc-services.yaml', 'metrics.yaml'];

/** The component's kustomization, with the flows it allows spelt out for a reader. */
export function networkPolicyKustomization(): { comment: string; value: Obj } {
  const flows = processes().map((p) => {
    const targets = flowsOf(p).map((f) => `${f.to}:${f.port}${f.note ? ` (${f.note})` : ''}`);
    return `  ${p.name.padEnd(20)} -> ${targets.join(', ')}`;
  });
  const comment = [
    'Opt-in NetworkPolicies: deny everything in the namespace, then allow only the flows',
    'Shop uses. Enable it in an overlay:',
    '  components:',
    '    - ../../components/network-policies',
    'It needs a CNI that enforces NetworkPolicy (minikube: `minikube start --cni=calico`);',
    'without one the policies are accepted and silently ignored.',
    '',
    'The flows (each process\'s egress is its own file, generated from the catalog):',
    `  ${'anyone'.padEnd(20)} -> bff:${containerPorts.edge} (the Envoy edge)`,
    ...flows,
    `  ${'any namespace'.padEnd(20)} -> every Shop process:${containerPorts.ops} (Prometheus scrapes /metrics)`,
    `  ${'every pod'.padEnd(20)} -> cluster DNS`,
    'Servers (Postgres, Kafka, NATS, gRPC services) accept connections from any pod of the',
    "namespace: which pod may open them is decided by that pod's own egress policy.",
  ].join('\n');
  return {
    comment,
    value: {
      apiVersion: 'kustomize.config.k8s.io/v1alpha1',
      kind: 'Component',
      '#namespace': 'Set here because a component is applied by the overlay that includes it, after the base has set the namespace of its own resources.',
      namespace: 'shop',
      labels: [{ pairs: { 'app.kubernetes.io/part-of': 'shop' } }],
      resources: [...staticPolicies, ...processes().map((p) => `${p.name}.yaml`)],
    },
  };
}
