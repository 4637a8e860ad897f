import client from 'prom-client';

/**
 * One Prometheus registry per process, with Node's default metrics and the
 * service name as a default label.
 */
export function createMetrics(service: string): client.Registry {
  const registry = new client.Registry();
  registry.setDefaultLabels({ service });
  client.collectDefaultMetrics({ register: registry });
  return registry;
}

export { client as prom };

/**
 * The metric of that name in the registry, made on first use: a process may run several
 * instances of one component (two relays, three processors), each labelling its own series.
 */
export function sharedMetric<M>(registry: client.Registry, name: string, make: () => M): M {
  return (registry.getSingleMetric(name) as M | undefined) ?? make();
}
