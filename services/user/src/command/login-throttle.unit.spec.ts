import test from 'ava';
import { RateLimitedError } from '@shop/platform/errors';
import { LoginThrottle } from './login-throttle.js';

const setup = () => {
  let now = Date.parse('2026-01-01T00:00:00Z');
  const throttle = new LoginThrottle(() => new Date(now), { maxFailures: 3, windowMs: 60_000, maxTracked: 2 });
  return { throttle, advance: (ms: number) => (now += ms) };
};

test('the login is locked after the allowed failures, for the rest of the window', (t) => {
  const { throttle, advance } = setup();
  for (let i = 0; i < 3; i++) {
    t.notThrows(() => throttle.check('ada'));
    throttle.failed('ada');
  }
  t.throws(() => throttle.check('ada'), { instanceOf: RateLimitedError });
  t.notThrows(() => throttle.check('bob'), 'other logins are not affected');
  advance(60_001);
  t.notThrows(() => throttle.check('ada'), 'failures older than the window no longer count');
});

test('a successful sign-in clears the count', (t) => {
  const { throttle } = setup();
  throttle.failed('ada');
  throttle.failed('ada');
  throttle.succeeded('ada');
  throttle.failed('ada');
  t.notThrows(() => throttle.check('ada'));
});

test('memory is bounded: the oldest tracked login is dropped', (t) => {
  const { throttle } = setup();
  for (const login of ['a', 'b', 'c']) for (let i = 0; i < 3; i++) throttle.failed(login);
  t.notThrows(() => throttle.check('a'));
  t.throws(() => throttle.check('c'), { instanceOf: RateLimitedError });
});
