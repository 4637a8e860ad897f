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

/**
 * Buckets, in seconds, of the histograms of how late an event is on its way (the relay's
 * publish delay, a processor's receive and apply delays): from a millisecond (the pipeline
 * at rest) to ten seconds (a backlog), so that the stages of one path compare on one scale.
 */
export const delayBuckets = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
