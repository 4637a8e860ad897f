/**
 * What the Dockerfile repeats from the TypeScript, since it cannot import it: checked here
 * without a Docker engine.
 */
import test from 'ava';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { repoRoot } from '../../tools/stack/topology.js';
import { shippedWorkspaces } from '../../tools/build/workspaces.js';
import { shopUser } from '../../tools/deploy/image.js';

const dockerfile = readFileSync(path.join(repoRoot, 'Dockerfile'), 'utf8');
/** The Dockerfile's instructions, continuation lines joined, comments left out. */
const instructions = dockerfile
  .replace(/\\\n\s*/g, ' ')
  .split('\n')
  .filter((l) => l.trim() && !l.startsWith('#'));

/** The workspaces an `npm ci --omit=dev` instruction installs (its --workspace options). */
const installedWorkspaces = (lines: string[]): string[] => {
  const install = lines.filter((l) => /^RUN npm ci .*--omit=dev/.test(l));
  if (install.length !== 1) throw new Error(`one RUN npm ci --omit=dev expected, found ${install.length}`);
  return [...install[0]!.matchAll(/--workspace[= ](\S+)/g)].map((m) => m[1]!).sort();
};

test("the image's production install names exactly the shipped workspaces (tools/build/workspaces.ts)", (t) => {
  t.deepEqual(installedWorkspaces(instructions), shippedWorkspaces());
  // The check can fail: one workspace too many, or none (all of them installed).
  t.notDeepEqual(installedWorkspaces(['RUN npm ci --omit=dev --workspace=bff --workspace=tools']), shippedWorkspaces());
  t.deepEqual(installedWorkspaces(['RUN npm ci --omit=dev']), []);
});

test("the image runs as tools/deploy/image.ts shopUser, the user the manifests and compose name", (t) => {
  const { uid, gid } = shopUser;
  t.deepEqual(instructions.filter((l) => l.startsWith('USER ')), [`USER ${uid}:${gid}`]);
  const adduser = instructions.find((l) => l.includes('groupadd')) ?? '';
  t.regex(adduser, new RegExp(`groupadd --system --gid ${gid} shop`), 'the group is created with its gid');
  t.regex(adduser, new RegExp(`useradd --system --uid ${uid} --gid ${gid} `), 'the user is created with its uid and gid');
});
