import { randomBytes } from 'node:crypto';
import type { Kafka, KafkaMessage, Producer, ProducerRecord } from 'kafkajs';
import { assertAcknowledged, createKafka, ensureTopics } from '@shop/platform/kafka';
import type { Logger } from '@shop/platform/log';
import { urls } from '@shop/tools/topology';

/** A Kafka client for the stack's broker. */
export const testKafka = (log: Logger, clientId = 'test') => createKafka({ brokers: urls.kafkaBrokers, clientId, log });

/** Topic names no other test uses. */
export async function createTestTopics(kafka: Kafka, prefix: string, partitions = 3): Promise<{ topic: string; dlq: string }> {
  const topic = `test.${prefix}.${randomBytes(4).toString('hex')}`;
  const dlq = `${topic}.dlq`;
  await ensureTopics(kafka, [
    { topic, numPartitions: partitions },
    { topic: dlq, numPartitions: 1 },
  ]);
  return { topic, dlq };
}

/**
 * Reads a topic from the beginning until `count` messages arrived (or times out). With `where`, only the
 * messages it accepts are kept and counted: a topic other tests write to does not end the wait early.
 */
export async function consumeTopic(
  kafka: Kafka,
  topic: string,
  count: number,
  { where = () => true, timeoutMs = 30_000 }: { where?: (message: KafkaMessage) => boolean; timeoutMs?: number } = {},
): Promise<KafkaMessage[]> {
  const consumer = kafka.consumer({ groupId: `test-reader-${randomBytes(4).toString('hex')}`, maxWaitTimeInMs: 100 });
  const messages: KafkaMessage[] = [];
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`only ${messages.length} of ${count} messages on ${topic}`)), timeoutMs);
      void consumer.run({
        eachMessage: async ({ message }) => {
          if (!where(message)) return;
          messages.push(message);
          if (messages.length >= count) {
            clearTimeout(timer);
            resolve();
          }
        },
      });
    });
  } finally {
    await consumer.disconnect();
  }
  return messages;
}

/**
 * A producer for tests whose sends count only once the broker has acknowledged them. A send
 * of no messages resolves `[]` and writes nothing, and a spec that went on would wait for
 * messages that were never written: the projector-shutdown spec did, for 90 s, when the
 * events it read to send were not yet readable in the store's global order (a transaction
 * of another test kept the cluster's xmin behind them). Such a send fails here at once, naming
 * the topic. kafkajs 2.2 can also resolve `[]` with messages, when its cached metadata lacks
 * the topic's partition (platform/kafka.ts, assertAcknowledged): that send is tried again,
 * with metadata at most 1 s old.
 */
export function testProducer(kafka: Kafka): Producer {
  const producer = kafka.producer({ metadataMaxAge: 1_000 });
  const send = producer.send.bind(producer);
  producer.send = async (record: ProducerRecord) => {
    if (record.messages.length === 0) throw new Error(`testProducer: no messages to send to ${record.topic}`);
    for (let attempt = 1; ; attempt++) {
      const acks = await send(record);
      try {
        assertAcknowledged([record.topic], acks);
        return acks;
      } catch (err) {
        if (attempt >= 30) throw err;
        await new Promise((r) => setTimeout(r, 500));
      }
    }
  };
  return producer;
}
