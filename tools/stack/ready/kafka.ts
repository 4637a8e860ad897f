/**
 * Kafka readiness: a real round trip (create topic, produce, consume in a fresh group).
 * An open port is not enough: right after start the group coordinator is still loading
 * and the first consumer joins fail; services would hit exactly that.
 */
import { randomUUID } from 'node:crypto';
import { Kafka, logLevel, Partitioners } from 'kafkajs';
import { urls } from '../topology.js';

export const readyTopic = 'shop.stack.ready';
const consumeTimeoutMs = 20_000;

export async function kafkaReady(brokers: string[] = urls.kafkaBrokers): Promise<void> {
  const kafka = new Kafka({
    clientId: 'shop-stack-ready',
    brokers,
    // The transient errors of a starting broker are expected here; the supervisor retries.
    logLevel: logLevel.NOTHING,
    connectionTimeout: 2_000,
    requestTimeout: 10_000,
    retry: { retries: 3, initialRetryTime: 200, maxRetryTime: 2_000 },
  });
  await ensureTopic(kafka);
  const token = randomUUID();
  await produce(kafka, token);
  await consumeUntil(kafka, token);
}

async function ensureTopic(kafka: Kafka): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    if (!(await admin.listTopics()).includes(readyTopic)) {
      await admin.createTopics({ topics: [{ topic: readyTopic, numPartitions: 1, replicationFactor: 1 }], waitForLeaders: true });
    }
  } finally {
    await admin.disconnect();
  }
}

async function produce(kafka: Kafka, token: string): Promise<void> {
  const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner, allowAutoTopicCreation: false });
  await producer.connect();
  try {
    await producer.send({ topic: readyTopic, messages: [{ value: token }] });
  } finally {
    await producer.disconnect();
  }
}

async function consumeUntil(kafka: Kafka, token: string): Promise<void> {
  // A fresh group starts from the beginning and cannot inherit a stuck member of an earlier attempt.
  const consumer = kafka.consumer({ groupId: `shop-stack-ready-${token}`, retry: { retries: 3, restartOnFailure: async () => false } });
  let timer: NodeJS.Timeout | undefined;
  try {
    await consumer.connect();
    await consumer.subscribe({ topic: readyTopic, fromBeginning: true });
    await new Promise<void>((resolve, reject) => {
      timer = setTimeout(() => reject(new Error(`no message back from ${readyTopic} within ${consumeTimeoutMs / 1000}s`)), consumeTimeoutMs);
      consumer.on(consumer.events.CRASH, (event) => reject(event.payload.error));
      consumer
        .run({
          eachMessage: async ({ message }) => {
            if (message.value?.toString() === token) resolve();
          },
        })
        .catch(reject);
    });
  } finally {
    clearTimeout(timer);
    await consumer.disconnect();
  }
}
