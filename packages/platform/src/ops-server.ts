import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import type { Logger } from './log.js';

/** A named check that throws (or rejects) when the dependency is not usable. */
export type ReadinessCheck = { name: string; check: () => Promise<void> };

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
  checks?: ReadinessCheck[];
  log: Logger;
}): Promise<OpsServer> {
  // Not ready until start-up has finished: /healthz answers from the first moment, /readyz only then.
  let ready = false;
  const server = http.createServer((req, res) => {
    const url = req.url ?? '/';
    if (url === '/healthz') {
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"ok"}');
      return;
    }
    if (url === '/readyz') {
      void readiness(opts.checks ?? [], ready).then(({ ok, results }) => {
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
    setReady: () => {
      ready = true;
    },
    setNotReady: () => {
      ready = false;
    },
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

async function readiness(checks: ReadinessCheck[], accepting: boolean) {
  const results: Record<string, string> = { accepting: accepting ? 'ok' : 'starting or shutting down' };
  let ok = accepting;
  await Promise.all(
    checks.map(async ({ name, check }) => {
      try {
        await withTimeout(check(), 2_000);
        results[name] = 'ok';
      } catch (err) {
        ok = false;
        results[name] = err instanceof Error ? err.message : 'failed';
      }
    }),
  );
  return { ok, results };
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
