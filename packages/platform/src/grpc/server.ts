import { randomUUID } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import { HealthImplementation } from 'grpc-health-check';
import type { Registry } from 'prom-client';
import { prom } from '../metrics.js';
import type { Logger } from '../log.js';
import type { Readiness } from '../ops-server.js';
import { toStatus } from './status.js';
import { ANONYMOUS, type CallerAuthenticator, type RequestCaller } from '../auth/caller.js';
import { addReflection, buildReflectionIndex } from './reflection.js';
import { refuseNulCharacters } from './edge.js';
import { reasonOf, requestTypes, tolerantDecoding, Undecodable } from './undecodable.js';
import type { DescMessage } from '@bufbuild/protobuf';
import { loadDescriptorSet } from '@shop/contracts/descriptors';
import { callerAuthenticator, type CallerAuthConfig } from '../auth/config.js';
import type { ProcessContext } from '../process.js';

/** What a handler sees besides its request. */
export interface CallContext {
  metadata: grpc.Metadata;
  /** Child logger carrying the method and correlation id. */
  log: Logger;
  correlationId: string;
  deadline: grpc.Deadline;
  /** Who is calling, as verified from the call's tokens (anonymous when the server authenticates no one). */
  caller: RequestCaller;
}

export type UnaryHandler<Req = any, Res = any> = (request: Req, ctx: CallContext) => Promise<Res>;

/**
 * A service implementation as plain async functions keyed by the method names of the
 * generated service definition (camelCase, as ts-proto names them).
 */
export type Handlers<D extends grpc.ServiceDefinition> = {
  [K in keyof D]: D[K] extends grpc.MethodDefinition<infer Req, infer Res> ? UnaryHandler<Req, Res> : never;
};

export interface ServiceBinding {
  /** Fully qualified name, e.g. `shop.product.v1.ProductService` (health and reflection use it). */
  name: string;
  definition: grpc.ServiceDefinition;
  handlers: Record<string, UnaryHandler>;
}

export function bind<D extends grpc.ServiceDefinition>(name: string, definition: D, handlers: Handlers<D>): ServiceBinding {
  return { name, definition, handlers: handlers as Record<string, UnaryHandler> };
}

export interface GrpcServer {
  port: number;
  health: HealthImplementation;
  /** Stop accepting calls, let in-flight ones finish (bounded), then close. */
  shutdown(timeoutMs?: number): Promise<void>;
}

/**
 * Starts a gRPC server with the platform's defaults: standard health service, server
 * reflection (limited to the services actually served), one error mapping, a log line
 * and a latency histogram per call.
 */
export async function startGrpcServer(opts: {
  port: number;
  host?: string;
  services: ServiceBinding[];
  descriptorSet: Buffer;
  log: Logger;
  registry: Registry;
  /** Verifies the caller of every call (auth/caller.ts); without it every caller is anonymous. */
  authenticate?: CallerAuthenticator;
  /**
   * What the health service reports: SERVING while it is ready, NOT_SERVING while a check
   * fails (a main passes runProcess's); without it, SERVING until shutdown.
   */
  readiness?: Readiness;
}): Promise<GrpcServer> {
  const server = new grpc.Server({
    'grpc.keepalive_permit_without_calls': 1,
    'grpc.max_receive_message_length': 4 * 1024 * 1024,
  });
  const histogram = new prom.Histogram({
    name: 'grpc_server_handling_seconds',
    help: 'Latency of gRPC calls handled, by method and status code.',
    labelNames: ['grpc_service', 'grpc_method', 'grpc_code'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [opts.registry],
  });

  const types = requestTypes(opts.descriptorSet);
  for (const svc of opts.services) {
    const impl: grpc.UntypedServiceImplementation = {};
    const definition: Record<string, grpc.MethodDefinition<unknown, unknown>> = {};
    for (const [method, def] of Object.entries(svc.definition)) {
      definition[method] = tolerantDecoding(def);
      const handler = svc.handlers[method];
      if (!handler) throw new Error(`${svc.name}: no handler for ${method}`);
      if (def.requestStream || def.responseStream) {
        throw new Error(`${svc.name}.${method}: streaming methods are not supported by this bootstrap`);
      }
      impl[method] = wrapUnary(svc.name, def.originalName ?? method, handler, opts.log, histogram, opts.authenticate, types.requestTypeOf(def.path));
    }
    server.addService(definition as grpc.ServiceDefinition, impl);
  }

  // '' (the server as a whole, which Envoy's health checks ask about) and each service follow
  // readiness: a replica that answers but cannot serve (its database lost) is taken out of
  // balancing by the health check, since outlier ejection takes out only hosts it cannot reach.
  const names = ['', ...opts.services.map((s) => s.name)];
  const health = new HealthImplementation(Object.fromEntries(names.map((n) => [n, 'SERVING'])));
  const setHealth = (serving: boolean) => {
    for (const n of names) health.setStatus(n, serving ? 'SERVING' : 'NOT_SERVING');
  };
  const unwatch = opts.readiness?.watch(setHealth);
  health.addToServer(server);
  const served = opts.services.map((s) => s.name);
  addReflection(server, buildReflectionIndex(opts.descriptorSet, served));

  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync(`${opts.host ?? '127.0.0.1'}:${opts.port}`, grpc.ServerCredentials.createInsecure(), (err, p) =>
      err ? reject(err) : resolve(p),
    ),
  ).catch((err: unknown) => {
    unwatch?.();
    throw err;
  });
  opts.log.info({ port, services: opts.services.map((s) => s.name) }, 'gRPC server listening');

  return {
    port,
    health,
    shutdown: (timeoutMs = 5_000) =>
      new Promise<void>((resolve) => {
        // For good: no later readiness run may turn it back.
        unwatch?.();
        setHealth(false);
        const force = setTimeout(() => {
          server.forceShutdown();
          resolve();
        }, timeoutMs);
        server.tryShutdown(() => {
          clearTimeout(force);
          resolve();
        });
      }),
  };
}

/** @internal exported for its unit test */
export function wrapUnary(
  service: string,
  method: string,
  handler: UnaryHandler,
  log: Logger,
  histogram: prom.Histogram<'grpc_service' | 'grpc_method' | 'grpc_code'>,
  authenticate?: CallerAuthenticator,
  /** The request's type in the descriptor set, to name the field of a request that did not decode. */
  requestType?: DescMessage,
): grpc.handleUnaryCall<unknown, unknown> {
  return (call, callback) => {
    const started = process.hrtime.bigint();
    const correlationId = call.metadata.get('x-correlation-id')[0]?.toString() ?? randomUUID();
    // The call's logger is made when first used: most calls log nothing at the default
    // level, and a child logger (its bindings scrubbed of secrets) costs a few µs each.
    let callLog: Logger | undefined;
    const ctx: CallContext = {
      metadata: call.metadata,
      get log() {
        return (callLog ??= log.child({ method: `${service}/${method}`, correlationId }));
      },
      correlationId,
      deadline: call.getDeadline(),
      caller: ANONYMOUS,
    };
    const finish = (code: grpc.status) => {
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      histogram.observe({ grpc_service: service, grpc_method: method, grpc_code: grpc.status[code] }, seconds);
      const level = code === grpc.status.OK ? 'debug' : code === grpc.status.INTERNAL ? 'error' : 'info';
      if (log.isLevelEnabled(level)) ctx.log[level]({ code: grpc.status[code], ms: Math.round(seconds * 1000) }, 'call');
    };
    // A call whose caller has already given up (it waited in a queue while the process
    // was saturated) is not started: under overload, work nobody waits for only makes
    // everyone else later.
    if (isPast(ctx.deadline)) {
      finish(grpc.status.DEADLINE_EXCEEDED);
      callback({ code: grpc.status.DEADLINE_EXCEEDED, details: 'deadline exceeded before the call was started' });
      return;
    }
    const header = (name: string) => call.metadata.get(name)[0]?.toString();
    (authenticate ? authenticate(header) : Promise.resolve(ANONYMOUS))
      .then((caller) => {
        if (call.request instanceof Undecodable) {
          const reason = reasonOf(call.request, requestType);
          // Nothing out of range found: maybe the client's bytes, maybe a generated decoder's bug.
          if (reason.field === 'request') ctx.log.warn({ err: call.request.error, bytes: call.request.bytes.length }, 'a request did not decode');
          throw reason;
        }
        refuseNulCharacters(call.request);
        ctx.caller = caller;
        return handler(call.request, ctx);
      })
      .then(
        (response) => {
          finish(grpc.status.OK);
          callback(null, response);
        },
        (err: unknown) => {
          const referenceId = randomUUID();
          const st = toStatus(err, referenceId);
          if (st.code === grpc.status.INTERNAL) ctx.log.error({ err, referenceId }, 'unhandled error');
          finish(st.code);
          callback(st);
        },
      );
  };
}

function isPast(deadline: grpc.Deadline): boolean {
  const at = deadline instanceof Date ? deadline.getTime() : deadline;
  return Number.isFinite(at) && at <= Date.now();
}

/** What serveGrpc reads: spread `grpcServerEnv` (../config.ts) into the process's schema. */
export type GrpcServerConfig = { GRPC_PORT: number; LISTEN_HOST: string };

/**
 * Serves `services` as every gRPC process does (startGrpcServer): on GRPC_PORT at
 * LISTEN_HOST, with health following the process's readiness, reflection, metrics, and
 * callers verified with AUTH_JWKS and SERVICE_TOKEN_KEY (`...callerAuthEnv`), or with the
 * `authenticate` given (user-command verifies the tokens it issues with its own keys).
 * Called last by a main, its shutdown hook is the first of the main's (right after
 * runProcess's `readiness`): the server stops taking calls and drains before anything it
 * uses stops.
 */
export function serveGrpc(ctx: ProcessContext<GrpcServerConfig & CallerAuthConfig>, services: ServiceBinding[]): Promise<GrpcServer>;
export function serveGrpc(ctx: ProcessContext<GrpcServerConfig>, services: ServiceBinding[], opts: { authenticate: CallerAuthenticator }): Promise<GrpcServer>;
export async function serveGrpc(
  ctx: ProcessContext<GrpcServerConfig & Partial<CallerAuthConfig>>,
  services: ServiceBinding[],
  opts?: { authenticate: CallerAuthenticator },
): Promise<GrpcServer> {
  const { config } = ctx;
  const authenticate = opts?.authenticate ?? callerAuthenticator(config as CallerAuthConfig);
  const server = await startGrpcServer({
    port: config.GRPC_PORT,
    host: config.LISTEN_HOST,
    services,
    descriptorSet: loadDescriptorSet(),
    log: ctx.log,
    registry: ctx.registry,
    readiness: ctx.readiness,
    authenticate,
  });
  ctx.lifecycle.onShutdown('grpc', () => server.shutdown());
  return server;
}
