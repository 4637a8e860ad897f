import type { NatsConnection } from 'nats';
import { revocationMessage } from '@shop/platform/auth/revocations';
import type { Logger } from '@shop/platform/log';
import { subjects } from '@shop/platform/subjects';
import type { RevocationPublisher } from '../revocations.js';

/**
 * Publishes on subjects.accessRevoked and waits for the NATS server to confirm (flush), so
 * that the verifiers connected to it normally have it before DeleteAccount answers. That
 * confirms receipt by the server, not by each verifier: a BFF other than the one that made
 * the call may take a moment more, and one that missed the message gets it at its next
 * listing (every 30 s, and after it reconnects). Never fails the call, and waits
 * `confirmMs` at most: the deletion has committed and must be answered as done.
 */
export const natsRevocations = (nats: NatsConnection, log: Logger, confirmMs = 2_000): RevocationPublisher => ({
  async publish(revocation) {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), confirmMs)));
    try {
      nats.publish(subjects.accessRevoked, revocationMessage(revocation));
      if ((await Promise.race([nats.flush(), late])) === 'late') {
        log.warn({ userId: revocation.userId, confirmMs }, 'NATS has not confirmed the access revocation yet: verifiers get it when they list revocations again');
      }
    } catch (err) {
      log.warn({ err, userId: revocation.userId }, 'the access revocation could not be published: verifiers get it when they list revocations again');
    } finally {
      clearTimeout(timer);
    }
  },
});
