export { orderMigrations } from './migrations.js';
export { orderTopics } from './topics.js';
export { Orders, type CheckoutRuntime } from './app/orders.js';
export { checkoutRuntime, localEffects, remoteEffects, ORDER_STREAM_TYPE } from './app/checkout-effects.js';
export { grpcInventory, grpcProductCatalog } from './adapters/grpc/product-client.js';
export { orderService, ORDER_SERVICE } from './adapters/grpc/order-service.js';
export { postgresOrders } from './adapters/postgres/order-repository.js';
export { checkoutWorkflow, checkoutCodec, CHECKOUT_STREAM_TYPE, type CheckoutInput, type CheckoutCommand, type CheckoutState } from './domain/checkout.js';
export type { Order, OrderStatus } from './domain/order.js';
