import { createHash } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ChargeOutcome } from '../../domain/payment.js';
import type { ChargeRequest, PaymentGateway, RefundRequest } from '../../app/ports.js';

/** Decline reasons: short, for people (they end up in the order's failure reason). */
export const SIMULATED_DECLINE = 'card declined (simulated)';
export const TEST_AMOUNT_DECLINE = 'card declined (test amount)';

export interface MockGatewayOptions {
  /** Share of charges declined at random, 0..1 (0: none, 1: all). */
  failureRate: number;
  /** Which orders the random declines fall on: the same seed declines the same orders. */
  seed: string;
  /** "Test cards": a charge of exactly one of these amounts is always declined. */
  declineAmountsCents?: readonly number[];
  /** Simulated time the gateway takes to answer each call. */
  latencyMs?: number;
}

/**
 * Where an order falls in [0, 1) for a seed: the first 4 bytes of sha256(seed, order id)
 * over 2^32. It depends on nothing else, so a run declines the same orders whatever the
 * order or number of the calls (retries, redeliveries, replicas).
 */
export function draw(seed: string, orderId: string): number {
  return createHash('sha256').update(seed).update('\u0000').update(orderId).digest().readUInt32BE(0) / 2 ** 32;
}

/**
 * The mock payment provider (DESIGN.md: random success or failure at a configurable rate,
 * seeded for reproducible runs). Idempotent by construction: its answer depends only on the
 * order and the amount, which a key always comes with, so a repeated key gets the first
 * answer. It moves no money.
 */
export class MockPaymentGateway implements PaymentGateway {
  private readonly declineAmounts: ReadonlySet<number>;

  constructor(private readonly options: MockGatewayOptions) {
    if (!(options.failureRate >= 0 && options.failureRate <= 1)) throw new RangeError(`failure rate must be within 0..1, not ${options.failureRate}`);
    this.declineAmounts = new Set(options.declineAmountsCents ?? []);
  }

  /** The answer to a charge, without the latency. */
  decide(request: Pick<ChargeRequest, 'orderId' | 'amount'>): ChargeOutcome {
    if (this.declineAmounts.has(request.amount.amountCents)) return { approved: false, reason: TEST_AMOUNT_DECLINE };
    // draw() < 1 always, so a rate of 1 declines every order and a rate of 0 none.
    if (draw(this.options.seed, request.orderId) < this.options.failureRate) return { approved: false, reason: SIMULATED_DECLINE };
    return { approved: true };
  }

  async charge(request: ChargeRequest): Promise<ChargeOutcome> {
    await this.latency();
    return this.decide(request);
  }

  async refund(_request: RefundRequest): Promise<void> {
    await this.latency();
  }

  private async latency(): Promise<void> {
    if (this.options.latencyMs) await sleep(this.options.latencyMs);
  }
}
