import { Kafka, logLevel, Partitioners, type ISocketFactory, type ITopicConfig, type LogEntry, type Producer, type RecordMetadata } from 'kafkajs';
import { fixKafkajsIdleLoop } from './kafkajs-idle-fix.js';
import type { Logger } from './log.js';
import type { ProcessContext } from './process.js';

/** A kafkajs client whose own log lines go through the process's JSON logger. */
export function createKafka(opts: { brokers: string[]; clientId: string; log: Logger; socketFactory?: ISocketFactory }): Kafka {
  const log = opts.log.child({ component: 'kafkajs' });
  // Every Kafka client of the project is made here: its connections must not spin while idle.
  if (!fixKafkajsIdleLoop()) log.warn('kafkajs is not the release kafkajs-idle-fix.ts patches: its idle request queues may spin (check that release for tulios/kafkajs#1556)');
  return new Kafka({
    clientId: opts.clientId,
    brokers: opts.brokers,
    logLevel: logLevel.WARN,
    logCreator:
      () =>
      ({ level, log: entry }: LogEntry) => {
        const { message, ...rest } = entry;
        if (level <= logLevel.ERROR) log.error(rest, message);
        else if (level === logLevel.WARN) log.warn(rest, message);
        else log.debug(rest, message);
      },
    // Retries back off from 200 ms to at most 2 s (kafkajs's default ceiling is 30 s): once a
    // broker is back, a waiting client tries again within 2 s, which bounds how long the
    // relay and the consumers lag after an outage. What outlasts the retries fails to the
    // caller's own loop (the relay's backoff, the consumer's crash-and-restart).
    retry: { initialRetryTime: 200, maxRetryTime: 2_000, retries: 8 },
    // Tests cut the network of one client this way (@shop/testing's Kafka gate).
    ...(opts.socketFactory ? { socketFactory: opts.socketFactory } : {}),
  });
}

/**
 * Creates the topics that do not exist yet and waits until every partition has a leader
 * (idempotent; safe from several replicas starting at once, which can see transient
 * "does not host this topic-partition" answers while the controller settles).
 */
export async function ensureTopics(kafka: Kafka, topics: ITopicConfig[], attempts = 10): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    for (let attempt = 1; ; attempt++) {
      try {
        const existing = new Set(await admin.listTopics());
        const missing = topics.filter((t) => !existing.has(t.topic));
        if (missing.length > 0) await admin.createTopics({ topics: missing, waitForLeaders: true });
        const { topics: described } = await admin.fetchTopicMetadata({ topics: topics.map((t) => t.topic) });
        if (described.every((d) => d.partitions.length > 0 && d.partitions.every((p) => p.leader >= 0))) return;
        throw new Error('partitions without a leader yet');
      } catch (err) {
        if (attempt >= attempts) throw err;
        await new Promise((r) => setTimeout(r, 200 * attempt));
      }
    }
  } finally {
    await admin.disconnect();
  }
}

/**
 * The producer every publisher of events uses (the relay, the DLQ): idempotent, one
 * request in flight (so a retry cannot reorder a partition), no topic created by accident,
 * and kafkajs's default partitioner named explicitly (murmur2 on the key, as the Java
 * client does), which also silences its start-up notice about the v2 default.
 */
export const createEventProducer = (kafka: Kafka): Producer =>
  kafka.producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false, createPartitioner: Partitioners.DefaultPartitioner });

/**
 * A send that resolved is not taken on trust: each topic of the batch must be in the
 * broker's answer with an offset. kafkajs 2.2 can resolve a send without making any request:
 * `cluster.findLeaderForPartitions` silently skips a partition missing from its cached
 * metadata, and with no leader found the per-broker request list is empty, so `sendBatch`
 * resolves with `[]`. Taken as a success, that lets a caller (the relay's checkpoint, a
 * processor's offset after a DLQ send) pass messages no broker has. A fresh-clone run of
 * the relay's outage test once ended like that (checkpoint at the end, 3 of 10 events on the
 * topic); this is the one path in kafkajs found to do it, not a proven cause. Thrown, it is
 * a failed send like any other, which the caller retries.
 */
export function assertAcknowledged(topics: string[], acks: RecordMetadata[]): void {
  const acked = new Set(acks.filter((a) => a.errorCode === 0 && a.baseOffset !== undefined && Number(a.baseOffset) >= 0).map((a) => a.topicName));
  const missing = topics.filter((topic) => !acked.has(topic));
  if (missing.length > 0) {
    throw Object.assign(new Error(`Kafka acknowledged no write for ${missing.join(', ')} (answer: ${JSON.stringify(acks)})`), { name: 'UnacknowledgedSend' });
  }
}

/** What openKafka reads: spread `kafkaEnv` (config.ts) into the process's schema. */
export type KafkaConfig = { KAFKA_BROKERS: string[] };

/**
 * The process's Kafka client (KAFKA_BROKERS, the process's name as client id), once
 * `topics` exist: those it publishes to and those it consumes (another service owns a
 * topic it consumes, but creating it here too, with the same settings, lets either start
 * first). The client holds no connection of its own: the producers and consumers
 * made from it are stopped by their owners' shutdown hooks.
 */
export async function openKafka(ctx: ProcessContext<KafkaConfig>, opts: { topics?: ITopicConfig[] } = {}): Promise<Kafka> {
  const kafka = createKafka({ brokers: ctx.config.KAFKA_BROKERS, clientId: ctx.name, log: ctx.log });
  if (opts.topics?.length) await ensureTopics(kafka, opts.topics);
  return kafka;
}
