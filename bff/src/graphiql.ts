/**
 * GraphiQL served by the BFF itself. graphql-yoga's own page loads GraphiQL from a CDN
 * (unpkg), which a machine without internet never reaches ("Loading…" for ever). The
 * bundle comes instead from @graphql-yoga/render-graphiql, yoga's package for exactly
 * this. Its own renderGraphiQL inlines everything into a 9 MB page; we serve the same
 * assets as separate files instead, so that the browser caches them (their names carry a
 * hash of the content) and the page's Content-Security-Policy can forbid inline scripts.
 */
import { createHash } from 'node:crypto';
import { promisify } from 'node:util';
import { gzip as gzipCallback } from 'node:zlib';
import { Hono, type Context, type Next } from 'hono';
import type { GraphiQLOptions } from 'graphql-yoga';

const gzip = promisify(gzipCallback);

/**
 * Where the assets live: below the GraphQL endpoint, so that whatever routes /graphql to
 * the BFF (the Envoy edge's `/graphql` prefix, an ingress) carries them too.
 */
export const graphiqlAssetsPath = '/graphql/graphiql';

/**
 * What the page needs, and no more: scripts and workers from this origin only (no inline
 * script, no eval), requests to this origin (the GraphQL endpoint). Monaco and GraphiQL
 * set inline styles as they lay out, and the stylesheet embeds its fonts and icons as
 * data: URLs.
 */
export const graphiqlContentSecurityPolicy = [
  "default-src 'none'",
  "script-src 'self'",
  "worker-src 'self'",
  "connect-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "font-src data:",
  "img-src 'self' data:",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

/**
 * Runs before the bundle: Monaco asks MonacoEnvironment for its workers' URLs (ours, by
 * label), and GraphiQL renders once the bundle has loaded. The page's settings come in a
 * JSON block, so that no script is inline.
 */
const bootstrap = `(() => {
  const config = JSON.parse(document.getElementById('graphiql-config').textContent);
  self.MonacoEnvironment = { globalAPI: false, getWorkerUrl: (_moduleId, label) => config.workers[label] };
  document.addEventListener('DOMContentLoaded', () => YogaGraphiQL.renderYogaGraphiQL(document.getElementById('root'), config.options));
})();
`;

interface Asset {
  /** The URL path, with a hash of the content in the file name. */
  url: string;
  type: string;
  body: Uint8Array<ArrayBuffer>;
  gzipped?: Promise<Uint8Array<ArrayBuffer>>;
}

interface Assets {
  byName: Map<string, Asset>;
  js: Asset;
  css: Asset;
  favicon: Asset;
  bootstrap: Asset;
  workers: Record<'editorWorkerService' | 'json' | 'graphql', Asset>;
}

const javascript = 'text/javascript; charset=utf-8';

function asset(name: string, extension: string, type: string, content: Buffer): Asset {
  const hash = createHash('sha256').update(content).digest('hex').slice(0, 12);
  return { url: `${graphiqlAssetsPath}/${name}.${hash}.${extension}`, type, body: new Uint8Array(content) };
}

function fromDataUrl(dataUrl: string): Buffer {
  return Buffer.from(dataUrl.slice(dataUrl.indexOf(',') + 1), 'base64');
}

let loaded: Promise<Assets> | undefined;

/** The bundle is 9 MB of JavaScript: loaded on the first request that needs it, never when GraphiQL is off. */
function loadAssets(): Promise<Assets> {
  loaded ??= import('@graphql-yoga/render-graphiql/graphiql').then((bundle) => {
    const text = (s: string) => Buffer.from(s, 'utf8');
    const workers = {
      editorWorkerService: asset('editor.worker', 'js', javascript, text(bundle.editorWorkerService)),
      json: asset('json.worker', 'js', javascript, text(bundle.jsonWorker)),
      graphql: asset('graphql.worker', 'js', javascript, text(bundle.graphqlWorker)),
    };
    const assets: Omit<Assets, 'byName'> = {
      js: asset('yoga-graphiql', 'js', javascript, text(bundle.js)),
      css: asset('graphiql', 'css', 'text/css; charset=utf-8', text(bundle.css)),
      favicon: asset('favicon', 'ico', 'image/x-icon', fromDataUrl(bundle.favicon)),
      bootstrap: asset('bootstrap', 'js', javascript, text(bootstrap)),
      workers,
    };
    const all = [assets.js, assets.css, assets.favicon, assets.bootstrap, ...Object.values(workers)];
    return { ...assets, byName: new Map(all.map((a) => [a.url.slice(graphiqlAssetsPath.length + 1), a])) };
  });
  return loaded;
}

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** yoga's `renderGraphiQL`: the page at GET /graphql (accept: text/html), pointing at our assets. */
export async function renderGraphiQL(options: GraphiQLOptions = {}): Promise<string> {
  const assets = await loadAssets();
  const config = {
    workers: Object.fromEntries(Object.entries(assets.workers).map(([label, a]) => [label, a.url])),
    options,
  };
  // "<" escaped: nothing in the options can end the script element early.
  const json = JSON.stringify(config).replaceAll('<', '\\u003c');
  return `<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8">
    <title>${escapeHtml(options.title ?? 'Yoga GraphiQL')}</title>
    <link rel="icon" href="${escapeHtml(options.favicon ?? assets.favicon.url)}">
    <link rel="stylesheet" href="${assets.css.url}">
    <script id="graphiql-config" type="application/json">${json}</script>
    <script src="${assets.bootstrap.url}"></script>
    <script src="${assets.js.url}"></script>
  </head>
  <body id="body" class="no-focus-outline">
    <noscript>You need to enable JavaScript to use GraphiQL.</noscript>
    <div id="root"></div>
  </body>
</html>
`;
}

/**
 * Headers of the GraphiQL page (yoga answers it at the GraphQL endpoint, so this goes in
 * front of that route): its Content-Security-Policy, and no caching, so that a new BFF's
 * asset names are seen at once.
 */
export function graphiqlPageHeaders() {
  return async (c: Context, next: Next) => {
    await next();
    if (c.req.method !== 'GET' || !c.res.headers.get('content-type')?.startsWith('text/html')) return;
    c.res.headers.set('content-security-policy', graphiqlContentSecurityPolicy);
    c.res.headers.set('cache-control', 'no-cache');
    c.res.headers.set('x-content-type-options', 'nosniff');
    c.res.headers.set('referrer-policy', 'no-referrer');
  };
}

/** GET /graphql/graphiql/<name>.<hash>.<ext>: the bundle, its stylesheet, workers and icon; cached for good. */
export function graphiqlAssets() {
  const routes = new Hono();
  routes.get('/:file', async (c) => {
    const found = (await loadAssets()).byName.get(c.req.param('file'));
    if (!found) return c.notFound();
    const headers: Record<string, string> = {
      'content-type': found.type,
      'cache-control': 'public, max-age=31536000, immutable',
      'x-content-type-options': 'nosniff',
      vary: 'accept-encoding',
    };
    if (!/\bgzip\b/.test(c.req.header('accept-encoding') ?? '')) return c.body(found.body, 200, headers);
    // Compressed once, on first demand: the bundle shrinks to about a quarter.
    found.gzipped ??= gzip(found.body).then((zipped) => new Uint8Array(zipped));
    return c.body(await found.gzipped, 200, { ...headers, 'content-encoding': 'gzip' });
  });
  return routes;
}
