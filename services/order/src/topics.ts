import { eventTopic } from '@shop/platform/topics';
import type { ITopicConfig } from 'kafkajs';

/**
 * The order service's topics: its integration events (outbox, key = order id), its
 * checkout workflow's stream (inputs and commands, key = order id), and its dead letters.
 */
export const orderTopics = (t: { events: string; checkout: string; dlq: string }): ITopicConfig[] => [
  eventTopic(t.events),
  eventTopic(t.checkout),
  { topic: t.dlq, numPartitions: 1 },
];
