// Events travel and rest as proto3 JSON (ts-proto's toJSON/fromJSON). These
// tests pin the exact JSON a consumer sees, so a generator option change that
// alters it cannot pass unnoticed.
import test from 'ava';
import { ItemAdded } from './gen/shop/cart/v1/events.js';
import { EventEnvelope } from './gen/shop/common/v1/envelope.js';
import { OrderCancelled } from './gen/shop/order/v1/events.js';
import { OrderStatus } from './gen/shop/order/v1/order.js';
import { ProductUpdated } from './gen/shop/product/v1/events.js';
import { EmailVerificationRequested } from './gen/shop/user/v1/events.js';

const itemAdded: ItemAdded = {
  cartId: '0190a0b4-7c1e-7a3b-9d2f-1a2b3c4d5e6f',
  productId: '0190a0b4-7c1e-7a3b-9d2f-aaaaaaaaaaaa',
  productName: 'Espresso cup',
  quantity: 2,
  unitPrice: { amountCents: 1299, currency: 'USD' },
  requestId: '',
};

test('ItemAdded: lowerCamelCase names, int64 money as a JSON number', (t) => {
  const json = ItemAdded.toJSON(itemAdded);
  t.deepEqual(json, {
    cartId: '0190a0b4-7c1e-7a3b-9d2f-1a2b3c4d5e6f',
    productId: '0190a0b4-7c1e-7a3b-9d2f-aaaaaaaaaaaa',
    productName: 'Espresso cup',
    quantity: 2,
    unitPrice: { amountCents: 1299, currency: 'USD' },
  });
  t.deepEqual(ItemAdded.fromJSON(JSON.parse(JSON.stringify(json))), itemAdded);
  t.is(ItemAdded.$type, 'shop.cart.v1.ItemAdded');
});

test('fromJSON also reads canonical proto3 JSON (int64 as string, snake_case names)', (t) => {
  const decoded = ItemAdded.fromJSON({
    cart_id: itemAdded.cartId,
    productId: itemAdded.productId,
    product_name: 'Espresso cup',
    quantity: 2,
    unitPrice: { amount_cents: '1299', currency: 'USD' },
  });
  t.deepEqual(decoded, itemAdded);
});

test('default values are left out of the JSON and come back as defaults', (t) => {
  const json = ItemAdded.toJSON({ ...itemAdded, productName: '', quantity: 0, unitPrice: { amountCents: 0, currency: '' } });
  t.deepEqual(json, { cartId: itemAdded.cartId, productId: itemAdded.productId, unitPrice: {} });
  t.like(ItemAdded.fromJSON(json), { productName: '', quantity: 0, unitPrice: { amountCents: 0, currency: '' } });
});

test('OrderCancelled: enums travel by name', (t) => {
  const event: OrderCancelled = {
    orderId: '0190a0b4-0000-7000-8000-000000000001',
    customerId: '0190a0b4-0000-7000-8000-000000000002',
    reason: 'changed my mind',
    previousStatus: OrderStatus.ORDER_STATUS_STOCK_RESERVED,
  };
  const json = OrderCancelled.toJSON(event);
  t.deepEqual(json, {
    orderId: '0190a0b4-0000-7000-8000-000000000001',
    customerId: '0190a0b4-0000-7000-8000-000000000002',
    reason: 'changed my mind',
    previousStatus: 'ORDER_STATUS_STOCK_RESERVED',
  });
  t.deepEqual(OrderCancelled.fromJSON(json), event);
  t.is(OrderCancelled.fromJSON({ previousStatus: 2 }).previousStatus, OrderStatus.ORDER_STATUS_STOCK_RESERVED);
});

test('EmailVerificationRequested: timestamps are RFC 3339 strings, normalised by the binary form', (t) => {
  const event: EmailVerificationRequested = {
    userId: '0190a0b4-0000-7000-8000-000000000003',
    email: 'ada@example.com',
    expireTime: '2025-03-01T12:30:00Z',
  };
  t.deepEqual(EmailVerificationRequested.toJSON(event), { ...event });
  const viaWire = EmailVerificationRequested.decode(EmailVerificationRequested.encode(event).finish());
  t.is(viaWire.expireTime, '2025-03-01T12:30:00.000Z');
  t.deepEqual(EmailVerificationRequested.fromJSON(EmailVerificationRequested.toJSON(viaWire)), viaWire);
});

test('ProductUpdated: a field mask is one comma-separated string of lowerCamelCase paths', (t) => {
  const event: ProductUpdated = { product: undefined, updateMask: ['price', 'quantityOnHand'] };
  t.deepEqual(ProductUpdated.toJSON(event), { updateMask: 'price,quantityOnHand' });
  t.deepEqual(ProductUpdated.fromJSON({ updateMask: 'price,quantityOnHand' }), event);
});

test('EventEnvelope: data nests the event JSON as an object and survives the wire', (t) => {
  const envelope: EventEnvelope = {
    id: '0190a0b4-0000-7000-8000-0000000000ee',
    type: ItemAdded.$type,
    streamId: itemAdded.cartId,
    streamType: 'cart',
    version: 3,
    position: 9_007_199_254_740_991,
    occurredAt: '2025-03-01T12:00:00.123Z',
    data: ItemAdded.toJSON(itemAdded) as Record<string, unknown>,
    metadata: { correlationId: 'c-1', causationId: 'c-1', actor: 'user:42', traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' },
  };
  const json = EventEnvelope.toJSON(envelope);
  t.deepEqual(json, {
    id: '0190a0b4-0000-7000-8000-0000000000ee',
    type: 'shop.cart.v1.ItemAdded',
    streamId: itemAdded.cartId,
    streamType: 'cart',
    version: 3,
    position: 9_007_199_254_740_991,
    occurredAt: '2025-03-01T12:00:00.123Z',
    data: {
      cartId: '0190a0b4-7c1e-7a3b-9d2f-1a2b3c4d5e6f',
      productId: '0190a0b4-7c1e-7a3b-9d2f-aaaaaaaaaaaa',
      productName: 'Espresso cup',
      quantity: 2,
      unitPrice: { amountCents: 1299, currency: 'USD' },
    },
    metadata: { correlationId: 'c-1', causationId: 'c-1', actor: 'user:42', traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' },
  });
  const viaWire = EventEnvelope.decode(EventEnvelope.encode(envelope).finish());
  t.deepEqual(viaWire, envelope);
  t.deepEqual(ItemAdded.fromJSON(EventEnvelope.fromJSON(JSON.parse(JSON.stringify(json))).data), itemAdded);
});
