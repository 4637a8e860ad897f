import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import * as grpc from '@grpc/grpc-js';
import pg from 'pg';
import { CartCommandServiceClient } from '@shop/contracts/shop/cart/v1/command_service';
import { insecure, promiseClient } from '@shop/platform/grpc/client';
import { grpcServices, urls } from '@shop/tools/topology';
import { checkOut, fillCart } from '../shop.js';

/**
 * The load a chaos case runs while its fault happens, as clients send it: cart commands
 * over gRPC through Envoy (anonymous carts, as the BFF sends a guest's), and checkouts
 * through the GraphQL edge (a signed-in buyer, one unit of the case's product each).
 * Open loop: commands go out on a schedule whatever the answers, and a cart's next
 * command waits for its previous answer, as a shopper's client would.
 *
 * Every acknowledged command is kept (cart, version, when), and a poller reads the cart
 * read model's versions every 100 ms to stamp when each became visible.
 */
export interface LoadOptions {
  /** Cart commands per second. */
  rate: number;
  /** Carts the commands go round. */
  carts: number;
  /** Checkouts started per second (0: none). */
  checkoutsPerSecond: number;
  productId: string;
  buyer: { id: string; token: string };
}

export interface Ack {
  cartId: string;
  version: number;
  at: number;
  /** When the read model first showed this version or a later one. */
  visibleAt?: number;
}

const COMMAND_DEADLINE_MS = 5_000;

export class Workload {
  readonly cartIds: string[];
  readonly acks: Ack[] = [];
  /** Cart commands sent, and how each one that failed failed (gRPC status names). */
  commandsSent = 0;
  readonly commandFailures = new Map<string, number>();
  /** One message per failure code, for the report. */
  readonly failureSamples = new Map<string, string>();
  checkoutsSent = 0;
  readonly checkoutFailures = new Map<string, number>();
  private readonly itemAdded = new Set<string>();
  private readonly inFlight = new Set<string>();
  private readonly pending = new Set<Promise<unknown>>();
  private readonly quantity = new Map<string, number>();
  private readonly client: CartCommandServiceClient;
  private readonly cartDb: pg.Pool;
  private stopped = false;
  private closed = false;
  private loops: Promise<void>[] = [];

  constructor(private readonly options: LoadOptions) {
    this.cartIds = Array.from({ length: options.carts }, () => randomUUID());
    const cartCommand = grpcServices.find((s) => s.name === 'cart-command')!;
    this.client = new CartCommandServiceClient(`127.0.0.1:${cartCommand.envoyPort}`, insecure());
    this.cartDb = new pg.Pool({ connectionString: urls.postgres('cart'), max: 2 });
    // The Postgres fault kills these connections; the poller retries on its next round.
    this.cartDb.on('error', () => {});
  }

  start(): void {
    this.loops = [this.commandLoop(), this.visibilityLoop()];
    if (this.options.checkoutsPerSecond > 0) this.loops.push(this.checkoutLoop());
  }

  /** Stops sending and waits for every answer still out. The visibility poller goes on until `close`. */
  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.allSettled([...this.pending]);
  }

  async close(): Promise<void> {
    this.stopped = true;
    this.closed = true;
    await Promise.allSettled(this.loops);
    this.client.close();
    await this.cartDb.end();
  }

  /** The highest version acknowledged per cart. */
  ackedVersions(): Map<string, number> {
    const out = new Map<string, number>();
    for (const a of this.acks) if (a.version > (out.get(a.cartId) ?? 0)) out.set(a.cartId, a.version);
    return out;
  }

  /** Resolves when every acknowledged command is visible in the read model; false after `timeoutMs`. */
  async allVisible(timeoutMs: number): Promise<boolean> {
    const until = Date.now() + timeoutMs;
    while (Date.now() < until) {
      if (this.acks.every((a) => a.visibleAt !== undefined)) return true;
      await sleep(100);
    }
    return this.acks.every((a) => a.visibleAt !== undefined);
  }

  private track<T>(p: Promise<T>): Promise<T> {
    this.pending.add(p);
    void p.finally(() => this.pending.delete(p)).catch(() => {});
    return p;
  }

  private async commandLoop(): Promise<void> {
    const cart = promiseClient(this.client, COMMAND_DEADLINE_MS, false);
    const intervalMs = 10;
    const perTick = this.options.rate / (1000 / intervalMs);
    let due = 0;
    let next = 0;
    const started = Date.now();
    let ticks = 0;
    while (!this.stopped) {
      due += perTick;
      while (due >= 1) {
        due -= 1;
        // Round robin, passing over a cart whose previous command is still out.
        for (let tries = 0; tries < this.cartIds.length; tries++) {
          const cartId = this.cartIds[next++ % this.cartIds.length]!;
          if (this.inFlight.has(cartId)) continue;
          this.send(cart, cartId);
          break;
        }
      }
      ticks++;
      await sleep(Math.max(0, started + ticks * intervalMs - Date.now()));
    }
  }

  private send(cart: ReturnType<typeof promiseClient<CartCommandServiceClient>>, cartId: string): void {
    this.inFlight.add(cartId);
    this.commandsSent++;
    const { productId } = this.options;
    const q = ((this.quantity.get(cartId) ?? 1) % 9) + 1;
    const call = this.itemAdded.has(cartId)
      ? cart.changeQuantity({ cartId, productId, quantity: q })
      : cart.addItem({ cartId, productId, quantity: 1 });
    void this.track(
      call
        .then((res) => {
          this.itemAdded.add(cartId);
          this.quantity.set(cartId, q);
          const version = Number(res.result?.version ?? 0);
          if (version > 0) this.acks.push({ cartId, version, at: Date.now() });
        })
        .catch((err: grpc.ServiceError) => {
          const code = grpc.status[err.code] ?? String(err.code);
          count(this.commandFailures, code);
          if (!this.failureSamples.has(code)) this.failureSamples.set(code, err.details ?? err.message);
        })
        .finally(() => this.inFlight.delete(cartId)),
    );
  }

  private async checkoutLoop(): Promise<void> {
    const { buyer, productId, checkoutsPerSecond } = this.options;
    const everyMs = 1000 / checkoutsPerSecond;
    const started = Date.now();
    for (let i = 0; !this.stopped; i++) {
      this.checkoutsSent++;
      void this.track(
        (async () => {
          try {
            const cartId = await fillCart(buyer.token, [[productId, 1]]);
            const res = await checkOut(buyer.token, cartId);
            // Orders are read back by customer (checks.ts), those of lost answers included.
            if (res.errors) count(this.checkoutFailures, res.errors[0]?.extensions?.code ?? `HTTP ${res.status}`);
          } catch (err) {
            // fillCart throws the GraphQL errors as JSON; a refused connection is a fetch error.
            count(this.checkoutFailures, codeOf(err));
          }
        })(),
      );
      await sleep(Math.max(0, started + (i + 1) * everyMs - Date.now()));
    }
  }

  private async visibilityLoop(): Promise<void> {
    while (!this.closed) {
      try {
        const { rows } = await this.cartDb.query<{ id: string; version: string }>('SELECT id, version FROM cart_read.carts WHERE id = ANY($1::uuid[])', [this.cartIds]);
        const now = Date.now();
        const seen = new Map(rows.map((r) => [r.id, Number(r.version)]));
        for (const a of this.acks) if (a.visibleAt === undefined && (seen.get(a.cartId) ?? 0) >= a.version) a.visibleAt = now;
      } catch {
        // Postgres is down (a fault): look again on the next round.
      }
      await sleep(100);
    }
  }
}

function count(m: Map<string, number>, key: string): void {
  m.set(key, (m.get(key) ?? 0) + 1);
}

function codeOf(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  const m = /"code":"([A-Z_]+)"/.exec(text);
  return m ? m[1]! : 'CONNECTION';
}
