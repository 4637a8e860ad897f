import { eventTopic, topics } from '@shop/platform/topics';
import type { ITopicConfig } from 'kafkajs';

export const DEFAULT_EVENTS_TOPIC = topics.userEvents;
export const DEFAULT_DLQ_TOPIC = 'shop.user.events.dlq';

/** The user's Kafka topics: three partitions for the events (key = user id), one for dead letters. */
export const userTopics = (eventsTopic: string, dlqTopic: string): ITopicConfig[] => [
  eventTopic(eventsTopic),
  { topic: dlqTopic, numPartitions: 1 },
];
