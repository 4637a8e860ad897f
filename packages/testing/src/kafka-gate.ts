import { connect, createServer, type Server, type Socket } from 'node:net';
import type { ISocketFactory } from 'kafkajs';
import { urls } from '@shop/tools/topology';

/**
 * A network cut between one Kafka client and the stack's real broker, for tests of an
 * outage: the broker is shared by every other test and must never be stopped.
 *
 * Every connection of a client built with `socketFactory` goes through a TCP proxy of
 * the gate's own (one per broker address; the broker advertises the address it is
 * reached at, so a client connects to nothing else). `close()` resets every proxied
 * connection (the client reads ECONNRESET, as after a broker crash) and stops listening
 * (new connections are refused by the kernel, as while the broker is down); `open()`
 * listens again on the same port.
 */
export interface KafkaGate {
  /** For createKafka: the client's every connection goes through the gate. */
  socketFactory: ISocketFactory;
  /** Cuts the network (above); also a test's teardown, as it leaves nothing open. */
  close(): Promise<void>;
  open(): Promise<void>;
  /** Connections the gate has proxied so far (a client that went through it). */
  readonly connections: number;
}

export async function startKafkaGate(brokers: string[] = urls.kafkaBrokers): Promise<KafkaGate> {
  const proxies = new Map<string, Proxy>();
  for (const broker of brokers) {
    const [host, port] = splitAddress(broker);
    const proxy = new Proxy(host, port);
    await proxy.listen(0);
    proxies.set(`${host}:${port}`, proxy);
  }
  return {
    socketFactory: ({ host, port, onConnect }) => {
      const proxy = proxies.get(`${host}:${port}`);
      if (!proxy) throw new Error(`the Kafka gate knows no broker ${host}:${port} (it proxies ${[...proxies.keys()].join(', ')})`);
      const socket = connect({ host: '127.0.0.1', port: proxy.port }, onConnect);
      // What kafkajs' default socket factory sets: the gate changes the route, nothing else.
      socket.setKeepAlive(true, 60_000);
      return socket;
    },
    close: async () => void (await Promise.all([...proxies.values()].map((p) => p.close()))),
    open: async () => void (await Promise.all([...proxies.values()].map((p) => p.listen(p.port)))),
    get connections() {
      return [...proxies.values()].reduce((n, p) => n + p.accepted, 0);
    },
  };
}

function splitAddress(address: string): [string, number] {
  const i = address.lastIndexOf(':');
  return [address.slice(0, i), Number(address.slice(i + 1))];
}

class Proxy {
  port = 0;
  accepted = 0;
  private server: Server | undefined;
  private readonly pairs = new Set<[Socket, Socket]>();

  constructor(
    private readonly host: string,
    private readonly target: number,
  ) {}

  listen(port: number): Promise<void> {
    if (this.server) return Promise.resolve();
    const server = createServer((client) => {
      this.accepted++;
      const upstream = connect({ host: this.host, port: this.target });
      const pair: [Socket, Socket] = [client, upstream];
      this.pairs.add(pair);
      const end = () => {
        this.pairs.delete(pair);
        client.destroy();
        upstream.destroy();
      };
      client.on('error', end).on('close', end);
      upstream.on('error', end).on('close', end);
      client.pipe(upstream).pipe(client);
    });
    this.server = server;
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => {
        server.off('error', reject);
        this.port = (server.address() as { port: number }).port;
        resolve();
      });
    });
  }

  close(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    for (const [client, upstream] of this.pairs) {
      // RST, not FIN: the client sees the connection broken, as when a broker dies.
      client.resetAndDestroy();
      upstream.destroy();
    }
    this.pairs.clear();
    return new Promise((resolve) => (server ? server.close(() => resolve()) : resolve()));
  }
}
