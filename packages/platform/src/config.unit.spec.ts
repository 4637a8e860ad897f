import test from 'ava';
import { z } from 'zod';
import { baseEnv, ConfigError, env, loadConfig, weakSecretReason } from './config.js';

const schema = z.object({
  ...baseEnv,
  DATABASE_URL: env.databaseUrl(),
  ADMIN_API_KEY: env.secret(16),
  JWT_PRIVATE_KEY: env.signingKey(),
});

const strong = 'f3a9c1e07b5d48e2a6c4b9d1e0f7a35c8d2b6e4f';
const pem = '-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIBxFyM1lSCz4cC0RGq6fS5mD8Ah/v8R0tlrL2bKaAgZp\n-----END PRIVATE KEY-----\n';
const good = {
  HTTP_PORT: '9090',
  DATABASE_URL: `postgres://shop_product:${strong}@postgres:5432/product`,
  ADMIN_API_KEY: strong,
  JWT_PRIVATE_KEY: pem,
};
// What k8s/base shipped before: long enough for the length check, and it worked.
const shipped = {
  HTTP_PORT: '9090',
  DATABASE_URL: 'postgres://shop:REPLACE-ME-postgres-password@postgres:5432/product',
  ADMIN_API_KEY: 'REPLACE-ME-admin-api-key',
  JWT_PRIVATE_KEY: 'REPLACE-ME-with-the-output-of-openssl-genpkey-algorithm-ed25519',
};

const problems = (vars: Record<string, string>) => {
  const err = (() => {
    try {
      loadConfig(schema, vars);
      return undefined;
    } catch (e) {
      return e;
    }
  })();
  return err instanceof ConfigError ? err.problems : [];
};

test('production is the default: the placeholders k8s/base shipped are refused, each naming its variable', (t) => {
  const found = problems(shipped);
  t.is(found.length, 3, found.join('\n'));
  t.regex(found.find((p) => p.startsWith('DATABASE_URL')) ?? '', /password contains "replace-me"/);
  t.regex(found.find((p) => p.startsWith('ADMIN_API_KEY')) ?? '', /contains "replace-me".*SHOP_ENVIRONMENT=production/);
  t.regex(found.find((p) => p.startsWith('JWT_PRIVATE_KEY')) ?? '', /placeholder, not a key.*openssl genpkey/);
});

test('production refuses the local defaults, short secrets, a missing password and a missing signing key', (t) => {
  const found = problems({
    HTTP_PORT: '9090',
    SHOP_ENVIRONMENT: 'production',
    DATABASE_URL: 'postgres://shop@postgres:5432/product',
    ADMIN_API_KEY: 'local-admin-key-change-me',
  });
  t.true(found.some((p) => /^DATABASE_URL has no password/.test(p)), found.join('\n'));
  t.true(found.some((p) => /^ADMIN_API_KEY contains "change-me"/.test(p)), found.join('\n'));
  t.true(found.some((p) => /^JWT_PRIVATE_KEY is required when SHOP_ENVIRONMENT=production/.test(p)), found.join('\n'));

  t.regex(problems({ ...good, ADMIN_API_KEY: 'a1b2c3d4e5f6a7b8' }).join('\n'), /ADMIN_API_KEY is 16 characters; production needs at least 32/);
  t.regex(problems({ ...good, DATABASE_URL: 'postgres://shop:shop@postgres:5432/product' }).join('\n'), /DATABASE_URL: its password is 4 characters/);
  t.regex(problems({ ...good, ADMIN_API_KEY: 'ab'.repeat(20) }).join('\n'), /fewer than 8 distinct characters/);
  // The minikube overlay's values say what they are, and production says no.
  t.regex(problems({ ...good, ADMIN_API_KEY: 'development-only-admin-key-minikube' }).join('\n'), /contains "development"/);
});

test('a typo in SHOP_ENVIRONMENT does not relax the checks', (t) => {
  const found = problems({ ...shipped, SHOP_ENVIRONMENT: 'dev' });
  t.true(found.some((p) => p.startsWith('SHOP_ENVIRONMENT')));
  t.true(found.some((p) => p.startsWith('ADMIN_API_KEY')));
});

test('generated secrets pass in production', (t) => {
  const config = loadConfig(schema, good);
  t.is(config.SHOP_ENVIRONMENT, 'production');
  t.is(config.ADMIN_API_KEY, strong);
  t.is(weakSecretReason(strong), undefined);
});

test('development (the local stack, tests, compose, minikube) keeps its defaults and may leave the signing key unset', (t) => {
  const config = loadConfig(schema, {
    HTTP_PORT: '9090',
    SHOP_ENVIRONMENT: 'development',
    DATABASE_URL: 'postgres://shop:shop@127.0.0.1:15432/product',
    ADMIN_API_KEY: 'local-admin-key-change-me',
  });
  t.is(config.SHOP_ENVIRONMENT, 'development');
  t.is(config.JWT_PRIVATE_KEY, undefined);
  // The schema's own rules still hold in development.
  t.regex(problems({ ...good, SHOP_ENVIRONMENT: 'development', ADMIN_API_KEY: 'short' }).join('\n'), /ADMIN_API_KEY: must be at least 16 characters/);
});
