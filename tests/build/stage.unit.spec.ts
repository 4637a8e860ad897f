/**
 * The image's file set (tools/build/stage.ts) is an allowlist: from a made-up repository,
 * the manifests, dist/ and the folders the compiled code names with import.meta.url, and
 * nothing else lying in a workspace (an .env, a key, a script, notes).
 */
import test from 'ava';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { runtimeFiles } from '../../tools/build/stage.js';

const root = mkdtempSync(path.join(tmpdir(), 'shop-stage-'));
test.after.always(() => rmSync(root, { recursive: true, force: true }));

const write = (file: string, text = '') => {
  mkdirSync(path.dirname(path.join(root, file)), { recursive: true });
  writeFileSync(path.join(root, file), text);
};

test.serial('only package.json files, dist/ and the run-time files the compiled code names are staged; no .env, key or stray file', (t) => {
  write('package.json', JSON.stringify({ name: 'made-up', workspaces: ['services/*'] }));
  write('package-lock.json', '{}');
  write('services/x/package.json', JSON.stringify({ name: '@shop/x' }));
  write('services/x/src/main.ts', "new URL('../migrations', import.meta.url);");
  write('services/x/dist/main.js', "const dir = new URL('../migrations', import.meta.url); const d = new URL(\"../descriptors.binpb\", import.meta.url);");
  write('services/x/dist/main.js.map', '{}');
  write('services/x/descriptors.binpb', 'binary');
  write('services/x/migrations/001_init.sql', 'create table t ();');
  // What must stay out: secrets and keys beside the code and inside a run-time folder, and anything else.
  for (const stray of ['services/x/.env', 'services/x/.env.local', 'services/x/foo.pem', 'services/x/tls.key', 'services/x/migrations/.env', 'services/x/migrations/dev.pem', 'services/x/migrations/README.md', 'services/x/scripts/seed.sh', 'services/x/notes.txt'])
    write(stray, 'SECRET=1');

  t.deepEqual(
    runtimeFiles(root).map((f) => f.file),
    ['package-lock.json', 'package.json', 'services/x/descriptors.binpb', 'services/x/dist/main.js', 'services/x/dist/main.js.map', 'services/x/migrations/001_init.sql', 'services/x/package.json'],
  );
});

test.serial('a file the compiled code names but the workspace lacks stops the staging, naming it', (t) => {
  write('services/x/dist/extra.js', "new URL('../seeds', import.meta.url);");
  t.throws(() => runtimeFiles(root), { message: /services\/x\/dist\/extra\.js reads services\/x\/seeds, which is missing/ });
  rmSync(path.join(root, 'services/x/dist/extra.js'));
});
