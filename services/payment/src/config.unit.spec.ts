import test from 'ava';
import { ConfigError, loadConfig } from '@shop/platform/config';
import { configSchema } from './config.js';

const required = { SHOP_ENVIRONMENT: 'development', HTTP_PORT: '9457', GRPC_PORT: '20057', DATABASE_URL: 'postgres://shop:shop@127.0.0.1:15432/payment', KAFKA_BROKERS: '127.0.0.1:19092',
  // The caller verification every gRPC service has (platform auth/config.ts).
  AUTH_JWKS: '{"keys":[{"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}]}',
  SERVICE_TOKEN_KEY: 'a-service-token-key-of-32-characters-or-more',
};

test('defaults: no random declines, seed "shop", no test amounts, no latency, the shop topics', (t) => {
  t.like(loadConfig(configSchema, required), {
    PAYMENT_FAILURE_RATE: 0,
    PAYMENT_SEED: 'shop',
    PAYMENT_DECLINE_AMOUNTS_CENTS: [],
    PAYMENT_LATENCY_MS: 0,
    ORDER_EVENTS_TOPIC: 'shop.order.events',
    PAYMENT_EVENTS_TOPIC: 'shop.payment.events',
    PAYMENT_DLQ_TOPIC: 'shop.payment.dlq',
    RELAY: 'builtin',
  });
});

test('test amounts are a comma-separated list of cents', (t) => {
  t.deepEqual(loadConfig(configSchema, { ...required, PAYMENT_DECLINE_AMOUNTS_CENTS: '666, 1337,,' }).PAYMENT_DECLINE_AMOUNTS_CENTS, [666, 1337]);
});

test('a bad rate or test amount is refused, naming the variable', (t) => {
  const rate = t.throws(() => loadConfig(configSchema, { ...required, PAYMENT_FAILURE_RATE: '1.5' }), { instanceOf: ConfigError });
  t.regex(rate?.message ?? '', /PAYMENT_FAILURE_RATE/);
  const amounts = t.throws(() => loadConfig(configSchema, { ...required, PAYMENT_DECLINE_AMOUNTS_CENTS: '666,6.66' }), { instanceOf: ConfigError });
  t.regex(amounts?.message ?? '', /PAYMENT_DECLINE_AMOUNTS_CENTS: .*bad: 6\.66/);
});
