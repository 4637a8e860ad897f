import { ValidationError } from '../errors.js';
import { isUuid } from '../ids.js';
import type { EventMetadata } from '../outbox.js';
import type { CallContext } from './server.js';

/**
 * Parsing of request fields shared by every gRPC service: a bad field is named as in the
 * proto (snake_case), so that the client can point at it.
 */
export function uuid(field: string, value: string): string {
  if (!value) throw new ValidationError(field, 'is required');
  if (!isUuid(value)) throw new ValidationError(field, 'must be a UUID');
  // One spelling per id, so that a stream or a row is never split by case.
  return value.toLowerCase();
}

export function required(field: string, value: string): string {
  if (!value) throw new ValidationError(field, 'is required');
  return value;
}

/**
 * proto3 `optional int64 expected_version` (or a CRUD service's `expected_revision`): absent =
 * no check (the server retries on conflict).
 */
export function expectedVersion(value: number | undefined, field = 'expected_version'): number | undefined {
  if (value === undefined) return undefined;
  if (!Number.isSafeInteger(value) || value < 0) throw new ValidationError(field, 'must be a version (0 or more)');
  return value;
}

/** What every event written for this call carries (DESIGN.md, "Event envelope"). */
export function metadataOf(ctx: Pick<CallContext, 'metadata' | 'correlationId' | 'caller'>): EventMetadata {
  const actor = actorOf(ctx);
  const traceparent = ctx.metadata.get('traceparent')[0]?.toString();
  return { correlationId: ctx.correlationId, ...(actor ? { actor } : {}), ...(traceparent ? { traceparent } : {}) };
}

/**
 * Who did it, as the server verified the caller (`customer:<id>`, `service:<name>`), never
 * what a header says: an audit trail a caller can write is none. A service may name the
 * role it acted in (`x-actor`, e.g. the BFF's `admin`): `service:bff/admin`. Anonymous
 * callers leave no actor.
 */
export function actorOf(ctx: Pick<CallContext, 'metadata' | 'caller'>): string | undefined {
  const { caller } = ctx;
  if (caller.kind === 'customer') return `customer:${caller.userId}`;
  if (caller.kind === 'anonymous') return undefined;
  const role = ctx.metadata.get('x-actor')[0]?.toString();
  return role && /^[\w.-]{1,40}$/.test(role) ? `service:${caller.name}/${role}` : `service:${caller.name}`;
}

/**
 * How long a handler may wait (for a read model to catch up) and still answer before
 * the caller's deadline: the configured wait, cut short by a margin of a fifth of what
 * remains (at least 100 ms) for reading and answering.
 */
export function waitBudget(ctx: Pick<CallContext, 'deadline'>, maxWaitMs: number, now = Date.now()): number {
  const deadline = ctx.deadline instanceof Date ? ctx.deadline.getTime() : ctx.deadline;
  if (!Number.isFinite(deadline)) return maxWaitMs;
  const remaining = deadline - now;
  return Math.max(0, Math.min(maxWaitMs, remaining - Math.max(100, remaining / 5)));
}

/**
 * Refuses a request with a NUL character in any string field, naming the field (its proto
 * name, e.g. `lines[2].product_name`). Protobuf strings may hold U+0000; Postgres text may
 * not, so such a value would otherwise fail deep in a write as an INTERNAL error. Checked
 * for every call by the gRPC bootstrap (server.ts), before the handler runs.
 */
export function refuseNulCharacters(request: unknown): void {
  const field = nulField(request, '');
  if (field !== undefined) throw new ValidationError(field || 'request', 'must not contain NUL characters');
}

function nulField(value: unknown, path: string): string | undefined {
  if (typeof value === 'string') return value.includes('\u0000') ? path : undefined;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const found = nulField(value[i], `${path}[${i}]`);
      if (found !== undefined) return found;
    }
    return undefined;
  }
  if (value && typeof value === 'object' && !Buffer.isBuffer(value) && !(value instanceof Uint8Array) && !(value instanceof Date)) {
    for (const [key, v] of Object.entries(value)) {
      const found = nulField(v, path ? `${path}.${snakeCase(key)}` : snakeCase(key));
      if (found !== undefined) return found;
    }
  }
  return undefined;
}

/** ts-proto's camelCase field name back to its proto name. */
export const snakeCase = (name: string) => name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
