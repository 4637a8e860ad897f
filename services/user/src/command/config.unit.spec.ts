import test from 'ava';
import { ConfigError, loadConfig } from '@shop/platform/config';
import { REVOCATION_MAX_MS } from '@shop/platform/auth/revocations';
import { configSchema, MAX_ACCESS_TTL_SECONDS } from './config.js';
import { REVOCATION_GRACE_SECONDS } from './revocations.js';

const required = {
  SHOP_ENVIRONMENT: 'development',
  HTTP_PORT: '9453',
  GRPC_PORT: '20053',
  DATABASE_URL: 'postgres://shop:shop@127.0.0.1:15432/user',
  KAFKA_BROKERS: '127.0.0.1:19092',
  SERVICE_TOKEN_KEY: 'a-service-token-key-of-32-characters-or-more',
};

test('an access-token lifetime up to what the verifiers keep a revocation, less the grace, is accepted (900 s by default)', (t) => {
  t.is(MAX_ACCESS_TTL_SECONDS, REVOCATION_MAX_MS / 1000 - REVOCATION_GRACE_SECONDS);
  t.is(loadConfig(configSchema, required).JWT_ACCESS_TTL_SECONDS, 900);
  t.is(loadConfig(configSchema, { ...required, JWT_ACCESS_TTL_SECONDS: String(MAX_ACCESS_TTL_SECONDS) }).JWT_ACCESS_TTL_SECONDS, MAX_ACCESS_TTL_SECONDS);
});

test('a longer access-token lifetime refuses to start, naming the variable: a deleted account\'s token would outlive its revocation', (t) => {
  for (const ttl of [MAX_ACCESS_TTL_SECONDS + 1, 86_400]) {
    const err = t.throws(() => loadConfig(configSchema, { ...required, JWT_ACCESS_TTL_SECONDS: String(ttl) }), { instanceOf: ConfigError });
    t.regex(err?.message ?? '', /JWT_ACCESS_TTL_SECONDS/, String(ttl));
    t.regex(err?.message ?? '', /REVOCATION_MAX_MS/, String(ttl));
  }
});
