import { randomBytes } from 'node:crypto';
import type { Kafka, KafkaMessage } from 'kafkajs';
import { createKafka, ensureTopics } from '@shop/platform/kafka';
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
