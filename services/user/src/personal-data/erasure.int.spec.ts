import { randomBytes } from 'node:crypto';
import test from 'ava';
import type { Kafka } from 'kafkajs';
import { migrateProjection, rebuildProjection } from '@shop/eventsourcing/postgres';
import { startProjector, startRelay, type Projector, type Relay } from '@shop/eventsourcing/kafka';
import { createMetrics } from '@shop/platform/metrics';
import { consumeTopic, createTestTopics, testKafka, testLogger, waitFor } from '@shop/testing';
import { USER_READ_SCHEMA, userView } from '../projector/user-view.js';
import { startUserCommandService, type UserCommandFixture } from '../test-fixtures.js';
import { sealedStore } from './sealed-store.js';

/**
 * Crypto-shredding end to end: command → event store → relay → Kafka → projector, each
 * real. What is stored and published never holds a credential or personal data in the
 * clear; after DeleteAccount nothing of the user is readable anywhere, and the read model
 * still rebuilds.
 */
const suffix = randomBytes(4).toString('hex');
const { log } = testLogger();
let user: UserCommandFixture;
let kafka: Kafka;
let topic: string;
let dlqTopic: string;
let relay: Relay;
let projector: Projector;

test.before(async () => {
  user = await startUserCommandService(log);
  kafka = testKafka(log, `user-erasure-${suffix}`);
  ({ topic, dlq: dlqTopic } = await createTestTopics(kafka, 'user-erasure'));
  await migrateProjection(user.pool, userView);
  const registry = createMetrics('user-erasure-test');
  relay = await startRelay({ pool: user.pool, name: 'user', table: 'events', kafka, topicFor: () => topic, log, registry });
  projector = await startProjector({
    kafka, pool: user.pool, store: sealedStore(user.store, user.pool), projection: userView,
    topics: [topic], dlqTopic, groupId: `user-erasure-${suffix}`, log, registry,
  });
});

test.after.always(async () => {
  await projector?.stop();
  await relay?.stop();
  await user?.close();
  if (kafka) {
    const admin = kafka.admin();
    await admin.connect();
    await admin.deleteTopics({ topics: [topic, dlqTopic] }).finally(() => admin.disconnect());
  }
});

const PASSWORD = 'correct horse battery';
const address = { recipient: 'Augusta Byron', line1: '12 Marylebone Terrace', line2: '', city: 'Nottinghamshire', region: '', postalCode: 'NG1 4QQ', countryCode: 'GB' };

const storedText = async (userId: string) =>
  (await user.pool.query<{ t: string }>('SELECT string_agg(data::text || metadata::text, \'\n\' ORDER BY version) AS t FROM events WHERE stream_id = $1', [userId])).rows[0]!.t;
const viewOf = async (userId: string) =>
  (await user.pool.query<{ username: string; email: string }>(`SELECT username, email FROM ${USER_READ_SCHEMA}.users WHERE id = $1`, [userId])).rows[0];

test.serial('events and Kafka hold no credential and no personal data in the clear; deletion erases the rest; a rebuild still works', async (t) => {
  const username = `lovelace_${suffix}`;
  const email = `augusta.${suffix}@example.org`;
  const { userId } = await user.c.registerUser({ username, email, password: PASSWORD, displayName: 'Countess of Lovelace' });
  await user.c.updateProfile({ userId, shippingAddress: address });
  await user.c.requestEmailVerification({ userId });
  const token = user.mails.find((m) => m.userId === userId)!.token;
  const { result } = await user.c.verifyEmail({ userId, token });
  const other = await user.c.registerUser({ username: `babbage_${suffix}`, email: `charles.${suffix}@example.org`, password: PASSWORD, displayName: '' });

  // The projector opens the sealed events with the user's key.
  t.like(await waitFor('the user projected', async () => ((await viewOf(userId)) ? await viewOf(userId) : undefined)), { username, email });
  const { rows: [credential] } = await user.pool.query<{ password_hash: string }>('SELECT password_hash FROM user_credentials WHERE user_id = $1', [userId]);
  t.regex(credential!.password_hash, /^\$argon2id\$/);

  const secrets = [username, email, 'Countess of Lovelace', address.recipient, address.line1, address.city, address.postalCode, '$argon2', credential!.password_hash, token];
  const readable = (text: string) => secrets.filter((s) => text.toLowerCase().includes(s.toLowerCase()));
  t.deepEqual(readable(await storedText(userId)), [], 'the event store');

  await user.c.deleteAccount({ userId });
  await waitFor('the user removed from the read model', async () => (await viewOf(userId)) === undefined);
  t.deepEqual(readable(await storedText(userId)), [], 'the event store after deletion');
  t.is((await user.pool.query('SELECT 1 FROM user_keys WHERE user_id = $1', [userId])).rowCount, 0, 'the key is destroyed');
  t.is((await user.pool.query('SELECT 1 FROM user_credentials WHERE user_id = $1', [userId])).rowCount, 0);

  // Every event of the user on the topic: registered, profile, verification requested, verified, deleted.
  const messages = await consumeTopic(kafka, topic, result!.version + 1, { where: (m) => m.key?.toString() === userId });
  const onKafka = messages.map((m) => `${m.value?.toString('utf8')}${JSON.stringify(m.headers)}`).join('\n');
  t.deepEqual(readable(onKafka), [], 'the Kafka topic');
  t.true(onKafka.includes('"sealed"'), 'the personal data travels sealed');

  // Through the service's own store the deleted user's events read as erased; the other user's still open.
  const [registered] = await sealedStore(user.store, user.pool).readStream(userId);
  t.like(registered?.data, { userId, username: undefined, email: undefined });
  t.false(JSON.stringify(registered?.data).includes('sealed'));

  const rebuilt = await rebuildProjection({ pool: user.pool, store: sealedStore(user.store, user.pool), projection: userView, log });
  t.true(rebuilt.events > 0);
  t.is(await viewOf(userId), undefined);
  t.like(await viewOf(other.userId), { username: `babbage_${suffix}`, email: `charles.${suffix}@example.org` });
});
