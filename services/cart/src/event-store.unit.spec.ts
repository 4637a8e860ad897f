import test from 'ava';
import { loadConfig, type ConfigError } from '@shop/platform/config';
import { configSchema as commandConfig } from './command/config.js';
import { configSchema as projectorConfig } from './projector/config.js';

const projectorEnv = { HTTP_PORT: '9460', DATABASE_URL: 'postgres://shop:shop@127.0.0.1:15432/cart', KAFKA_BROKERS: '127.0.0.1:19092', NATS_URL: 'nats://127.0.0.1:14222' };

test('the cart keeps its events in Postgres unless told otherwise', (t) => {
  t.like(projectorConfig.parse(projectorEnv), { EVENT_STORE: 'postgres' });
});

test('EVENT_STORE=mongodb needs MONGODB_URL, and names it when it is missing or not a mongodb:// URL', (t) => {
  const missing = projectorConfig.safeParse({ ...projectorEnv, EVENT_STORE: 'mongodb' });
  t.deepEqual(missing.error?.issues.map((i) => `${i.path.join('.')}: ${i.message}`), ['MONGODB_URL: required when EVENT_STORE=mongodb']);
  const wrong = projectorConfig.safeParse({ ...projectorEnv, EVENT_STORE: 'mongodb', MONGODB_URL: 'postgres://x' });
  t.deepEqual(wrong.error?.issues.map((i) => i.path.join('.')), ['MONGODB_URL']);
  t.like(projectorConfig.parse({ ...projectorEnv, EVENT_STORE: 'mongodb', MONGODB_URL: 'mongodb://127.0.0.1:17017/' }), {
    EVENT_STORE: 'mongodb',
    MONGODB_URL: 'mongodb://127.0.0.1:17017/',
    MONGODB_DATABASE: 'cart',
  });
});

test('the command process reads the same settings (it builds the store the projector heals from)', (t) => {
  t.true(['EVENT_STORE', 'MONGODB_URL', 'MONGODB_DATABASE'].every((key) => key in commandConfig.shape));
});

test('EVENT_STORE=eventstoredb needs EVENTSTORE_URL, and names it when it is missing or not a KurrentDB connection string', (t) => {
  const missing = projectorConfig.safeParse({ ...projectorEnv, EVENT_STORE: 'eventstoredb' });
  t.deepEqual(missing.error?.issues.map((i) => `${i.path.join('.')}: ${i.message}`), ['EVENTSTORE_URL: required when EVENT_STORE=eventstoredb']);
  const wrong = projectorConfig.safeParse({ ...projectorEnv, EVENT_STORE: 'eventstoredb', EVENTSTORE_URL: 'mongodb://127.0.0.1:17017/' });
  t.deepEqual(wrong.error?.issues.map((i) => i.path.join('.')), ['EVENTSTORE_URL']);
  for (const url of ['kurrentdb://127.0.0.1:2113?tls=false', 'esdb://127.0.0.1:2113?tls=false', 'kurrentdb+discover://cluster.example:2113']) {
    t.like(projectorConfig.parse({ ...projectorEnv, EVENT_STORE: 'eventstoredb', EVENTSTORE_URL: url }), { EVENT_STORE: 'eventstoredb', EVENTSTORE_URL: url });
  }
  t.true('EVENTSTORE_URL' in commandConfig.shape);
});

test('an unknown EVENT_STORE is refused', (t) => {
  t.deepEqual(projectorConfig.safeParse({ ...projectorEnv, EVENT_STORE: 'cassandra' }).error?.issues.map((i) => i.path.join('.')), ['EVENT_STORE']);
});

test('in production MONGODB_URL needs a password that is no placeholder, as DATABASE_URL does, also with several hosts', (t) => {
  const strong = 'f3b1c9e07a5d4b2c8e6f0a1b3c5d7e9f';
  const production = { ...projectorEnv, SHOP_ENVIRONMENT: 'production', DATABASE_URL: `postgres://shop:${strong}@127.0.0.1:15432/cart`, EVENT_STORE: 'mongodb' };
  const problems = (url: string) => {
    try {
      loadConfig(projectorConfig, { ...production, MONGODB_URL: url });
      return [];
    } catch (err) {
      return (err as ConfigError).problems;
    }
  };
  t.deepEqual(problems(`mongodb://cart:${strong}@127.0.0.1:17017/`), []);
  t.deepEqual(problems(`mongodb://cart:${strong}@mongo-0:27017,mongo-1:27017/?replicaSet=rs0`), []);
  t.regex(problems('mongodb://127.0.0.1:17017/').join('\n'), /^MONGODB_URL has no password/);
  t.regex(problems('mongodb://cart:REPLACE-ME-mongodb-password@mongo:27017/').join('\n'), /^MONGODB_URL: its password contains "replace-me"/);
  t.regex(problems('mongodb://cart:cart@mongo-0:27017,mongo-1:27017/?replicaSet=rs0').join('\n'), /^MONGODB_URL: its password is 4 characters/);
  // The local stack's FerretDB has no password: development allows it.
  t.deepEqual(loadConfig(projectorConfig, { ...production, SHOP_ENVIRONMENT: 'development', MONGODB_URL: 'mongodb://127.0.0.1:17017/' }).MONGODB_URL, 'mongodb://127.0.0.1:17017/');
});
