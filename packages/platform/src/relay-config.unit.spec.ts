/**
 * RELAY chooses who publishes a CRUD service's outbox (product and order spread relayEnv into
 * their config.ts): the built-in relay in the process (default), Debezium through Kafka
 * Connect, or none. Anything else stops the process at start-up, naming the variable.
 */
import test from 'ava';
import { z } from 'zod';
import { ConfigError, loadConfig } from './config.js';
import { builtinRelayEnv, relayEnv } from './relay-config.js';

const schema = z.object(relayEnv);

test('the built-in relay unless RELAY says debezium or off', (t) => {
  t.is(loadConfig(schema, {}).RELAY, 'builtin');
  t.is(loadConfig(schema, { RELAY: 'builtin' }).RELAY, 'builtin');
  t.is(loadConfig(schema, { RELAY: 'debezium' }).RELAY, 'debezium');
  t.is(loadConfig(schema, { RELAY: 'off' }).RELAY, 'off');
});

test('any other RELAY is refused naming RELAY', (t) => {
  const bad = t.throws(() => loadConfig(schema, { RELAY: 'kafka-connect' }), { instanceOf: ConfigError });
  t.regex(bad?.message ?? '', /^ {2}- RELAY: /m);
});

test('RELAY_ENABLED, which RELAY=off replaces, is refused naming RELAY rather than ignored', (t) => {
  const bad = t.throws(() => loadConfig(schema, { RELAY_ENABLED: 'false' }), { instanceOf: ConfigError });
  t.regex(bad?.message ?? '', /RELAY_ENABLED: replaced by RELAY \(builtin\|debezium\|off\)/);
});

test('where Debezium is no alternative (event store relays, payment), RELAY is builtin or off, and RELAY_ENABLED is refused the same way', (t) => {
  const builtinOnly = z.object(builtinRelayEnv);
  t.is(loadConfig(builtinOnly, {}).RELAY, 'builtin');
  t.is(loadConfig(builtinOnly, { RELAY: 'off' }).RELAY, 'off');
  const debezium = t.throws(() => loadConfig(builtinOnly, { RELAY: 'debezium' }), { instanceOf: ConfigError });
  t.regex(debezium?.message ?? '', /^ {2}- RELAY: .*builtin.*off/m);
  const old = t.throws(() => loadConfig(builtinOnly, { RELAY_ENABLED: 'true' }), { instanceOf: ConfigError });
  t.regex(old?.message ?? '', /RELAY_ENABLED: replaced by RELAY \(builtin\|off\)/);
});
