import { RateLimitedError } from '@shop/platform/errors';
import type { Clock } from '@shop/platform/ids';

export interface ThrottlePolicy {
  /** Failed sign-ins allowed per login within `windowMs`. */
  maxFailures: number;
  windowMs: number;
  /** Entries kept at most (oldest dropped), so a flood of names cannot exhaust memory. */
  maxTracked: number;
}

export const defaultThrottle: ThrottlePolicy = { maxFailures: 5, windowMs: 15 * 60_000, maxTracked: 100_000 };

/**
 * Slows down password guessing: after `maxFailures` failed sign-ins for one login within
 * the window, every attempt for it is refused (even with the right password) until the
 * window has passed. Unknown and known logins count alike, so the throttle says nothing
 * about which exist. Per process: replicas each keep their own count (the edge's rate
 * limit bounds the total).
 */
export class LoginThrottle {
  private readonly failures = new Map<string, number[]>();

  constructor(
    private readonly clock: Clock,
    private readonly policy: ThrottlePolicy = defaultThrottle,
  ) {}

  /** Throws RateLimitedError while the login is locked. */
  check(login: string): void {
    if (this.recent(login).length >= this.policy.maxFailures) {
      throw new RateLimitedError('too many failed sign-ins for this login: try again later');
    }
  }

  failed(login: string): void {
    const recent = this.recent(login);
    recent.push(this.clock().getTime());
    this.failures.delete(login);
    this.failures.set(login, recent);
    if (this.failures.size > this.policy.maxTracked) this.failures.delete(this.failures.keys().next().value!);
  }

  succeeded(login: string): void {
    this.failures.delete(login);
  }

  private recent(login: string): number[] {
    const since = this.clock().getTime() - this.policy.windowMs;
    return (this.failures.get(login) ?? []).filter((at) => at > since);
  }
}
