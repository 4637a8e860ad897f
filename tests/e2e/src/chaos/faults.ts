import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { appSpecs } from '@shop/tools/apps';
import { infraSpecs } from '@shop/tools/infra';
import { type ProcessSpec, running, start, stop } from '@shop/tools/supervisor';
import { urls } from '@shop/tools/topology';
import { waitFor } from '@shop/testing';

/**
 * The faults of the chaos suite, on the running local stack. Each resolves at the fault's
 * end: the process or server is back and ready (what happens after that is recovery).
 */
export interface FaultResult {
  /** What was done, for the report (e.g. "kill -9 cart-command (pid 123)"). */
  injected: string;
}

async function specOf(name: string): Promise<ProcessSpec> {
  const spec = [...infraSpecs(), ...(await appSpecs())].find((s) => s.name === name);
  if (!spec) throw new Error(`no process named ${name} in the local stack`);
  return spec;
}

/**
 * kill -9 of a process of the stack. Its watchdog starts it again (as Kubernetes would
 * restart a pod's container); the fault ends when the new process is ready.
 */
export async function killProcess(name: string): Promise<FaultResult> {
  const spec = await specOf(name);
  const victim = running(name);
  if (!victim) throw new Error(`${name} is not running`);
  process.kill(victim.pid, 'SIGKILL');
  await waitFor(`${name} restarted by its watchdog`, async () => {
    const now = running(name);
    return now !== undefined && now.pid !== victim.pid;
  }, { timeoutMs: 60_000 });
  await waitFor(`${name} ready again`, async () => {
    try {
      await spec.ready();
      return true;
    } catch {
      return false;
    }
  }, { timeoutMs: 60_000 });
  return { injected: `kill -9 ${name} (pid ${victim.pid}), restarted by its watchdog` };
}

/** Stops a server (gracefully) for `downMs`, then starts it again. */
export async function stopFor(name: string, downMs: number): Promise<FaultResult> {
  const spec = await specOf(name);
  try {
    await stop(spec);
    await sleep(downMs);
  } finally {
    // Whatever happened, the server comes back: the cases after this one need it.
    await start(spec);
  }
  return { injected: `${name} stopped for ${(downMs / 1000).toFixed(0)} s, then started` };
}

/**
 * kill -9 of the Postgres postmaster (its backends exit when they notice), a pause, then
 * pg_ctl start, which runs crash recovery from the write-ahead log.
 */
export async function killPostgres(downMs: number): Promise<FaultResult> {
  const spec = await specOf('postgres');
  const victim = running('postgres');
  if (!victim) throw new Error('postgres is not running');
  process.kill(victim.pid, 'SIGKILL');
  try {
    await sleep(downMs);
    // The backends outlive the postmaster for a moment; the data directory is free once they are gone.
    await waitFor('the old Postgres backends exited', async () => {
      try {
        process.kill(victim.pid, 0);
        return false;
      } catch {
        return true;
      }
    }, { timeoutMs: 30_000 });
  } finally {
    await start(spec);
  }
  return { injected: `kill -9 postgres (pid ${victim.pid}), started again after ${(downMs / 1000).toFixed(0)} s` };
}

/**
 * A poison event: an ItemAdded whose quantity is not a number (as a faulty upcaster or a
 * hand-edited row would leave), written straight into the cart event store. The relay
 * publishes it like any other; the projector cannot store it and must dead-letter it and
 * go on. (An unknown event type is no poison: projections skip types they do not know.)
 * The event stays in the local store, under a cart id of its own: a rebuild of the cart read
 * model dead-letters it again, as it should.
 */
export async function appendPoisonEvent(): Promise<FaultResult & { eventId: string; streamId: string }> {
  const db = new pg.Client({ connectionString: urls.postgres('cart') });
  await db.connect();
  try {
    const eventId = randomUUID();
    const streamId = randomUUID();
    await db.query(
      `INSERT INTO events (id, stream_type, stream_id, version, type, data, metadata)
       VALUES ($1, 'cart', $2, 1, 'shop.cart.v1.ItemAdded', $3, '{}')`,
      [eventId, streamId, { productId: randomUUID(), productName: 'poison', quantity: 'lots', unitPrice: { amountCents: '100', currency: 'USD' } }],
    );
    return { injected: `poison event ${eventId} (ItemAdded, quantity "lots") appended to cart ${streamId}`, eventId, streamId };
  } finally {
    await db.end();
  }
}
