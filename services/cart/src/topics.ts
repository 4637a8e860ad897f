import { eventTopic, topics } from '@shop/platform/topics';
import type { ITopicConfig } from 'kafkajs';

export const DEFAULT_EVENTS_TOPIC = topics.cartEvents;
export const DEFAULT_DLQ_TOPIC = 'shop.cart.events.dlq';

/**
 * The cart's Kafka topics. Three partitions for the events (key = cart id, so a cart
 * stays ordered in one); one for the dead letters, which are few and read by people.
 */
export const cartTopics = (eventsTopic: string, dlqTopic: string): ITopicConfig[] => [
  eventTopic(eventsTopic),
  { topic: dlqTopic, numPartitions: 1 },
];
