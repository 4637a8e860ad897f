/** Kafka (KRaft, one node) as a supervised JVM process. */
import { infraPorts } from '../topology.js';
import { stackPaths } from '../paths.js';
import { kafkaPaths, writeKafkaConfig } from '../install/kafka.js';
import { kafkaReady } from '../ready/kafka.js';
import type { ProcessSpec } from '../supervisor.js';

export function kafkaSpec(): ProcessSpec {
  return {
    name: 'kafka',
    command: 'java',
    args: [
      '-Xms256m',
      '-Xmx512m',
      '-XX:+UseG1GC',
      '-Djava.awt.headless=true',
      `-Dlog4j.configuration=file:${kafkaPaths.log4jProperties}`,
      '-cp',
      kafkaPaths.classpath,
      'kafka.Kafka',
      kafkaPaths.serverProperties,
    ],
    cwd: stackPaths.kafka,
    ports: [infraPorts.kafka, infraPorts.kafkaController],
    ready: () => kafkaReady(),
    // JVM start plus the first creation of __consumer_offsets (50 partitions) on 2 cores.
    readyTimeoutMs: 60_000,
    readyIntervalMs: 1_000,
    prepare: async () => writeKafkaConfig(),
    // A controlled shutdown flushes logs and writes a clean-shutdown marker; give it time.
    stopTimeoutMs: 30_000,
  };
}
