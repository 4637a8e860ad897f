/** Reusable readiness checks for ProcessSpec.ready. Each throws until the target serves. */
import net from 'node:net';

/** GET `url`; ready when it answers 2xx (and, if given, the body contains `expect`). */
export async function httpReady(url: string, expect?: string): Promise<void> {
  const res = await fetch(url, { signal: AbortSignal.timeout(2_000) });
  const body = await res.text();
  if (!res.ok) throw new Error(`GET ${url}: HTTP ${res.status} ${body.slice(0, 100)}`);
  if (expect !== undefined && !body.includes(expect)) throw new Error(`GET ${url}: body lacks "${expect}": ${body.slice(0, 100)}`);
}

/** Ready when a TCP connection to 127.0.0.1:port is accepted. */
export function tcpReady(port: number, host = '127.0.0.1'): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ port, host });
    socket.setTimeout(2_000, () => socket.destroy(new Error(`connect ${host}:${port}: timed out`)));
    socket.once('connect', () => {
      socket.end();
      resolve();
    });
    socket.once('error', reject);
  });
}
