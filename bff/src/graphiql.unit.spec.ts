import test, { type ExecutionContext } from 'ava';
import { gunzipSync } from 'node:zlib';
import type { NatsConnection } from 'nats';
import { createLogger } from '@shop/platform/log';
import { createTokenVerifier } from '@shop/platform/auth';
import { createApp } from './app.js';
import type { Clients } from './clients/index.js';
import { testConfig } from './test-fixtures.js';

/**
 * GraphiQL as the BFF serves it (the browser test in tests/e2e runs it for real): a page
 * whose assets all come from the BFF, cacheable, with their content types, under a
 * Content-Security-Policy; and nothing of it when GRAPHIQL is off. No service is called.
 */
/** A NATS connection on which nothing ever arrives. */
const quietNats = {
  subscribe: () => ({ unsubscribe: () => undefined }),
  status: async function* () {},
} as unknown as NatsConnection;

function app(GRAPHIQL: boolean) {
  return createApp({
    clients: {} as Clients,
    nats: quietNats,
    verifier: createTokenVerifier({ issuer: 'shop', audience: 'shop-api', fetchJwks: async () => ({ keys: [] }) }),
    config: { ...testConfig, ADMIN_API_KEY: 'k'.repeat(16), GRAPHIQL, ORDER_WAIT_MS: 2_000 },
    log: createLogger('bff-test', 'silent'),
  });
}

const page = (a: ReturnType<typeof app>) => a.request('/graphql', { headers: { accept: 'text/html' } });
const assetUrls = (html: string) => [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]!);
function workerUrls(html: string): string[] {
  const config = /<script id="graphiql-config" type="application\/json">(.*?)<\/script>/.exec(html)?.[1];
  return config ? Object.values(JSON.parse(config).workers as Record<string, string>) : [];
}

/** Everything the page loads: the bundle, bootstrap, stylesheet, icon and the three editor workers. */
function everyAsset(t: ExecutionContext, html: string): string[] {
  const urls = [...assetUrls(html), ...workerUrls(html)];
  t.is(urls.length, 7, `the page's assets: ${urls.join(' ')}`);
  return urls;
}

test('the GraphiQL page refers only to assets of its own, and runs no inline script', async (t) => {
  const res = await page(app(true));
  t.is(res.status, 200);
  t.regex(res.headers.get('content-type')!, /^text\/html/);
  const html = await res.text();
  const urls = everyAsset(t, html);
  for (const url of urls) t.regex(url, /^\/graphql\/graphiql\/[a-z.-]+\.[0-9a-f]{12}\.(js|css|ico)$/);
  t.notRegex(html, /https?:\/\//);
  // Every script element is a file of ours or the JSON block with the settings.
  for (const [tag] of html.matchAll(/<script[^>]*>/g)) t.regex(tag, /\bsrc="\/graphql\/graphiql\/|type="application\/json"/);

  const csp = res.headers.get('content-security-policy') ?? '';
  t.regex(csp, /(^|; )default-src 'none'(;|$)/);
  t.regex(csp, /(^|; )script-src 'self'(;|$)/);
  t.regex(csp, /(^|; )worker-src 'self'(;|$)/);
  t.regex(csp, /(^|; )connect-src 'self'(;|$)/);
  t.is(res.headers.get('cache-control'), 'no-cache');
});

test('the assets are served with their content types, cached for good, gzipped on request', async (t) => {
  const a = app(true);
  const html = await (await page(a)).text();
  const types = { js: 'text/javascript; charset=utf-8', css: 'text/css; charset=utf-8', ico: 'image/x-icon' } as Record<string, string>;
  for (const url of everyAsset(t, html)) {
    const plain = await a.request(url);
    t.is(plain.status, 200, url);
    t.is(plain.headers.get('content-type'), types[url.split('.').at(-1)!] ?? 'an asset of a known kind', url);
    t.is(plain.headers.get('cache-control'), 'public, max-age=31536000, immutable', url);
    t.is(plain.headers.get('x-content-type-options'), 'nosniff', url);
    const body = Buffer.from(await plain.arrayBuffer());
    t.true(body.length > 0, url);

    const zipped = await a.request(url, { headers: { 'accept-encoding': 'gzip, deflate, br' } });
    t.is(zipped.headers.get('content-encoding'), 'gzip', url);
    t.true(gunzipSync(Buffer.from(await zipped.arrayBuffer())).equals(body), url);
  }
  t.is((await a.request('/graphql/graphiql/yoga-graphiql.000000000000.js')).status, 404);
});

test('GRAPHIQL=false: no GraphiQL page and no assets', async (t) => {
  const html = await (await page(app(true))).text();
  const off = app(false);
  const res = await page(off);
  t.notRegex(res.headers.get('content-type') ?? '', /text\/html/);
  t.notRegex(await res.text(), /GraphiQL/i);
  for (const url of everyAsset(t, html)) t.is((await off.request(url)).status, 404, url);
});
