import { GraphQLError, type ExecutionResult } from 'graphql';
import { Repeater, type Plugin } from 'graphql-yoga';
import type { Revocations } from '@shop/platform/auth/revocations';
import type { Viewer } from './auth/viewer.js';
import { clientAddressOf, type GraphQLContext } from './context.js';

export interface SubscriptionLimits {
  /** Open subscriptions per client (a viewer, else a client address). */
  perClient: number;
  /** Open subscriptions of this process, all clients together. */
  perProcess: number;
  /** Longest a subscription stays open before it ends cleanly. */
  maxDurationMs: number;
}

/**
 * Who a subscription counts against: the signed-in viewer, else the client's address as
 * the Envoy edge saw it (clientAddressOf: its x-envoy-external-address, which is the
 * address a trusted proxy named when the edge trusts one, as in production behind
 * ingress-nginx, else the connection's peer; the same address the edge's rate limit and
 * the services' per-address limits count).
 */
export function clientKey(ctx: Pick<GraphQLContext, 'viewer' | 'request'>): string {
  if (ctx.viewer) return `user:${ctx.viewer.userId}`;
  return `addr:${clientAddressOf(ctx.request) ?? 'unknown'}`;
}

const refused = (message: string, code = 'TOO_MANY_REQUESTS') => ({ errors: [new GraphQLError(message, { extensions: { code } })] });

/**
 * Bounds the GraphQL subscriptions (SSE streams) a BFF holds: per client and per process
 * (over either cap the subscription is refused, TOO_MANY_REQUESTS, before its resolver
 * opens anything), and in time (after `maxDurationMs` the stream completes; clients
 * subscribe again). `endAll` completes every open stream: at shutdown, so that the HTTP
 * server can close instead of waiting for the streams until the forced exit.
 *
 * A signed-in viewer's token is checked once, when the stream opens; the stream would
 * outlive it. So it ends with UNAUTHENTICATED (an error result, then complete) as soon as
 * the token would no longer verify: at its `exp`, and when the viewer is revoked (a deleted
 * account). A revocation is heard from `Revocations.onRevoked` as it is added: no polling,
 * one comparison per open stream and revocation, and the stream (with its NATS
 * subscription) ends before a later event runs its resolvers, which would call services
 * with the revoked token. Nothing is passed on after that: the Repeater drops what is
 * pushed once it is stopped.
 */
export class SubscriptionGate {
  private readonly byClient = new Map<string, number>();
  /** Open streams: how to end each, and when it has ended. */
  private readonly open = new Map<() => void, Promise<void>>();
  private closed = false;

  constructor(private readonly limits: SubscriptionLimits) {}

  /** Open subscriptions, all clients together. */
  get size(): number {
    return this.open.size;
  }

  /** Completes every open subscription and refuses new ones; resolves once every stream has ended. */
  async endAll(): Promise<void> {
    this.closed = true;
    const ending = [...this.open];
    for (const [end] of ending) end();
    await Promise.all(ending.map(([, ended]) => ended));
  }

  plugin(): Plugin<GraphQLContext> {
    return {
      onSubscribe: ({ args, setResultAndStopExecution }) => {
        const ctx = args.contextValue as GraphQLContext;
        const key = clientKey(ctx);
        const held = this.byClient.get(key) ?? 0;
        if (this.closed) return setResultAndStopExecution(refused('the server is shutting down: subscribe again', 'SERVICE_UNAVAILABLE'));
        if (held >= this.limits.perClient) return setResultAndStopExecution(refused(`at most ${this.limits.perClient} open subscriptions per client`));
        if (this.open.size >= this.limits.perProcess) return setResultAndStopExecution(refused('this server holds as many subscriptions as it can: try again later'));
        // Reserved now, so that concurrent requests of one client cannot all pass the check.
        this.byClient.set(key, held + 1);
        let released = false;
        const release = () => {
          if (released) return;
          released = true;
          const left = (this.byClient.get(key) ?? 1) - 1;
          if (left > 0) this.byClient.set(key, left);
          else this.byClient.delete(key);
        };
        return {
          onSubscribeResult: ({ result, setResult }) => {
            if (!isAsyncIterable(result)) {
              // Refused by its resolver (an error result): nothing stays open.
              release();
              return;
            }
            setResult(this.bounded(result, release, ctx.viewer, ctx.revocations));
          },
        };
      },
    };
  }

  /**
   * The source stream, ended by the client, by the time limit or by `endAll` (cleanly), or
   * by the viewer's token expiring or being revoked (UNAUTHENTICATED), whichever comes first.
   */
  private bounded(source: AsyncIterable<ExecutionResult>, release: () => void, viewer: Viewer | null, revocations: Revocations | undefined): Repeater<ExecutionResult> {
    return new Repeater<ExecutionResult>(async (push, stop) => {
      const end = () => stop();
      // Pushed before the stop, so the client reads why before the stream completes.
      const refuse = (message: string) => {
        void push(refused(message, 'UNAUTHENTICATED'));
        stop();
      };
      let ended!: () => void;
      this.open.set(end, new Promise<void>((resolve) => (ended = resolve)));
      const untilExpiry = viewer?.expiresAt === undefined ? Infinity : viewer.expiresAt - Date.now();
      const timer = untilExpiry < this.limits.maxDurationMs ? setTimeout(() => refuse('access token expired'), untilExpiry) : setTimeout(end, this.limits.maxDurationMs);
      const unlisten = viewer
        ? revocations?.onRevoked((userId) => {
            if (userId === viewer.userId) refuse('access token revoked');
          })
        : undefined;
      // Revoked after the token was verified, while the resolver subscribed: before onRevoked listened.
      if (viewer && revocations?.has(viewer.userId)) refuse('access token revoked');
      const iterator = source[Symbol.asyncIterator]();
      const stopped = stop.then(() => ({ done: true as const, value: undefined }));
      try {
        for (;;) {
          const next = await Promise.race([iterator.next(), stopped]);
          if (next.done) break;
          await push(next.value);
        }
        stop();
      } catch (err) {
        stop(err);
      } finally {
        clearTimeout(timer);
        unlisten?.();
        this.open.delete(end);
        release();
        // Lets the source unsubscribe (NATS) whatever ended the stream.
        await Promise.resolve(iterator.return?.()).finally(ended);
      }
    });
  }
}

const isAsyncIterable = (x: unknown): x is AsyncIterable<unknown> => typeof x === 'object' && x !== null && Symbol.asyncIterator in x;
