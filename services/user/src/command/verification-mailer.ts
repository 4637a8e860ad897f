import { JSONCodec, type NatsConnection } from 'nats';
import type { Logger } from '@shop/platform/log';
import { subjects } from '@shop/platform/subjects';

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

/** Subject a verification mail is published on: one per user, for the notifications path. */
export const verificationMailSubject = subjects.email;

/**
 * The "mail server" of this system (DESIGN.md: notifications go out over NATS): the mail,
 * token included, is published for the notifications path to deliver; the log records
 * only that it was sent, never the token or the address.
 */
export const natsMailer = (nats: NatsConnection, log: Logger): VerificationMailer => {
  const codec = JSONCodec();
  return {
    async send({ userId, email, token, expiresAt }) {
      nats.publish(
        verificationMailSubject(userId),
        codec.encode({ kind: 'email-verification', to: email, subject: 'Verify your email address for Shop', token, expiresAt }),
      );
      await nats.flush();
      log.info({ userId, expiresAt }, 'email verification mail published');
    },
  };
};
