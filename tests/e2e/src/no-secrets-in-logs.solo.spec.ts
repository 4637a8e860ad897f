import test from 'ava';
import { randomUUID } from 'node:crypto';
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { connect, JSONCodec } from 'nats';
import { adminApiKey } from '@shop/tools/apps';
import { devServiceIdentity, devServiceTokenKey } from '@shop/tools/dev-secrets';
import { grpcServices, stackDir, urls } from '@shop/tools/topology';
import { SERVICE_TOKEN_HEADER } from '@shop/platform/auth/caller';
import { subjects } from '@shop/platform/subjects';
import { waitFor } from '@shop/testing';
import { gql } from './graphql.js';
import { grpcurlCall } from './grpcurl.js';
import { bearer } from './shop.js';

/**
 * No secret reaches a log line on any path that handles one: every such path is driven
 * through the stack with secrets made for this run, and then every log of the stack is
 * scanned for them, and for anything shaped like a secret whatever test sent it. Solo
 * (ava.solo.config.mjs): it runs after the whole main suite, so the logs it scans hold all
 * of the suite's traffic too.
 *
 * Not driven: an INTERNAL answer. None can be provoked without breaking the product (the
 * fuzz specs check that nothing answers INTERNAL); the platform's INTERNAL log line is
 * checked in packages/platform/src/log.unit.spec.ts through the gRPC server's wrapper.
 */

const logs = path.join(stackDir, 'logs');
const userQuery = grpcServices.find((s) => s.name === 'user-query')!;
/** A secret of this run: unique, so that finding it in a log can mean one thing only. */
const secret = (what: string) => `${what}-${randomUUID()}`;

/** Shapes of secrets, found whoever sent them. */
const shapes: Array<[string, RegExp]> = [
  ['a JWT (access or service token)', /eyJ[\w-]*\.eyJ[\w-]*\.[\w-]*/g],
  ['an argon2 password hash', /\$argon2(?:id|i|d)\$/g],
  ['a private key', /PRIVATE KEY-----/g],
  ['a password in a URL', /\b[a-z][\w+.-]*:\/\/[^\s:/@"']+:[^\s@/"']+@/gi],
];

test('no password, token, key or hash of any path appears in any log of the stack', async (t) => {
  const used: Array<[string, string]> = [];
  const use = (what: string, value: string) => {
    used.push([what, value]);
    return value;
  };

  // Register (the current API and the earlier clients'), with refused input too.
  const username = `s${randomUUID().replaceAll('-', '').slice(0, 12)}`;
  const password = use('password', secret('pw'));
  const reg = await gql(`mutation ($i: RegisterInput!) { register(input: $i) { accessToken refreshToken user { id } } }`, {
    i: { username, email: `${username}@example.com`, password, displayName: 'No Secrets' },
  });
  t.is(reg.errors, undefined, JSON.stringify(reg.errors));
  const userId: string = reg.data.register.user.id;
  use('access token from register', reg.data.register.accessToken);
  use('refresh token from register', reg.data.register.refreshToken);
  const legacy = await gql(`mutation ($i: RegisterUserInput) { registerUser(input: $i) { access_token } }`, {
    i: { username: `l${username}`, password: use('legacy password', secret('pw')) },
  });
  use('legacy access token', legacy.data.registerUser.access_token);
  const refusedReg = await gql(`mutation ($i: RegisterInput!) { register(input: $i) { accessToken } }`, { i: { username: 'x y!', password: use('refused registration password', secret('pw')) } });
  t.is(refusedReg.errors?.[0]?.extensions?.code, 'BAD_USER_INPUT');
  // A password of the wrong type is echoed in graphql-js's message about the variable.
  const typed = await gql(`mutation ($l: String!, $p: String!) { login(login: $l, password: $p) { accessToken } }`, { l: username, p: { p: use('password in a bad variable', secret('pw')) } });
  t.is(typed.errors?.[0]?.extensions?.code, 'BAD_USER_INPUT');

  // Login: success, a wrong password, an unknown user.
  const login = (l: string, p: string, headers: Record<string, string> = {}) => gql(`mutation ($l: String!, $p: String!) { login(login: $l, password: $p) { accessToken refreshToken } }`, { l, p }, headers);
  const wrong = await login(username, use('wrong password', secret('pw')));
  t.is(wrong.errors?.[0]?.extensions?.code, 'UNAUTHENTICATED');
  const unknown = await login(`n${username}`, use('password of an unknown user', secret('pw')));
  t.is(unknown.errors?.[0]?.extensions?.code, 'UNAUTHENTICATED');
  const signedIn = await login(username, password);
  t.is(signedIn.errors, undefined, JSON.stringify(signedIn.errors));
  const access = use('access token from login', signedIn.data.login.accessToken);
  const refresh = use('refresh token from login', signedIn.data.login.refreshToken);

  // Refresh: a rotation, the spent token again (its family is revoked, and that is logged), a made-up one.
  const refreshed = await gql(`mutation ($r: String!) { refreshToken(refreshToken: $r) { accessToken refreshToken } }`, { r: refresh });
  t.is(refreshed.errors, undefined, JSON.stringify(refreshed.errors));
  use('access token from refresh', refreshed.data.refreshToken.accessToken);
  use('refresh token from refresh', refreshed.data.refreshToken.refreshToken);
  const replay = await gql(`mutation ($r: String!) { refreshToken(refreshToken: $r) { accessToken } }`, { r: refresh });
  t.is(replay.errors?.[0]?.extensions?.code, 'UNAUTHENTICATED');
  const madeUp = await gql(`mutation ($r: String!) { refreshToken(refreshToken: $r) { accessToken } }`, { r: use('made-up refresh token', secret('rt')) });
  t.is(madeUp.errors?.[0]?.extensions?.code, 'UNAUTHENTICATED');

  // Change password: a wrong current one, then the change, then a login with the new one.
  const change = (c: string, n: string) => gql(`mutation ($c: String!, $n: String!) { changePassword(currentPassword: $c, newPassword: $n) }`, { c, n }, bearer(access));
  const wrongCurrent = await change(use('wrong current password', secret('pw')), use('refused new password', secret('pw')));
  t.is(wrongCurrent.errors?.[0]?.extensions?.code, 'UNAUTHENTICATED');
  const newPassword = use('new password', secret('pw'));
  const changed = await change(password, newPassword);
  t.is(changed.data?.changePassword, true, JSON.stringify(changed.errors));
  const relogin = await login(username, newPassword);
  t.is(relogin.errors, undefined, JSON.stringify(relogin.errors));
  const token = use('access token after the change', relogin.data.login.accessToken);
  use('refresh token after the change', relogin.data.login.refreshToken);

  // Email verification: the token travels on NATS only; a wrong one, then the right one.
  const nc = await connect({ servers: urls.nats });
  t.teardown(() => nc.close());
  const mails = nc.subscribe(subjects.email(userId), { max: 1, timeout: 30_000 });
  await nc.flush();
  const requested = await gql(`mutation { requestEmailVerification }`, {}, bearer(token));
  t.is(requested.data?.requestEmailVerification, true, JSON.stringify(requested.errors));
  let mail: { token: string } | undefined;
  for await (const m of mails) mail = JSONCodec<{ token: string }>().decode(m.data);
  if (!mail) throw new Error('no verification mail on NATS');
  use('email verification token', mail.token);
  const wrongMail = await gql(`mutation ($t: String!) { verifyEmail(token: $t) { emailVerified } }`, { t: use('wrong verification token', secret('vt')) }, bearer(token));
  t.is(wrongMail.errors?.[0]?.extensions?.code, 'FAILED_PRECONDITION');
  const verified = await gql(`mutation ($t: String!) { verifyEmail(token: $t) { emailVerified } }`, { t: mail.token }, bearer(token));
  t.deepEqual(verified.data?.verifyEmail, { emailVerified: true }, JSON.stringify(verified.errors));

  // The admin key, under both its header names, and a wrong one.
  const created = await gql(`mutation ($i: CreateProductInput) { createProduct(input: $i) { id } }`, { i: { name: 'No secrets item', price: 100, quantity: 1, category: 'e2e-secrets' } }, { 'x-api-key': adminApiKey });
  t.is(created.errors, undefined, JSON.stringify(created.errors));
  const restocked = await gql(`mutation ($id: ID!) { restock(productId: $id, quantity: 1) { quantity } }`, { id: created.data.createProduct.id }, { 'x-api-token': adminApiKey });
  t.is(restocked.errors, undefined, JSON.stringify(restocked.errors));
  const wrongKey = await gql(`mutation ($i: CreateProductInput) { createProduct(input: $i) { id } }`, { i: { name: 'x', price: 100, quantity: 1 } }, { 'x-api-key': use('wrong admin key', secret('key')) });
  t.is(wrongKey.errors?.[0]?.extensions?.code, 'FORBIDDEN');

  // gRPC through Envoy: a customer's token and a service token in the metadata, and forged ones refused.
  const viaEnvoy = `127.0.0.1:${userQuery.envoyPort}`;
  const own = (await grpcurlCall(viaEnvoy, 'shop.user.v1.UserQueryService/GetUser', { userId }, [`authorization: Bearer ${token}`])) as { user: { id: string } };
  t.is(own.user.id, userId);
  const service = use('service token', (await devServiceIdentity('no-secrets-e2e').metadata())[SERVICE_TOKEN_HEADER]!);
  const listed = (await grpcurlCall(viaEnvoy, 'shop.user.v1.UserQueryService/ListUsers', { page: { pageSize: 1 } }, [`${SERVICE_TOKEN_HEADER}: ${service}`])) as { users: unknown[] };
  t.is(listed.users.length, 1);
  const [h, p] = token.split('.');
  const forged = use('forged access token', `${h}.${p}.${Buffer.from(secret('sig')).toString('base64url')}`);
  const refusedCustomer = await t.throwsAsync<Error & { stderr?: string }>(grpcurlCall(viaEnvoy, 'shop.user.v1.UserQueryService/GetUser', { userId }, [`authorization: Bearer ${forged}`]));
  t.regex(refusedCustomer?.stderr ?? '', /Unauthenticated/);
  const refusedService = await t.throwsAsync<Error & { stderr?: string }>(grpcurlCall(viaEnvoy, 'shop.user.v1.UserQueryService/ListUsers', {}, [`${SERVICE_TOKEN_HEADER}: ${use('made-up service token', secret('st'))}`]));
  t.regex(refusedService?.stderr ?? '', /Unauthenticated/);
  const atEdge = await gql(`{ me { id } }`, {}, bearer(forged));
  t.is(atEdge.status, 401);

  // Last: one request id, through user-query (NOT_FOUND) and user-command (UNAUTHENTICATED),
  // both of which log a refused call at info with it. Once it is in their logs and in the
  // edge's access log (written about a second late), everything sent before it has been
  // logged there. The BFF logs nothing of a request that went as planned, and what it wrote
  // for the earlier ones it wrote before it forwarded this one; the user projector had
  // applied every event of this user when verifyEmail answered (it reads at that version).
  const requestId = `no-secrets-${randomUUID()}`;
  const nobody = await gql(`query ($id: ID!) { user(id: $id) { id } }`, { id: randomUUID() }, { 'x-request-id': requestId });
  t.is(nobody.data?.user, null);
  const last = await login(`n${username}`, 'not-the-password', { 'x-request-id': requestId });
  t.is(last.errors?.[0]?.extensions?.code, 'UNAUTHENTICATED');
  for (const file of ['envoy.log', 'user-query.log', 'user-command.log']) {
    await waitFor(`request ${requestId} in ${file}`, () => readFileSync(path.join(logs, file), 'utf8').includes(requestId), { timeoutMs: 60_000, intervalMs: 200 });
  }

  const known: Array<[string, string]> = [
    ...used,
    ['the admin key', adminApiKey],
    ['the service token key', devServiceTokenKey()],
  ];
  const found: string[] = [];
  const files = readdirSync(logs).filter((f) => f.endsWith('.log'));
  t.true(files.length >= 10, `the stack's logs: ${files.join(' ')}`);
  for (const file of files) {
    const text = readFileSync(path.join(logs, file), 'utf8');
    const lineOf = (index: number) => text.slice(0, index).split('\n').length;
    const report = (what: string, index: number, length: number) =>
      found.push(`${file}:${lineOf(index)}: ${what}: …${text.slice(Math.max(0, index - 40), index + Math.min(length, 24))}…`);
    for (const [what, value] of known) {
      for (let i = text.indexOf(value); i !== -1; i = text.indexOf(value, i + 1)) report(what, i, value.length);
    }
    for (const [what, pattern] of shapes) for (const m of text.matchAll(pattern)) report(what, m.index!, m[0].length);
  }
  t.deepEqual(found, [], `secrets in the logs:\n${found.slice(0, 30).join('\n')}`);
});
