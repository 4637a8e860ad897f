import type { Logger } from '@shop/platform/log';

/** Sends the email verification token to the address: the token travels only by email. */
export interface VerificationMailer {
  send(message: { userId: string; email: string; token: string; expiresAt: string }): Promise<void>;
}

/**
 * No mail transport is wired yet: this one records that a mail was due, without the
 * token or the address (never logged), so verification cannot complete in such a deployment.
 */
export const unconfiguredMailer = (log: Logger): VerificationMailer => ({
  async send({ userId, expiresAt }) {
    log.warn({ userId, expiresAt }, 'email verification requested, but no mail transport is configured: the token was not delivered');
  },
});
