import test from 'ava';
import { stackEnvOverrides } from './apps.js';
import { StackError } from './log.js';

const names = ['bff', 'cart-command'];

test('SHOP_STACK_ENV: unset or empty overrides nothing; the variables of a process are taken as given', (t) => {
  t.deepEqual(stackEnvOverrides(undefined, names), {});
  t.deepEqual(stackEnvOverrides('', names), {});
  t.deepEqual(stackEnvOverrides('{"bff":{"PRODUCT_CACHE_TTL_MS":"0"}}', names), { bff: { PRODUCT_CACHE_TTL_MS: '0' } });
});

test('SHOP_STACK_ENV: not JSON, not an object, an unknown process or a value that is not a string stop the command, naming what is wrong', (t) => {
  const refused = (raw: string) => t.throws(() => stackEnvOverrides(raw, names), { instanceOf: StackError })?.message;
  t.regex(refused('{bff:')!, /SHOP_STACK_ENV is not JSON/);
  t.regex(refused('["bff"]')!, /SHOP_STACK_ENV: expected/);
  t.regex(refused('{"bf":{"X":"1"}}')!, /unknown process bf; known: bff, cart-command/);
  t.regex(refused('{"bff":{"PRODUCT_CACHE_TTL_MS":0}}')!, /SHOP_STACK_ENV\.bff: expected .* string values/);
  t.regex(refused('{"bff":"PRODUCT_CACHE_TTL_MS=0"}')!, /SHOP_STACK_ENV\.bff: expected/);
});
