/**
 * RELAY chooses who publishes a CRUD service's outbox: the built-in relay in the process
 * (default) or Debezium through Kafka Connect (RELAY=debezium). Anything else stops the
 * process at start-up, naming the variable.
 */
import test from 'ava';
import { ConfigError, loadConfig } from '@shop/platform/config';
import { configSchema as productConfig } from '../../services/product/src/config.js';
import { configSchema as orderConfig } from '../../services/order/src/config.js';

const required = {
  SHOP_ENVIRONMENT: 'development',
  HTTP_PORT: '9451',
  GRPC_PORT: '20051',
  DATABASE_URL: 'postgres://shop:shop@127.0.0.1:15432/product',
  KAFKA_BROKERS: '127.0.0.1:19092',
  NATS_URL: 'nats://127.0.0.1:14222',
  PRODUCT_GRPC_ADDR: '127.0.0.1:21051',
  AUTH_JWKS: '{"keys":[{"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}]}',
  SERVICE_TOKEN_KEY: 'a-service-token-key-of-32-characters-or-more',
};

for (const [service, schema] of [['product', productConfig], ['order', orderConfig]] as const) {
  test(`${service}: the built-in relay unless RELAY says debezium; anything else is refused naming RELAY`, (t) => {
    t.is(loadConfig(schema, required).RELAY, 'builtin');
    t.is(loadConfig(schema, { ...required, RELAY: 'debezium' }).RELAY, 'debezium');
    const bad = t.throws(() => loadConfig(schema, { ...required, RELAY: 'kafka-connect' }), { instanceOf: ConfigError });
    t.regex(bad?.message ?? '', /RELAY/);
  });
}
