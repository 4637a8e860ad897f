import type { Kafka } from 'kafkajs';
import { fromKafkaValue } from '@shop/eventsourcing';
import type { Logger } from '@shop/platform/log';
import type { Queryable } from '@shop/platform/postgres/pool';
import { CART_READ_SCHEMA } from '../projector/cart-view.js';
import type { CartCommandHandler } from './cart-handler.js';

export const USER_DELETED = 'shop.user.v1.UserDeleted';

/**
 * When a customer deletes their account, their cart disappears (DESIGN.md, domain): this
 * consumer of the user events discards every cart of the deleted customer. At least once
 * and idempotent — discarding a cart that is already gone records nothing. The carts are
 * found through the read model, so a cart assigned in the last moments before the deletion
 * may be missed until its projection lands; the consumer's replay on restart covers that.
 */
export async function startUserDeletionConsumer(opts: {
  kafka: Kafka;
  topic: string;
  carts: CartCommandHandler;
  readModel: Queryable;
  log: Logger;
  groupId?: string;
  schema?: string;
}): Promise<{ stop(): Promise<void> }> {
  const log = opts.log.child({ component: 'user-deletions' });
  const schema = opts.schema ?? CART_READ_SCHEMA;
  const consumer = opts.kafka.consumer({ groupId: opts.groupId ?? 'cart.user-deletions', allowAutoTopicCreation: false, maxWaitTimeInMs: 250 });
  await consumer.connect();
  await consumer.subscribe({ topic: opts.topic, fromBeginning: true });
  await consumer.run({
    // Offsets are committed only after the handler resolved: a crash replays, never skips.
    eachMessage: async ({ message }) => {
      if (message.headers?.type?.toString() !== USER_DELETED) return;
      const event = fromKafkaValue(message.value);
      const customerId = event.streamId;
      const { rows } = await opts.readModel.query<{ id: string }>(`SELECT id FROM ${schema}.carts WHERE customer_id = $1`, [customerId]);
      for (const { id } of rows) {
        await opts.carts.handle(id, { type: 'Discard', cartId: id, customerId }, { metadata: { causationId: event.id, actor: 'user-deletion' } });
      }
      if (rows.length > 0) log.info({ customerId, carts: rows.length }, 'discarded the carts of a deleted customer');
    },
  });
  return { stop: () => consumer.disconnect() };
}
