import type { ITopicConfig } from 'kafkajs';

/**
 * The Kafka topics of the system, in one place: each service's integration events (key =
 * stream id, so one stream stays in order on one partition). Producers create their own
 * topics, and consumers create the ones they read too, with the same settings, so that
 * either may start first. Every name can still be overridden by a process's config.
 */
export const topics = {
  productEvents: 'shop.product.events',
  cartEvents: 'shop.cart.events',
  userEvents: 'shop.user.events',
  orderEvents: 'shop.order.events',
  /** The checkout workflow's stream: every input it received and command it issued. */
  checkoutEvents: 'shop.checkout.events',
  paymentEvents: 'shop.payment.events',
} as const;

/** Partitions of an events topic: the consumers of one group that can work at once. */
export const EVENT_TOPIC_PARTITIONS = 3;

/** An events topic as `ensureTopics` takes it. */
export const eventTopic = (topic: string): ITopicConfig => ({ topic, numPartitions: EVENT_TOPIC_PARTITIONS });
