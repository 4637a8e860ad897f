/**
 * Chromium, for the browser tests (tests/e2e drives it with playwright-core, whose own
 * browser download is not reachable here): Debian's package, apt-get installed if missing.
 * Only the tests need it, so it is not part of `npm run stack -- install`; tools/bin/test
 * runs this file before ava:
 *
 *   node --import tsx tools/stack/install/chromium.ts
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { StackError } from '../log.js';
import { stackPaths } from '../paths.js';
import { runLogged, capture, lastLine } from '../run.js';
import { installer, type InstallOutcome } from './installer.js';

/** Where Debian's package puts the browser (a wrapper script that starts the real binary). */
export const chromiumBinary = '/usr/bin/chromium';

const installLog = () => stackPaths.installLog('chromium');
const hint = 'Run it as root (apt-get needs it) with the Debian mirrors reachable, or install it yourself: apt-get install -y chromium.';

export const installChromium = installer('chromium', async (progress): Promise<InstallOutcome> => {
  if (existsSync(chromiumBinary)) return 'cached';
  progress('no /usr/bin/chromium; apt-get install chromium (first time ~1-2 min)…');
  const env = { DEBIAN_FRONTEND: 'noninteractive' };
  await runLogged('apt-get', ['update'], { logFile: installLog(), what: 'chromium: apt-get update', hint, env });
  await runLogged('apt-get', ['install', '-y', 'chromium'], { logFile: installLog(), what: 'chromium: apt-get install chromium', hint, env });
  // The package installs a wrapper script; make sure the browser behind it starts at all.
  const version = await capture(chromiumBinary, ['--version']);
  if (!version || version.code !== 0) {
    const why = version ? `exit ${version.code}: "${lastLine(version.stderr || version.stdout)}"` : 'it is missing';
    throw new StackError(`chromium: apt-get installed chromium but \`${chromiumBinary} --version\` failed (${why}). Check that the package chromium is installed completely (dpkg -s chromium). Full log: ${installLog()}`);
  }
  progress(lastLine(version.stdout));
  return 'installed';
});

// Run as a script (tools/bin/test): the same one-line errors as the stack CLI.
if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  await installChromium().catch((err: unknown) => {
    console.error(err instanceof StackError ? `[stack] error: ${err.message}` : err);
    process.exit(1);
  });
}
