import test from 'ava';
import type { RecordedEvent } from '@shop/eventsourcing';
import { evolveUserView, type UserView } from './user-view.js';

let version = 0;
const recorded = (type: string, data: unknown): RecordedEvent => ({
  id: `e${++version}`,
  type: `shop.user.v1.${type}`,
  streamId: 'u-1',
  streamType: 'user',
  version,
  position: version,
  occurredAt: `2026-01-01T00:00:0${version % 10}.000Z`,
  data,
  metadata: {},
});
const fold = (...events: RecordedEvent[]) => events.reduce<UserView | null>(evolveUserView, null);
const address = { recipient: 'Ada', line1: '1 Main St', line2: '', city: 'Berlin', region: '', postalCode: '10115', countryCode: 'DE' };

test.beforeEach(() => void (version = 0));

test.serial('registration makes the row, without the password hash', (t) => {
  const view = fold(recorded('UserRegistered', { userId: 'u-1', username: 'ada', email: 'ada@example.com', passwordHash: '$argon2id$x', displayName: 'Ada' }));
  t.deepEqual(view, {
    id: 'u-1', username: 'ada', email: 'ada@example.com', displayName: 'Ada', address: null, emailVerified: false,
    version: 1, createdAt: '2026-01-01T00:00:01.000Z', updatedAt: '2026-01-01T00:00:01.000Z',
  });
  t.false(JSON.stringify(view).includes('argon2'));
});

test.serial('profile, verification and invisible changes move the version', (t) => {
  const view = fold(
    recorded('UserRegistered', { userId: 'u-1', username: 'ada', email: 'ada@example.com', passwordHash: 'h', displayName: 'Ada' }),
    recorded('ProfileUpdated', { userId: 'u-1', displayName: 'Ada L.', shippingAddress: address }),
    recorded('PasswordChanged', { userId: 'u-1', passwordHash: 'h2' }),
    recorded('EmailVerified', { userId: 'u-1', email: 'ada@example.com' }),
    recorded('SomethingNewer', {}),
  );
  t.like(view, { displayName: 'Ada L.', address, emailVerified: true, version: 5, createdAt: '2026-01-01T00:00:01.000Z', updatedAt: '2026-01-01T00:00:05.000Z' });
});

test.serial('deletion removes the row', (t) => {
  t.is(fold(recorded('UserRegistered', { userId: 'u-1', username: 'ada', email: 'a@b.co', passwordHash: 'h', displayName: 'Ada' }), recorded('UserDeleted', { userId: 'u-1' })), null);
});
