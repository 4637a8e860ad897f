/**
 * The container images of the deployments (docker-compose.yml and k8s/), in one place.
 * Generators and hand-written manifests take their references from here; the deploy specs
 * check that every manifest uses exactly these.
 */

/** Third-party images. */
export const infraImages = {
  postgres: 'postgres:15',
  kafka: 'apache/kafka:3.9.1',
  nats: 'nats:2.12',
  envoy: 'envoyproxy/envoy:v1.40-latest',
} as const;

/** The Shop image (Dockerfile): one image, every process picks its entry. */
export const shopImage = 'shop';

/**
 * What a container runs for a process whose source entry is `entry` (e.g.
 * `services/product/src/main.ts`): the arguments after the image's ENTRYPOINT.
 */
export const containerArgs = (entry: string): string[] => [entry];
