import test from 'ava';
import http from 'node:http';
import { infraPorts } from '@shop/tools/topology';

/**
 * The Envoy edge of the running stack (port 8080) limits request rates per client address.
 * Two clients are two source addresses: 127.0.0.0/8 is all loopback on Linux, so a socket
 * bound to 127.0.0.2 (Node's localAddress) reaches Envoy on 127.0.0.1 as another peer.
 * X-Forwarded-For would not do: the edge trusts none. Every other test is 127.0.0.1, so
 * these two addresses use up no bucket anyone else needs.
 */
const clientA = '127.0.0.2';
const clientB = '127.0.0.3';

function get(agent: http.Agent, path: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port: infraPorts.envoyEdge, path, agent }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end();
  });
}

/**
 * A path without a route: Envoy answers it (404) itself, after the rate limit, which comes
 * before routing. So the flood costs the BFF nothing, outpaces the bucket's refill easily,
 * and the answers depend on the edge alone (not on a BFF another test may be restarting).
 */
const unrouted = '/edge-rate-limit-probe';

const agentFrom = (localAddress: string) => new http.Agent({ keepAlive: true, maxSockets: 32, localAddress } as http.AgentOptions);

test('a client that floods the edge is refused (429) while another client is still served', async (t) => {
  t.timeout(120_000);
  const a = agentFrom(clientA);
  const b = agentFrom(clientB);
  const statusesA = new Map<number, number>();
  let limited!: () => void;
  let wasLimited = false;
  const firstLimit = new Promise<void>((resolve) => (limited = resolve)).then(() => (wasLimited = true));
  let stop = false;
  let sent = 0;
  // A floods with 32 requests in flight until told to stop (or gives up, never limited).
  const flood = Promise.all(
    Array.from({ length: 32 }, async () => {
      while (!stop && sent < 100_000) {
        sent++;
        const status = await get(a, unrouted);
        statusesA.set(status, (statusesA.get(status) ?? 0) + 1);
        if (status === 429) limited();
      }
    }),
  );
  try {
    await Promise.race([firstLimit, flood]);
    if (!wasLimited) throw new Error(`client A was never limited: ${JSON.stringify(Object.fromEntries(statusesA))}`);
    // Then B asks between two requests of A that are both refused: B's request came while
    // A's bucket was empty. With one bucket for everyone B would be refused there too (a
    // refill between them would have let A's second request through).
    const statusesB: number[] = [];
    let sandwiched = 0;
    for (let i = 0; i < 3_000 && sandwiched < 10; i++) {
      const before = await get(a, unrouted);
      const middle = await get(b, unrouted);
      const after = await get(a, unrouted);
      statusesB.push(middle);
      if (before === 429 && after === 429) sandwiched++;
    }
    t.true(sandwiched >= 5, `B asked between two refusals of A only ${sandwiched} times`);
    const countsB = Object.fromEntries([...new Set(statusesB)].map((s) => [s, statusesB.filter((x) => x === s).length]));
    // Answered (404, no such route), never refused.
    t.deepEqual(countsB, { 404: statusesB.length }, 'B has a bucket of its own');
  } finally {
    stop = true;
    await flood;
    a.destroy();
    b.destroy();
  }
  t.log(`client A: ${JSON.stringify(Object.fromEntries(statusesA))} over ${sent} requests`);
});
