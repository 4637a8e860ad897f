import { eventTopic } from '@shop/platform/topics';
import type { ITopicConfig } from 'kafkajs';

/**
 * The topics the reports process reads and writes. It creates the order topic too (same
 * settings as the order service: key = order id, three partitions), so that either may
 * start first; the DLQ has one partition, its dead letters are few and read by people.
 */
export const reportsTopics = (t: { orderEvents: string; dlq: string }): ITopicConfig[] => [
  eventTopic(t.orderEvents),
  { topic: t.dlq, numPartitions: 1 },
];
