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
