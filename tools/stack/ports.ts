/** Checking that a TCP port is free before starting a server on it. */
import net from 'node:net';
import { readFileSync } from 'node:fs';

/** True if nothing listens on 127.0.0.1:port (we can bind it ourselves). */
export function isPortFree(port: number): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EADDRINUSE' || err.code === 'EACCES') resolve(false);
      else reject(err);
    });
    server.listen({ port, host: '127.0.0.1', exclusive: true }, () => {
      server.close(() => resolve(true));
    });
  });
}

/**
 * TCP states of the sockets bound to local `port`, from /proc/net/tcp{,6} (empty without
 * /proc). Tells a listener apart from a connection in TIME_WAIT that still holds the port.
 */
export function socketStatesOnPort(port: number): string[] {
  const names: Record<string, string> = { '01': 'ESTABLISHED', '06': 'TIME_WAIT', '0A': 'LISTEN' };
  const states: string[] = [];
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const [, local, , st] = line.trim().split(/\s+/);
      if (local && st && Number.parseInt(local.split(':').at(-1)!, 16) === port) states.push(names[st] ?? st);
    }
  }
  return states;
}
