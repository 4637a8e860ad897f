import { ValidationError } from '@shop/platform/errors';
import type { CallContext } from '@shop/platform/grpc/server';
import { isUuid } from '@shop/platform/ids';
import type { EventMetadata } from '@shop/eventsourcing';

/**
 * Input parsing shared by the user's gRPC services: every bad field is named as in the
 * proto (snake_case). The same helpers as services/cart/src/edge.ts (to be shared).
 */
export function uuid(field: string, value: string): string {
  if (!value) throw new ValidationError(field, 'is required');
  if (!isUuid(value)) throw new ValidationError(field, 'must be a UUID');
  return value.toLowerCase();
}

/** proto3 `optional int64 expected_version`: absent = no check. */
export function expectedVersion(value: number | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (!Number.isSafeInteger(value) || value < 0) throw new ValidationError('expected_version', 'must be a version (0 or more)');
  return value;
}

export function required(field: string, value: string): string {
  if (!value) throw new ValidationError(field, 'is required');
  return value;
}

/** What every event written for this call carries (DESIGN.md, "Event envelope"). */
export function metadataOf(ctx: CallContext): EventMetadata {
  const actor = ctx.metadata.get('x-actor')[0]?.toString();
  const traceparent = ctx.metadata.get('traceparent')[0]?.toString();
  return { correlationId: ctx.correlationId, ...(actor ? { actor } : {}), ...(traceparent ? { traceparent } : {}) };
}
