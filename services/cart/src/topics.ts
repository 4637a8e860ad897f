import type { ITopicConfig } from 'kafkajs';

export const DEFAULT_EVENTS_TOPIC = 'shop.cart.events';
export const DEFAULT_DLQ_TOPIC = 'shop.cart.events.dlq';

/**
 * The cart's Kafka topics. Three partitions for the events (key = cart id, so a cart
 * stays ordered in one); one for the dead letters, which are few and read by people.
 */
export const cartTopics = (eventsTopic: string, dlqTopic: string): ITopicConfig[] => [
  { topic: eventsTopic, numPartitions: 3 },
  { topic: dlqTopic, numPartitions: 1 },
];
