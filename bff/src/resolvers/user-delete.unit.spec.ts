import test from 'ava';
import { SignJWT, exportJWK, generateKeyPair } from 'jose';
import { createTokenVerifier } from '@shop/platform/auth';
import { Revocations } from '@shop/platform/auth/revocations';
import { UnavailableError } from '@shop/platform/errors';
import { createLogger } from '@shop/platform/log';
import { createApp } from '../app.js';
import type { Clients } from '../clients/index.js';
import { gql, quietNats, testConfig } from '../test-fixtures.js';

/**
 * deleteAccount through createApp, with the real token verifier and fake user services,
 * and NATS silent (a lost announcement, or one still on its way to this BFF): the BFF that
 * served the deletion refuses the token from the next request on, on its own list.
 */
const ada = '0196a3c0-0000-7000-8000-0000000000a1';
const bob = '0196a3c0-0000-7000-8000-0000000000b0';

async function bff(deleteAccount: () => Promise<unknown>) {
  const { privateKey, publicKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519', extractable: true });
  const jwk = { ...(await exportJWK(publicKey)), kid: 'k1', alg: 'EdDSA' };
  const token = (sub: string) =>
    new SignJWT({}).setProtectedHeader({ alg: 'EdDSA', kid: 'k1' }).setSubject(sub).setIssuer('shop').setAudience('shop-api').setIssuedAt().setExpirationTime('15m').sign(privateKey);
  const revocations = new Revocations();
  const userCommand = { deleteAccount } as unknown as Clients['userCommand'];
  const userQuery = {
    getUser: async ({ userId }: { userId: string }) => ({ user: { id: userId, username: userId.slice(-2), email: '', emailVerified: false, displayName: '', version: 1 }, version: 1, stale: false }),
  } as unknown as Clients['userQuery'];
  const app = createApp({
    clients: { userCommand, userQuery } as Clients,
    nats: quietNats,
    verifier: createTokenVerifier({ issuer: 'shop', audience: 'shop-api', fetchJwks: async () => ({ keys: [jwk] }), revocations }),
    revocations,
    config: testConfig,
    log: createLogger('bff-test', 'silent'),
  });
  const as = async (sub: string) => ({ authorization: `Bearer ${await token(sub)}` });
  return { app, as };
}

const me = `query { me { id } }`;

test('after deleteAccount this BFF refuses the same token at once, with no announcement from NATS; others are unaffected', async (t) => {
  const { app, as } = await bff(async () => ({ result: { version: 2, position: '9' } }));
  const adaToken = await as(ada);
  t.is((await gql(app, me, {}, adaToken)).data?.me.id, ada);

  const deleted = await gql(app, `mutation { deleteAccount }`, {}, adaToken);
  t.is(deleted.data?.deleteAccount, true, JSON.stringify(deleted.errors));

  const after = await gql(app, me, {}, adaToken);
  t.is(after.status, 401);
  t.is(after.errors?.[0]?.message, 'access token revoked');
  t.is((await gql(app, me, {}, await as(bob))).data?.me.id, bob);
});

test('a deleteAccount that failed revokes nothing', async (t) => {
  const { app, as } = await bff(async () => {
    throw new UnavailableError('user-command is down');
  });
  const adaToken = await as(ada);
  const res = await gql(app, `mutation { deleteAccount }`, {}, adaToken);
  t.is(res.errors?.[0]?.extensions?.code, 'SERVICE_UNAVAILABLE', JSON.stringify(res.errors));
  t.is((await gql(app, me, {}, adaToken)).data?.me.id, ada);
});
