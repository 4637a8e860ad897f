import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { natsBinary } from '@shop/tools/install/nats';
import { freePort } from './free-port.js';

/**
 * A nats-server of its own (the stack's binary) on a free port, for tests that stop the
 * server: the stack's NATS is shared by every other test and must never be touched.
 */
export interface PrivateNats {
  url: string;
  /** kill -9 of the server. */
  crash(): Promise<void>;
  /**
   * Starts it again on the same port; resolves once it accepts connections. With `token`,
   * it then refuses every client without that token (as after a credentials rotation).
   */
  start(opts?: { token?: string }): Promise<void>;
  destroy(): Promise<void>;
}

export async function startPrivateNats(): Promise<PrivateNats> {
  const binary = natsBinary();
  if (!existsSync(binary)) throw new Error(`${binary} is missing: run \`npm run stack -- install\` first`);
  const port = await freePort();
  const monitor = await freePort();
  let server: ChildProcess | undefined;
  const start = async (opts: { token?: string } = {}) => {
    const auth = opts.token ? ['--auth', opts.token] : [];
    server = spawn(binary, ['-a', '127.0.0.1', '-p', String(port), '-m', String(monitor), ...auth], { stdio: 'ignore' });
    for (let attempt = 0; ; attempt++) {
      try {
        const res = await fetch(`http://127.0.0.1:${monitor}/healthz`);
        if (res.ok) return;
      } catch (err) {
        if (attempt > 100) throw err;
      }
      await sleep(100);
    }
  };
  const crash = async () => {
    const s = server;
    if (!s || s.exitCode !== null || s.signalCode !== null) return;
    const exited = once(s, 'exit');
    s.kill('SIGKILL');
    await exited;
  };
  await start();
  // A test worker that dies runs no teardown: the server must not outlive it.
  const killNow = () => void server?.kill('SIGKILL');
  process.once('exit', killNow);
  return {
    url: `nats://127.0.0.1:${port}`,
    start,
    crash,
    async destroy() {
      process.removeListener('exit', killNow);
      await crash();
    },
  };
}
