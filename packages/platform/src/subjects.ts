/**
 * NATS subjects of the system, in one place: publishers and subscribers (the BFF) import
 * them from here rather than spelling them out. Payloads are protobuf messages in their
 * proto3 JSON form unless a subject says otherwise.
 */
export const subjects = {
  /** A cart's read model changed: `{ cartId, version, discarded? }` (cart projector → BFF). */
  cartUpdated: (cartId: string) => `shop.cart.updated.${cartId}`,
  /** Every cart's notices (a wildcard subscription). */
  cartUpdatedAll: 'shop.cart.updated.*',
  /** shop.product.v1.CatalogChanged (product service → the BFF's catalog cache). */
  catalogChanged: 'shop.catalog.changed',
  /** shop.notifications.v1.OrderStatusNotification for one customer (notifications → BFF). */
  orderStatus: (customerId: string) => `shop.notifications.order.${customerId}`,
  /** An email to send, e.g. a verification token (user-command → mailer). */
  email: (userId: string) => `shop.notifications.email.${userId}`,
  /** shop.user.v1.AccessRevocation: a user's access tokens stop verifying (user-command → BFF; auth/revocations.ts). */
  accessRevoked: 'shop.auth.revoked',
} as const;
