import type { ITopicConfig } from 'kafkajs';

export const DEFAULT_EVENTS_TOPIC = 'shop.user.events';
export const DEFAULT_DLQ_TOPIC = 'shop.user.events.dlq';

/** The user's Kafka topics: three partitions for the events (key = user id), one for dead letters. */
export const userTopics = (eventsTopic: string, dlqTopic: string): ITopicConfig[] => [
  { topic: eventsTopic, numPartitions: 3 },
  { topic: dlqTopic, numPartitions: 1 },
];
