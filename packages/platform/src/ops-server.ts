import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import type { Logger } from './log.js';

/** A named check that throws (or rejects) when the dependency is not usable. */
export type ReadinessCheck = { name: string; check: () => Promise<void> };

/**
 * Whether the process serves: it has started, is not shutting down, and every dependency
 * check passes. /readyz asks on each request; the gRPC health service (what Envoy's active
 * health checks call) follows it through `watch`, so a replica that lost its database is
 * taken out of balancing wherever it runs, not only where a kubelet reads /readyz.
 */
export class Readiness {
  private readonly checks: ReadinessCheck[] = [];
  private readonly watchers = new Set<(ready: boolean) => void>();
  private accepting = false;
  private ready = false;
  private timer: NodeJS.Timeout | undefined;
  private running = false;
  /** A check failed while serving (logged once, and once again when it passes). */
  private failed = false;

  constructor(
    private readonly opts: { intervalMs?: number; timeoutMs?: number; log?: Logger } = {},
  ) {}

  add(check: ReadinessCheck): void {
    this.checks.push(check);
  }

  /** Started (true) or shutting down (false): not ready before the one nor after the other, whatever the checks say. */
  setAccepting(accepting: boolean): void {
    this.accepting = accepting;
    if (!accepting) this.publish(false);
    else if (this.timer) this.schedule(0);
  }

  /** Runs every check now, each bounded by its timeout. */
  async evaluate(): Promise<{ ok: boolean; results: Record<string, string> }> {
    const results: Record<string, string> = { accepting: this.accepting ? 'ok' : 'starting or shutting down' };
    let ok = true;
    await Promise.all(
      this.checks.map(async ({ name, check }) => {
        try {
          await withTimeout(check(), this.opts.timeoutMs ?? 2_000);
          results[name] = 'ok';
        } catch (err) {
          ok = false;
          results[name] = err instanceof Error ? err.message : 'failed';
        }
      }),
    );
    // Read after the checks: a shutdown that began meanwhile wins.
    return { ok: ok && this.accepting, results };
  }

  /**
   * Tells `onChange` the current readiness now and each change after it, running the checks
   * every intervalMs (the next run starts only after the previous one ended) while anyone
   * watches. Returns the function that stops watching.
   */
  watch(onChange: (ready: boolean) => void): () => void {
    this.watchers.add(onChange);
    onChange(this.ready);
    if (!this.timer && !this.running) this.schedule(0);
    return () => {
      this.watchers.delete(onChange);
      if (this.watchers.size > 0) return;
      clearTimeout(this.timer);
      // Forgotten, or a later watch() would take the cleared timer for a poll to come.
      this.timer = undefined;
    };
  }

  private schedule(delayMs: number): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.poll(), delayMs);
    this.timer.unref();
  }

  private async poll(): Promise<void> {
    this.timer = undefined;
    this.running = true;
    const { ok, results } = await this.evaluate();
    this.running = false;
    if (this.watchers.size === 0) return;
    if (this.accepting && ok !== this.ready) {
      if (!ok) this.opts.log?.warn({ checks: results }, 'a readiness check failed: not serving');
      else if (this.failed) this.opts.log?.info({ checks: results }, 'readiness checks pass again: serving');
      this.failed = !ok;
    }
    this.publish(ok);
    this.schedule(this.opts.intervalMs ?? 2_000);
  }

  private publish(ready: boolean): void {
    if (ready === this.ready) return;
    this.ready = ready;
    for (const w of this.watchers) w(ready);
  }
}

export interface OpsServer {
  port: number;
  /** Mark the process ready once it has started everything (until then /readyz answers 503). */
  setReady(): void;
  /** Mark the process not ready (during shutdown) so that load balancers drain it. */
  setNotReady(): void;
  close(): Promise<void>;
}

/**
 * The operations endpoint every process has: `/healthz` (liveness: the event loop
 * answers), `/readyz` (readiness: every dependency check passes) and `/metrics`.
 */
export async function startOpsServer(opts: {
  port: number;
  host?: string;
  registry: Registry;
  /** Not ready until setReady: /healthz answers from the first moment, /readyz only once start-up has finished. */
  readiness?: Readiness;
  log: Logger;
}): Promise<OpsServer> {
  const readiness = opts.readiness ?? new Readiness();
  const server = http.createServer((req, res) => {
    const url = req.url ?? '/';
    if (url === '/healthz') {
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"ok"}');
      return;
    }
    if (url === '/readyz') {
      void readiness.evaluate().then(({ ok, results }) => {
        res
          .writeHead(ok ? 200 : 503, { 'content-type': 'application/json' })
          .end(JSON.stringify({ status: ok ? 'ready' : 'not ready', checks: results }));
      });
      return;
    }
    if (url === '/metrics') {
      opts.registry.metrics().then(
        (body) => res.writeHead(200, { 'content-type': opts.registry.contentType }).end(body),
        (err: unknown) => {
          opts.log.error({ err }, 'metrics collection failed');
          res.writeHead(500).end();
        },
      );
      return;
    }
    res.writeHead(404).end();
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host ?? '127.0.0.1', () => resolve());
  });
  return {
    port: (server.address() as AddressInfo).port,
    setReady: () => readiness.setAccepting(true),
    setNotReady: () => readiness.setAccepting(false),
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`timed out after ${ms} ms`)), ms);
    p.then(
      (v) => {
        clearTimeout(t);
        resolve(v);
      },
      (e: unknown) => {
        clearTimeout(t);
        reject(e instanceof Error ? e : new Error(String(e)));
      },
    );
  });
}
