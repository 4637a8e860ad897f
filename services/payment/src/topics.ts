import { eventTopic, topics } from '@shop/platform/topics';
import type { ITopicConfig } from 'kafkajs';

export const DEFAULT_EVENTS_TOPIC = topics.paymentEvents;
export const DEFAULT_DLQ_TOPIC = 'shop.payment.dlq';

/**
 * The payment's Kafka topics: its events (key = payment id, three partitions, like every
 * events topic) and its dead letters (one partition: they are few and read by people).
 */
export const paymentTopics = (eventsTopic: string, dlqTopic: string): ITopicConfig[] => [
  eventTopic(eventsTopic),
  { topic: dlqTopic, numPartitions: 1 },
];
