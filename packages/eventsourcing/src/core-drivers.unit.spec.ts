import test from 'ava';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const drivers = ['pg', 'kafkajs', 'mongodb', '@kurrent/kurrentdb-client'];
const recorder = fileURLToPath(new URL('./testing/loaded/register.mjs', import.meta.url));

/** The driver packages a fresh Node process resolves while importing `entry` (and nothing else). */
async function driversLoadedBy(entry: string): Promise<string[]> {
  const dir = await mkdtemp(path.join(tmpdir(), 'core-drivers-'));
  const record = path.join(dir, 'resolved.txt');
  try {
    await promisify(execFile)(process.execPath, ['--import', 'tsx', '--import', recorder, '--input-type=module', '-e', `await import(${JSON.stringify(entry)});`], {
      env: { ...process.env, RECORD_RESOLUTIONS: record },
      cwd: fileURLToPath(new URL('..', import.meta.url)),
    });
    const urls = (await readFile(record, 'utf8')).split('\n');
    return drivers.filter((d) => urls.some((u) => u.includes(`/node_modules/${d}/`)));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

test('importing the core loads no database or broker driver', async (t) => {
  t.deepEqual(await driversLoadedBy('@shop/eventsourcing'), []);
});

test('the adapters load their own driver (the recorder sees drivers)', async (t) => {
  t.deepEqual(await driversLoadedBy('@shop/eventsourcing/postgres'), ['pg']);
  t.true((await driversLoadedBy('@shop/eventsourcing/kafka')).includes('kafkajs'));
  t.deepEqual(await driversLoadedBy('@shop/eventsourcing/mongodb'), ['mongodb']);
  t.deepEqual(await driversLoadedBy('@shop/eventsourcing/eventstoredb'), ['@kurrent/kurrentdb-client']);
});
