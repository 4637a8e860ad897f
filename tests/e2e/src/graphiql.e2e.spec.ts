import test from 'ava';
import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { chromium, type Browser, type Locator } from 'playwright-core';
import { chromiumBinary } from '@shop/tools/install/chromium';
import { stackDir, urls } from '@shop/tools/topology';
import { gql } from './graphql.js';

/**
 * GraphiQL in a real browser (headless Chromium) through the Envoy edge, the way a developer
 * opens it: everything it needs must come from our own server, because the machines it runs
 * on may reach no CDN. Requires the stack and Chromium (`npm test` installs and starts both).
 */
const screenshot = path.join(stackDir, 'screenshots', 'graphiql.png');
const query = '{ products { name price } }';
const localHosts = new Set(['127.0.0.1', 'localhost', '[::1]']);

/** Requests that leave the machine; data: and blob: URLs never touch the network. */
function foreign(url: string): boolean {
  const { protocol, hostname } = new URL(url);
  return ['http:', 'https:', 'ws:', 'wss:'].includes(protocol) && !localHosts.has(hostname);
}

const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** What an editor shows (Monaco draws spaces as no-break spaces). */
async function textOf(lines: Locator): Promise<string> {
  return (await lines.innerText()).replaceAll('\u00a0', ' ').trim();
}

async function launch(): Promise<Browser> {
  if (!existsSync(chromiumBinary)) {
    throw new Error(`${chromiumBinary} is missing: run \`node --import tsx tools/stack/install/chromium.ts\` (npm test does)`);
  }
  // launch() gives every run a fresh temporary profile (user data dir), removed on close.
  return chromium.launch({
    executablePath: chromiumBinary,
    // Root needs --no-sandbox; the rest keeps Chromium from calling home on its own.
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

test('GraphiQL loads from the edge alone, then runs a query and shows the demo catalog', async (t) => {
  // The demo catalog was loaded first, and products are listed in creation order.
  const api = await gql<{ products: Array<{ name: string; price: number }> }>(query);
  t.is(api.errors, undefined);
  const product = api.data?.products[0];
  if (!product) return t.fail('the catalog is empty: `npm start` loads the demo catalog');

  const browser = await launch();
  t.teardown(() => browser.close());
  const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
  const requests: string[] = [];
  context.on('request', (request) => requests.push(request.url()));
  const page = await context.newPage();
  const cspViolations: string[] = [];
  page.on('console', (message) => {
    if (/Content Security Policy/i.test(message.text())) cspViolations.push(message.text());
  });

  try {
    await page.goto(urls.graphql, { waitUntil: 'load' });
    const editor = page.locator('.graphiql-query-editor .monaco-editor');
    await editor.waitFor({ state: 'visible', timeout: 60_000 }).catch(() => undefined);
    t.deepEqual(requests.filter(foreign), [], 'every request goes to the edge, none to another host');
    t.true(await editor.isVisible(), `the query editor did not render; the page shows: ${(await page.locator('body').innerText()).slice(0, 200)}`);
    await page.waitForFunction(() => !document.body.innerText.includes('Loading'), null, { timeout: 10_000 }).catch(() => undefined);
    t.notRegex(await page.locator('body').innerText(), /Loading/, 'a loading placeholder is left on the page');

    // Replace whatever the editor holds. The editor closes the first brace by itself, after
    // the caret, and sometimes only after the keys that follow (a fresh-clone run found the
    // brace left behind): whatever follows the inserted query goes, until nothing does.
    await editor.click();
    await page.keyboard.press('ControlOrMeta+A');
    await page.keyboard.insertText(query);
    for (let attempt = 0; attempt < 10; attempt++) {
      await page.keyboard.press('ControlOrMeta+Shift+End');
      await page.keyboard.press('Delete');
      await page.waitForTimeout(100);
      if ((await textOf(editor.locator('.view-lines'))) === query) break;
    }
    t.is(await textOf(editor.locator('.view-lines')), query, 'the query editor holds the query');
    await page.getByRole('button', { name: /execute query/i }).click();

    const response = page.locator('.graphiql-response .view-lines');
    await page
      .waitForFunction((name) => document.querySelector('.graphiql-response .view-lines')?.textContent?.replaceAll('\u00a0', ' ').includes(name), product.name, { timeout: 30_000 })
      .catch(() => undefined);
    const shown = await textOf(response);
    t.regex(shown, new RegExp(`"name": "${escapeRegExp(product.name)}",\\s*"price": ${product.price}\\b`), `the result pane shows: ${shown.slice(0, 300)}`);
    t.deepEqual(requests.filter(foreign), [], 'running the query stayed on the edge too');
    t.deepEqual(cspViolations, [], 'the page works within its Content-Security-Policy');
  } finally {
    mkdirSync(path.dirname(screenshot), { recursive: true });
    await page.screenshot({ path: screenshot, fullPage: true });
    t.log(`screenshot: ${screenshot}`);
  }
});
