import test from 'ava';
import type { User } from '@shop/contracts/shop/user/v1/user';
import { NotFoundError, ValidationError } from '@shop/platform/errors';
import type { Clients } from '../clients/index.js';
import { gql, testApp } from '../test-fixtures.js';

/**
 * Registration through createApp with fake user services: the command stores the user at
 * once, the read model (user-query) follows a projector later. A registration that
 * succeeded is answered as one even when the read model has not caught up (user.ts,
 * authPayload).
 */
const userId = '0196a3c0-0000-7000-8000-0000000000e1';
const accessToken = `token-of-${userId}`;
const registeredAt = 7;

/** What the read model answers: `behind` (NOT_FOUND after its wait), `stale` (an older state) or `caught up`. */
type ReadModel = 'behind' | 'stale' | 'caught up';

function userServices(readModel: ReadModel, refuse?: ValidationError) {
  const reads: Array<{ request: { userId: string; minVersion: number }; authorization: string | undefined }> = [];
  const userCommand = {
    registerUser: async (req: { username: string }) => {
      if (refuse) throw refuse;
      // The command stores the username trimmed and lowercased.
      return { userId, username: req.username.trim().toLowerCase(), result: { version: registeredAt, position: '0' } };
    },
    authenticate: async () => ({ accessToken, refreshToken: 'refresh', expiresIn: 900, userId }),
  } as unknown as Clients['userCommand'];
  const userQuery = {
    getUser: async (request: { userId: string; minVersion: number }, options?: { metadata?: Record<string, string> }) => {
      reads.push({ request, authorization: options?.metadata?.authorization });
      if (readModel === 'behind') throw new NotFoundError('user', request.userId);
      const user: User = { id: userId, username: 'ada', email: '', emailVerified: false, displayName: readModel === 'stale' ? '' : 'Ada (read model)', version: readModel === 'stale' ? registeredAt - 1 : registeredAt };
      return { user, version: readModel === 'stale' ? registeredAt - 1 : registeredAt, stale: readModel === 'stale' };
    },
  } as unknown as Clients['userQuery'];
  return { app: testApp({ userCommand, userQuery }), reads };
}

const register = `mutation ($i: RegisterInput!) { register(input: $i) { accessToken refreshToken expiresIn user { id username displayName } } }`;
const ada = { username: ' Ada ', password: 'correct horse battery', displayName: '  Ada Lovelace ' };

test('register answers the new user even when the read model has not caught up after its wait (NOT_FOUND)', async (t) => {
  const { app, reads } = userServices('behind');
  const res = await gql(app, register, { i: ada });
  t.is(res.errors, undefined);
  t.deepEqual(res.data?.register, {
    accessToken,
    refreshToken: 'refresh',
    expiresIn: 900,
    user: { id: userId, username: 'ada', displayName: 'Ada Lovelace' },
  });
  t.deepEqual(reads, [{ request: { userId, minVersion: registeredAt }, authorization: `Bearer ${accessToken}` }], 'read at the registration, as the new user');
});

test('register answers what was registered, not an older state, when the read model says it is stale', async (t) => {
  const { app } = userServices('stale');
  const res = await gql(app, register, { i: ada });
  t.deepEqual(res.data?.register.user, { id: userId, username: 'ada', displayName: 'Ada Lovelace' });
});

test('register answers the read model once it has caught up', async (t) => {
  const { app } = userServices('caught up');
  const res = await gql(app, register, { i: ada });
  t.deepEqual(res.data?.register.user, { id: userId, username: 'ada', displayName: 'Ada (read model)' });
});

test("the earlier clients' registerUser answers an access token and the user while the read model lags", async (t) => {
  const { app } = userServices('behind');
  const res = await gql(app, `mutation { registerUser(input: { username: "Ada", password: "correct horse battery" }) { access_token user { id username } } }`);
  t.deepEqual(res.data?.registerUser, { access_token: accessToken, user: { id: userId, username: 'ada' } });
});

test("the user service's refusal names the field of the input the client sent", async (t) => {
  for (const [field, expected] of [
    ['display_name', 'input.displayName'],
    ['password', 'input.password'],
    ['username', 'input.username'],
  ] as const) {
    const { app, reads } = userServices('caught up', new ValidationError(field, 'is not acceptable'));
    const res = await gql(app, register, { i: ada });
    t.like(res.errors?.[0], { message: `${expected}: is not acceptable`, extensions: { code: 'BAD_USER_INPUT', field: expected } }, field);
    t.is(reads.length, 0, 'a refused registration reads nothing');
  }
});
