import * as grpc from '@grpc/grpc-js';
import { fromServiceError, isServiceError } from './status.js';

type UnaryMethod<Req, Res> = (
  request: Req,
  metadata: grpc.Metadata,
  options: Partial<grpc.CallOptions>,
  callback: (err: grpc.ServiceError | null, response: Res) => void,
) => grpc.ClientUnaryCall;

export interface CallOptions {
  /** Per-call deadline in milliseconds (default: the client's). */
  timeoutMs?: number;
  metadata?: Record<string, string>;
}

/** A ts-proto grpc-js client with every unary method as a promise-returning function. */
export type PromiseClient<C> = {
  [K in keyof C as C[K] extends UnaryMethod<any, any> ? K : never]: C[K] extends UnaryMethod<infer Req, infer Res>
    ? (request: Req, options?: CallOptions) => Promise<Res>
    : never;
};

/**
 * Wraps a generated client: promises instead of callbacks, a default deadline on every
 * call (a call without a deadline can hang forever), and gRPC errors turned back into
 * the platform's domain errors.
 */
export function promiseClient<C extends grpc.Client>(
  client: C,
  defaultTimeoutMs = 5_000,
  /** Keep the raw grpc ServiceError (status code, trailers) instead of domain errors; for tests of a service's wire behaviour. */
  mapErrors = true,
  /** Deadlines of methods that need more (or less) than the default, by method name (e.g. password hashing). */
  timeoutsMs: Partial<Record<keyof PromiseClient<C>, number>> = {},
): PromiseClient<C> {
  return new Proxy({} as PromiseClient<C>, {
    get(_, prop: string) {
      const method = (client as unknown as Record<string, unknown>)[prop];
      if (typeof method !== 'function') return undefined;
      return (request: unknown, options: CallOptions = {}) =>
        new Promise((resolve, reject) => {
          const md = new grpc.Metadata();
          for (const [k, v] of Object.entries(options.metadata ?? {})) md.set(k, v);
          const deadline = Date.now() + (options.timeoutMs ?? (timeoutsMs as Record<string, number | undefined>)[prop] ?? defaultTimeoutMs);
          (method as UnaryMethod<unknown, unknown>).call(client, request, md, { deadline }, (err, res) => {
            if (err) reject(mapErrors && isServiceError(err) ? fromServiceError(err) : err);
            else resolve(res);
          });
        });
    },
  });
}

export const insecure = () => grpc.credentials.createInsecure();

/**
 * The gRPC metadata a call to another service carries so that it joins the caller's
 * correlation and trace (`x-correlation-id`, `traceparent`).
 */
export function traceMetadata(trace: { correlationId?: string | undefined; traceparent?: string | undefined }): Record<string, string> {
  return {
    ...(trace.correlationId ? { 'x-correlation-id': trace.correlationId } : {}),
    ...(trace.traceparent ? { traceparent: trace.traceparent } : {}),
  };
}

/**
 * A promise client whose every call also carries `extra()`'s metadata (this service's
 * identity, say), under whatever the call passes itself.
 */
export function withMetadata<C extends object>(client: C, extra: () => Promise<Record<string, string>> | Record<string, string>): C {
  return new Proxy(client, {
    get(target, prop) {
      const method = (target as Record<string | symbol, unknown>)[prop];
      if (typeof method !== 'function') return method;
      return async (request: unknown, options: CallOptions = {}) =>
        (method as (r: unknown, o: CallOptions) => Promise<unknown>).call(target, request, { ...options, metadata: { ...(await extra()), ...options.metadata } });
    },
  });
}
