/**
 * Command ack → visible in the cart's read model, at a steady rate (open loop): the
 * measuring part of ack-to-visible, shared with cost-growth.
 *
 * ChangeQuantity (a new quantity each time) on the running cart-command, sent on a fixed
 * schedule regardless of responses (round robin over the carts, passing over a cart whose
 * previous command is still in flight, as a shopper's client would wait). t_ack = response
 * received; t_visible = the projector's NATS notice `shop.cart.updated.<cartId>` with
 * version ≥ the version the command returned.
 *
 * A notice can arrive before the ack (the projector beat the response back to the
 * client): such a command counts as visible at its ack (0 ms), and is counted apart.
 *
 * At most two seconds' worth of commands (2 × the rate) are in flight: one due beyond that
 * is skipped and counted (skippedAtCap), never queued. Below saturation an ack comes well
 * within two seconds and the cap is never reached.
 */
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { connect, JSONCodec } from 'nats';
import { CartCommandServiceClient } from '@shop/contracts/shop/cart/v1/command_service';
import { insecure, promiseClient } from '@shop/platform/grpc/client';
import { urls } from '@shop/tools/topology';
import { busyCores, cpuSnapshot } from './results.js';
import { ensureBenchProduct, grpcAddress, metricsDelta, openLoop, scrapeMetrics } from './stack.js';
import { distribution, fmtMs, fmtNum, nowMs, round, roundDist, type Distribution } from './stats.js';

/** A command whose notice has not come this long after its ack counts as never seen. */
export const VISIBLE_TIMEOUT_MS = 5_000;

interface Sent {
  cart: number;
  tSend: number;
  tAck?: number;
  version?: number;
  /** The command decided nothing (the quantity was already that): no new version to see. */
  noop?: boolean;
  tVisible?: number;
  error?: string;
}

interface CartTrack {
  id: string;
  /** Notices seen: version and arrival time, in arrival order. */
  seen: { version: number; at: number }[];
  /** Acked commands still waiting for their notice. */
  pending: Sent[];
  turn: number;
  /** A command of this cart is in flight. */
  busy: boolean;
}

export interface Phase {
  rate: number;
  seconds: number;
  sent: number;
  achievedRate: number;
  acked: number;
  errors: number;
  firstError?: string;
  noops: number;
  sentToBusyCart: number;
  /** Commands due while maxInFlight were in flight: not sent. */
  skippedAtCap: number;
  maxInFlight: number;
  visibleBeforeAck: number;
  neverSeen: number;
  lag: Distribution;
  sendToAck: Distribution;
  sendToVisible: Distribution;
  schedule: { lag: Distribution };
  busyCores?: number;
  processDeltas: { cartCommand: Record<string, number>; cartProjector: Record<string, number> };
}

export interface VisibilityProbe {
  /** Adds a line to every cart and waits (15 s at most) for all their first notices; seconds taken. */
  setUp(): Promise<number>;
  /** ChangeQuantity at `rate`/s for `seconds` over the probe's carts, measured. */
  phase(rate: number, seconds: number): Promise<Phase>;
  /** Notices of the probe's carts received so far. */
  notices(): number;
  close(): Promise<void>;
}

/**
 * `cartCount` new carts of the bench product, their notices followed on NATS from now on.
 * The caller waits for product, cart-command and cart-projector to be ready first.
 */
export async function openVisibilityProbe(opts: { cartCount: number; name: string }): Promise<VisibilityProbe> {
  const carts: CartTrack[] = Array.from({ length: opts.cartCount }, () => ({ id: randomUUID(), seen: [], pending: [], turn: 0, busy: false }));
  const byId = new Map(carts.map((c) => [c.id, c]));

  /** Earliest arrival of a notice at or past `version`. */
  const seenAt = (c: CartTrack, version: number) => {
    let at: number | undefined;
    for (const s of c.seen) if (s.version >= version && (at === undefined || s.at < at)) at = s.at;
    return at;
  };

  const nc = await connect({ servers: urls.nats, name: opts.name });
  const codec = JSONCodec<{ cartId: string; version: number }>();
  let notices = 0;
  nc.subscribe('shop.cart.updated.>', {
    callback: (err, msg) => {
      if (err) return;
      const at = nowMs();
      let notice: { cartId: string; version: number };
      try {
        notice = codec.decode(msg.data);
      } catch {
        return;
      }
      const c = byId.get(notice.cartId);
      if (!c) return; // another client's cart
      notices++;
      c.seen.push({ version: notice.version, at });
      c.pending = c.pending.filter((s) => {
        if (s.version! > notice.version) return true;
        s.tVisible = at;
        return false;
      });
    },
  });
  await nc.flush();

  const product = await ensureBenchProduct();
  const rawCommands = new CartCommandServiceClient(grpcAddress('cart-command'), insecure());
  // A 5 s deadline, as a client would give up: past saturation the run ends instead of queueing for long.
  const commands = promiseClient(rawCommands, 5_000);

  async function setUp(): Promise<number> {
    const setupStart = nowMs();
    const versions = new Map<string, number>();
    for (let i = 0; i < carts.length; i += 20) {
      await Promise.all(
        carts.slice(i, i + 20).map(async (c) => {
          const { result } = await commands.addItem({ cartId: c.id, productId: product.id, quantity: 1 });
          versions.set(c.id, result?.version ?? 1);
        }),
      );
    }
    const setupDeadline = nowMs() + 15_000;
    while (carts.some((c) => seenAt(c, versions.get(c.id)!) === undefined) && nowMs() < setupDeadline) await sleep(20);
    const unseen = carts.filter((c) => seenAt(c, versions.get(c.id)!) === undefined).length;
    if (unseen > 0) throw new Error(`${unseen} of ${carts.length} set-up carts never showed up on NATS within 15 s: is the cart-projector running? (npm run stack -- status)`);
    return (nowMs() - setupStart) / 1000;
  }

  /**
   * Sends ChangeQuantity on a fixed schedule for `seconds`, waits for the acks and up to 5 s
   * for their notices, and measures. Round robin over the carts, passing over a cart whose
   * previous command is still in flight (a shopper's client waits for its ack), so that
   * commands on one cart never race each other into optimistic-concurrency retries; only
   * when every cart is busy does one get a second command in flight (counted).
   */
  async function phase(rate: number, seconds: number): Promise<Phase> {
    const sent: Sent[] = [];
    const inFlight: Promise<void>[] = [];
    const scrape = async () => ({
      command: await scrapeMetrics('cart-command', ['process_cpu_seconds_total', 'relay_events_published_total']),
      projector: await scrapeMetrics('cart-projector', ['process_cpu_seconds_total', 'processor_events_total{outcome="applied"}', 'processor_batch_seconds_count', 'processor_batch_seconds_sum']),
    });
    const before = await scrape();
    const cpuBefore = cpuSnapshot();
    let nextCart = 0;
    let sentToBusyCart = 0;
    const schedule = await openLoop(rate, seconds * 1000, () => {
      let cart = nextCart;
      for (let k = 0; k < carts.length && carts[cart]!.busy; k++) cart = (cart + 1) % carts.length;
      if (carts[cart]!.busy) sentToBusyCart++;
      nextCart = (cart + 1) % carts.length;
      const c = carts[cart]!;
      c.busy = true;
      // 2, 3, …, 91, 2, …: every command changes the line, so every one appends an event.
      const quantity = 2 + (c.turn++ % 90);
      const s: Sent = { cart, tSend: nowMs() };
      sent.push(s);
      const call = commands
        .changeQuantity({ cartId: c.id, productId: product.id, quantity })
        .finally(() => (c.busy = false))
        .then(
          ({ result }) => {
            s.tAck = nowMs();
            s.version = result?.version ?? 0;
            if (!result?.position) {
              s.noop = true;
              return;
            }
            const at = seenAt(c, s.version);
            if (at !== undefined) s.tVisible = at;
            else c.pending.push(s);
          },
          (err: unknown) => {
            s.error = err instanceof Error ? err.message : String(err);
          },
        );
      inFlight.push(call);
      return call;
    });
    await Promise.all(inFlight);
    const busy = busyCores(cpuBefore, cpuSnapshot());
    // Give the last commands their 5 s to show up.
    const lastAck = Math.max(0, ...sent.map((s) => s.tAck ?? 0));
    while (carts.some((c) => c.pending.length > 0) && nowMs() < lastAck + VISIBLE_TIMEOUT_MS) await sleep(20);
    for (const c of carts) c.pending = [];
    const after = await scrape();

    const acked = sent.filter((s) => s.tAck !== undefined && !s.noop);
    const errors = sent.filter((s) => s.error);
    const visibleInTime = acked.filter((s) => s.tVisible !== undefined && s.tVisible - s.tAck! <= VISIBLE_TIMEOUT_MS);
    return {
      rate,
      seconds,
      sent: sent.length,
      achievedRate: round(sent.length / schedule.seconds, 2),
      acked: acked.length,
      errors: errors.length,
      ...(errors[0] ? { firstError: errors[0].error } : {}),
      noops: sent.filter((s) => s.noop).length,
      sentToBusyCart,
      skippedAtCap: schedule.skippedAtCap,
      maxInFlight: schedule.maxInFlight,
      visibleBeforeAck: visibleInTime.filter((s) => s.tVisible! < s.tAck!).length,
      neverSeen: acked.length - visibleInTime.length,
      lag: distribution(visibleInTime.map((s) => Math.max(0, s.tVisible! - s.tAck!))),
      sendToAck: distribution(acked.map((s) => s.tAck! - s.tSend)),
      sendToVisible: distribution(visibleInTime.map((s) => Math.max(s.tVisible!, s.tAck!) - s.tSend)),
      schedule,
      ...(busy === undefined ? {} : { busyCores: busy }),
      processDeltas: { cartCommand: metricsDelta(before.command, after.command), cartProjector: metricsDelta(before.projector, after.projector) },
    };
  }

  return {
    setUp,
    phase,
    notices: () => notices,
    async close() {
      rawCommands.close();
      await nc.drain();
    },
  };
}

/** Prints a phase in four lines, the first starting with `label` (padded to the output's column). */
export function printPhase(label: string, p: Phase): void {
  console.log(
    `${label.padEnd(9)} ChangeQuantity at ${p.rate}/s for ${p.seconds}s: ${p.sent} sent (${fmtNum(p.achievedRate, 1)}/s achieved, schedule lag p99 ${fmtMs(p.schedule.lag.p99)}), ` +
      `${p.acked} acked, ${p.errors} errors${p.noops ? `, ${p.noops} no-ops` : ''}${p.sentToBusyCart ? `, ${p.sentToBusyCart} sent to a busy cart` : ''}` +
      `${p.skippedAtCap ? `, ${p.skippedAtCap} skipped (due while ${p.maxInFlight} were in flight)` : ''}`,
  );
  console.log(`          send → ack:      p50 ${fmtMs(p.sendToAck.p50)} p95 ${fmtMs(p.sendToAck.p95)} p99 ${fmtMs(p.sendToAck.p99)} max ${fmtMs(p.sendToAck.max)}`);
  console.log(
    `          ack → visible:   p50 ${fmtMs(p.lag.p50)} p95 ${fmtMs(p.lag.p95)} p99 ${fmtMs(p.lag.p99)} max ${fmtMs(p.lag.max)}` +
      ` (${p.visibleBeforeAck} visible before their ack; ${p.neverSeen} never seen within ${VISIBLE_TIMEOUT_MS / 1000}s)`,
  );
  const projector = p.processDeltas.cartProjector;
  const batches = projector.processor_batch_seconds_count ?? Number.NaN;
  console.log(
    `          meanwhile: machine ${p.busyCores ?? '?'} cores busy; projector ${fmtNum(projector['processor_events_total{outcome="applied"}'] ?? Number.NaN)} events in ${fmtNum(batches)} batches ` +
      `(mean ${fmtMs(((projector.processor_batch_seconds_sum ?? Number.NaN) * 1000) / batches)}); CPU cart-command ${fmtNum(p.processDeltas.cartCommand.process_cpu_seconds_total ?? Number.NaN, 1)}s, ` +
      `cart-projector ${fmtNum(projector.process_cpu_seconds_total ?? Number.NaN, 1)}s`,
  );
}

/** A phase as a result file keeps it. */
export function phaseDetails(p: Phase) {
  return {
    rate: p.rate,
    seconds: p.seconds,
    sent: p.sent,
    achievedRate: p.achievedRate,
    acked: p.acked,
    errors: p.errors,
    firstError: p.firstError,
    noops: p.noops,
    sentToBusyCart: p.sentToBusyCart,
    skippedAtCap: p.skippedAtCap,
    maxInFlight: p.maxInFlight,
    visibleBeforeAck: p.visibleBeforeAck,
    neverSeenWithin5s: p.neverSeen,
    ackToVisibleMs: roundDist(p.lag),
    sendToAckMs: roundDist(p.sendToAck),
    sendToVisibleMs: roundDist(p.sendToVisible),
    scheduleLagMs: roundDist(p.schedule.lag),
    busyCoresDuringRun: p.busyCores,
    processDeltas: p.processDeltas,
  };
}
