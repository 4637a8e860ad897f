import test from 'ava';
import { Hono } from 'hono';
import { createTokenVerifier, type Caller } from '@shop/platform/auth';
import { viewerMiddleware } from './viewer.js';

const appWith = (fetchJwks: () => Promise<{ keys: [] }>) => {
  const app = new Hono<{ Variables: { viewer: Caller | null } }>();
  app.use('*', viewerMiddleware(createTokenVerifier({ issuer: 'shop', audience: 'shop-api', fetchJwks })));
  app.get('/', (c) => c.json({ viewer: c.get('viewer') }));
  return app;
};
const withToken = { headers: { authorization: 'Bearer aaa.bbb.ccc' } };

test('a token while the key source is down is 503 SERVICE_UNAVAILABLE (retry), not 401 (sign out)', async (t) => {
  const res = await appWith(async () => Promise.reject(new Error('connect ECONNREFUSED'))).request('/', withToken);
  t.is(res.status, 503);
  t.like(await res.json(), { errors: [{ extensions: { code: 'SERVICE_UNAVAILABLE' } }] });
});

test('a token that does not verify is 401 UNAUTHENTICATED; no token is anonymous', async (t) => {
  const app = appWith(async () => ({ keys: [] }));
  const res = await app.request('/', withToken);
  t.is(res.status, 401);
  t.like(await res.json(), { errors: [{ extensions: { code: 'UNAUTHENTICATED' } }] });
  t.deepEqual(await (await app.request('/')).json(), { viewer: null });
});
