/**
 * `npm run stack -- <command>`: install, start and stop the local stack.
 * Exit code 0 on success; 1 with a one-line "[stack] error: …" on failure.
 */
import { spawn } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { StackError, say, elapsed } from './log.js';
import { stackPaths } from './paths.js';
import { installAll } from './install/index.js';
import { infraNames, infraSpecs, upInfra, downInfra } from './infra.js';
import { startAll, stop, status, formatStatus, knownProcesses } from './supervisor.js';
import { kafkaConnectProcess } from './debezium/connect.js';
import { settleAll } from './settle.js';
import { removeData } from './reset.js';
import { problemLines } from './problems.js';

// A reader that went away (`npm run stack -- restart | head`) must not kill a restart half
// done, with its processes stopped and not started again: output is dropped after EPIPE.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code !== 'EPIPE') throw err;
  });
}

const usage = `usage: npm run stack -- <command>
  install            install or update every tool and server (idempotent)
  up [--infra]       install what is missing, start the infrastructure, then (without --infra) the apps
  restart [name…]    restart application processes (all when none is named), e.g. after a code change
  down [--apps]      stop the apps, then (without --apps) the infrastructure
  status             show what runs
  logs [name] [-f]   show (or follow) the logs of one or all processes
  problems           the warnings, errors, failed and slow calls in the process logs
  reset              stop everything and delete the data directories`;

async function main(argv: string[]): Promise<number> {
  const [command, ...args] = argv;
  switch (command) {
    case 'install':
      return timed('install', () => installAll());
    case 'up':
      return timed('up', () => up(args.includes('--infra')));
    case 'restart':
      return timed('restart', () => restart(args.filter((a) => !a.startsWith('-'))));
    case 'down':
      await down(args.includes('--apps'));
      return 0;
    case 'status':
      console.log(formatStatus(status(infraSpecs())));
      return 0;
    case 'logs':
      return logs(args.find((a) => !a.startsWith('-')), args.includes('-f') || args.includes('--follow'));
    case 'problems': {
      const lines = problemLines(stackPaths.logs);
      console.log(lines.length ? lines.join('\n') : '[stack] no warnings, errors, failed or slow calls in the process logs');
      return 0;
    }
    case 'reset':
      return reset();
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      console.log(usage);
      return command === undefined ? 1 : 0;
    default:
      throw new StackError(`unknown command "${command}"\n${usage}`);
  }
}

async function timed(what: string, fn: () => Promise<void>): Promise<number> {
  const t0 = Date.now();
  await fn();
  say('stack', what, `done in ${elapsed(t0)}`);
  return 0;
}

async function up(infraOnly: boolean): Promise<void> {
  if (infraOnly) return upInfra();
  await installAll();
  if (process.env.RELAY === 'debezium') await (await import('./install/kafka-connect.js')).installKafkaConnect();
  await upInfra({ install: false });
  const apps = await import('./apps.js');
  await apps.buildForStack();
  // In waves: the services at once, then Envoy, then the BFF (localProcessSpecs).
  await startAll(await apps.appSpecs());
  await apps.afterUp();
}

/** Restarts the named application processes (all of them when none is named), e.g. after a code change. */
async function restart(names: string[]): Promise<void> {
  const apps = await import('./apps.js');
  // Restarting everything on the built-in relay: a Kafka Connect worker left from a
  // RELAY=debezium run goes, before appSpecs drops its replication slots (in use while it runs).
  if (names.length === 0 && apps.relay === 'builtin') await stop(kafkaConnectProcess);
  const specs = await apps.appSpecs();
  const unknown = names.filter((n) => !specs.some((s) => s.name === n));
  if (unknown.length > 0) throw new StackError(`unknown process ${unknown.join(', ')}; known: ${specs.map((s) => s.name).join(', ')}`);
  // The code on disk, compiled: what a restart after a change is for.
  await apps.buildForStack();
  const chosen = specs.filter((s) => names.length === 0 || names.includes(s.name));
  await settleAll('stopping', chosen.map((spec) => ({ name: spec.name, run: () => stop(spec) })));
  await startAll(chosen);
}

async function down(appsOnly = false): Promise<void> {
  const infra = new Set<string>(infraNames);
  const appNames = knownProcesses().filter((n) => !infra.has(n));
  const stopped: string[] = [];
  await settleAll(
    'stopping apps',
    appNames.map((name) => ({
      name,
      run: async () => {
        if (await stop(name)) stopped.push(name);
      },
    })),
  );
  if (!appsOnly) stopped.push(...(await downInfra()));
  if (stopped.length === 0) say('stack', 'down', 'nothing was running');
}

async function reset(): Promise<number> {
  await down();
  const removed = removeData();
  if (removed.length === 0) say('stack', 'reset', 'no data to remove');
  for (const dir of removed) say('stack', 'reset', `removed ${dir}`);
  return 0;
}

function logs(name: string | undefined, follow: boolean): Promise<number> {
  const available = existsSync(stackPaths.logs) ? readdirSync(stackPaths.logs).filter((f) => f.endsWith('.log')) : [];
  let files: string[];
  if (name) {
    const file = stackPaths.logFile(name);
    if (!existsSync(file)) throw new StackError(`no log for "${name}"; available: ${available.map((f) => f.slice(0, -4)).join(', ') || 'none'}`);
    files = [file];
  } else {
    // Process logs only; install logs are named in the error lines that need them.
    files = available.filter((f) => !f.startsWith('install-')).map((f) => `${stackPaths.logs}/${f}`);
    if (files.length === 0) throw new StackError('no logs yet: run `npm run stack -- up` first');
  }
  const tailArgs = ['-n', name ? '100' : '20', ...(follow ? ['-F'] : []), ...files];
  return new Promise((resolve, reject) => {
    const child = spawn('tail', tailArgs, { stdio: 'inherit' });
    child.on('error', reject);
    child.on('exit', (code, signal) => resolve(signal === 'SIGINT' ? 0 : (code ?? 1)));
  });
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    if (err instanceof StackError) console.error(`[stack] error: ${err.message}`);
    else console.error(err);
    process.exit(1);
  },
);
