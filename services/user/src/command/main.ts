import { Doorbell } from '@shop/eventsourcing';
import { eventStoreMigrations, PostgresEventStore } from '@shop/eventsourcing/postgres';
import { relayMigrations, startRelay } from '@shop/eventsourcing/kafka';
import { accessTokenAuthenticator } from '@shop/platform/auth/caller';
import { serveGrpc } from '@shop/platform/grpc/server';
import { newId, systemClock } from '@shop/platform/ids';
import { openKafka } from '@shop/platform/kafka';
import { openPostgres } from '@shop/platform/postgres/process';
import { runProcess } from '@shop/platform/process';
import { USER_STREAM_TYPE } from '../domain/events.js';
import { userMigrations } from '../migrations.js';
import { userTopics } from '../topics.js';
import { configSchema } from './config.js';
import { RefreshTokens } from './credentials.js';
import { argon2Hasher, boundedHasher } from './passwords.js';
import { createTokenIssuer } from './tokens.js';
import { Throttle } from './throttle.js';
import { userCommandService } from './user-command-service.js';
import { userCommandHandler } from './user-handler.js';
import { sealedStore } from '../personal-data/sealed-store.js';
import { openNats } from '@shop/platform/nats';
import { natsMailer, unconfiguredMailer } from './verification-mailer.js';
import { natsRevocations } from './adapters/nats-revocation-publisher.js';
import { postgresDeletedAccounts } from './adapters/postgres-deleted-accounts.js';

await runProcess('user-command', configSchema, async (ctx) => {
  const { config, log, registry, lifecycle } = ctx;
  const pool = await openPostgres(ctx, { migrations: [eventStoreMigrations, relayMigrations, userMigrations] });
  const kafka = await openKafka(ctx, { topics: userTopics(config.USER_EVENTS_TOPIC, config.USER_DLQ_TOPIC) });
  // Each append rings the relay, which then publishes at once instead of at its next poll.
  const doorbell = new Doorbell();
  if (config.RELAY === 'builtin') {
    lifecycle.own('relay', await startRelay({ pool, name: 'user', table: 'events', kafka, streamTypes: [USER_STREAM_TYPE], topicFor: () => config.USER_EVENTS_TOPIC, log, registry, doorbell }));
  }

  const tokens = await createTokenIssuer(
    { privateKey: config.JWT_PRIVATE_KEY, keyId: config.JWT_KEY_ID, accessTtlSeconds: config.JWT_ACCESS_TTL_SECONDS, extraPublicKeys: config.JWT_EXTRA_PUBLIC_KEYS?.keys },
    systemClock,
    log,
  );
  // Optional: without it, sign-in and registration still work (no mails, no revocation notices).
  const nats = config.NATS_URL ? await openNats(ctx, { url: config.NATS_URL, optional: true }) : undefined;
  if (!nats) log.warn("NATS_URL is not set: email verification mails will not be delivered, and a deleted account's access token keeps working until the BFF lists revocations again");

  // Counters whose window started more than a day ago are dropped hourly; any replica may do it.
  const throttle = new Throttle(pool, systemClock);
  const pruning = setInterval(() => throttle.prune().catch((err: unknown) => log.warn({ err }, 'pruning throttle counters failed; next try in an hour')), 60 * 60_000);
  pruning.unref();
  lifecycle.onShutdown('throttle-pruning', async () => clearInterval(pruning));

  // The tokens it issued, verified with its own keys.
  const authenticate = accessTokenAuthenticator({ fetchJwks: async () => tokens.jwks(), serviceKey: config.SERVICE_TOKEN_KEY });
  await serveGrpc(
    ctx,
    [
      userCommandService({
        users: userCommandHandler(sealedStore(new PostgresEventStore(pool, { onAppended: () => doorbell.ring() }), pool), config.COMMAND_MAX_RETRIES),
        pool,
        refreshTokens: new RefreshTokens(pool, systemClock, newId, config.JWT_REFRESH_TTL_SECONDS),
        passwords: boundedHasher(argon2Hasher, { concurrency: config.PASSWORD_HASH_CONCURRENCY, maxQueued: config.PASSWORD_HASH_QUEUE }),
        throttle,
        tokens,
        mailer: nats ? natsMailer(nats, log) : unconfiguredMailer(log),
        ...(nats ? { revocations: natsRevocations(nats, log) } : {}),
        deletedAccounts: postgresDeletedAccounts(pool),
        clock: systemClock,
        newId,
        verificationTtlSeconds: config.EMAIL_VERIFICATION_TTL_SECONDS,
        addressCaps: { registrations: config.REGISTRATIONS_PER_ADDRESS, signInFailures: config.SIGN_IN_FAILURES_PER_ADDRESS },
      }),
    ],
    { authenticate },
  );
});
