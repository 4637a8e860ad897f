import test from 'ava';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { appSpecs } from '@shop/tools/apps';
import { running, start, startAll } from '@shop/tools/supervisor';
import { urls } from '@shop/tools/topology';
import { waitFor } from '@shop/testing';
import { checkOut, fillCart, newProduct, settledAll, signUp, stockOf } from './shop.js';

/**
 * kill -9 of a process in the middle of checkouts, then a restart: every checkout still
 * ends CONFIRMED (the process resumes its sagas from their streams, its pending commands
 * and its Kafka offsets), stock is committed exactly once per order, and no order is
 * charged twice. These tests stop stack processes, so they run alone, after the main
 * suite (ava.solo.config.mjs; tools/bin/test runs them).
 */
test.serial.beforeEach(async () => {
  // Every process up, whatever an earlier test left.
  await startAll(await appSpecs());
});

/** How far the buyer's orders are: placed, and which of them are not over yet (by status). */
type Progress = { placed: number; open: Record<string, number> };

async function killDuringCheckouts(t: import('ava').ExecutionContext, victim: string, killWhen: (p: Progress) => boolean) {
  const buyer = await signUp();
  const product = await newProduct(`Crash ${victim} ${Date.now()}`, 700, 200);
  const carts = await Promise.all(Array.from({ length: 40 }, () => fillCart(buyer.token, [[product, 1]])));
  const orderDb = new pg.Client({ connectionString: urls.postgres('order') });
  await orderDb.connect();
  t.teardown(() => orderDb.end());
  const placedOf = async (ids: string[]) => Number((await orderDb.query('SELECT count(*) AS n FROM orders WHERE id = ANY($1::uuid[])', [ids])).rows[0].n);

  // Checkouts go on (cart-command is not the victim) while the victim dies and comes back.
  const checkouts = Promise.all(carts.map(async (c, i) => {
    await sleep(i * 25);
    const res = await checkOut(buyer.token, c);
    if (res.errors) throw new Error(JSON.stringify(res.errors));
    return res.data.checkOut.orderId as string;
  }));
  const spec = (await appSpecs()).find((s) => s.name === victim)!;
  const victimPid = running(victim)!.pid;
  const progress = async (): Promise<Progress> => {
    const { rows } = await orderDb.query<{ status: string; n: string }>('SELECT status, count(*) AS n FROM orders WHERE customer_id = $1 GROUP BY status', [buyer.id]);
    const open = Object.fromEntries(rows.filter((r) => !['CONFIRMED', 'FAILED', 'CANCELLED'].includes(r.status)).map((r) => [r.status, Number(r.n)]));
    return { placed: rows.reduce((n, r) => n + Number(r.n), 0), open };
  };
  // Kill once the victim has sagas in flight (what that means depends on the victim).
  const until = Date.now() + 30_000;
  let atKill: Progress;
  for (;;) {
    const p = await progress();
    if (killWhen(p) || Date.now() > until) {
      process.kill(victimPid, 'SIGKILL');
      atKill = p;
      break;
    }
    await sleep(10);
  }
  t.log(`killed ${victim} (pid ${victimPid}) with ${atKill.placed} of 40 orders placed, in flight: ${JSON.stringify(atKill.open)}`);
  t.true(killWhen(atKill), 'the kill landed in the middle of the work');
  await sleep(1_500);
  await start(spec);
  const orderIds = await checkouts;
  // The order service places what it missed as it catches up on the carts' checkouts.
  await waitFor('every checkout placed its order', async () => (await placedOf(orderIds)) === 40, { timeoutMs: 120_000 });
  const outcomes = await settledAll(buyer.token, orderIds);
  const statuses = outcomes.map((o) => o.status);
  t.deepEqual(statuses.filter((s) => s !== 'CONFIRMED'), [], 'every saga ended CONFIRMED: none stuck, none failed');
  // Stock committed exactly once per order, nothing left reserved.
  t.deepEqual(await stockOf(product), { quantity: 160, available: 160 });
  // Charged once per order.
  const payments = new pg.Client({ connectionString: urls.postgres('payment') });
  await payments.connect();
  try {
    const { rows } = await payments.query<{ order_id: string; n: string }>('SELECT order_id, count(*) AS n FROM payments WHERE order_id = ANY($1::uuid[]) GROUP BY order_id', [orderIds]);
    t.is(rows.length, 40);
    t.true(rows.every((r) => Number(r.n) === 1));
  } finally {
    await payments.end();
  }
}

const inFlight = (p: Progress) => Object.values(p.open).reduce((a, b) => a + b, 0);

test.serial('kill -9 of the order service in the middle of 40 checkouts: after a restart every saga ends CONFIRMED, stock and payments once', async (t) => {
  // Some orders placed and not over, more checkouts still to come.
  await killDuringCheckouts(t, 'order', (p) => p.placed >= 8 && p.placed < 40 && inFlight(p) > 0);
});

test.serial('kill -9 of the payment service in the middle of 40 checkouts: after a restart every saga ends CONFIRMED, charged once', async (t) => {
  // Orders waiting for their payment (stock reserved), more to come.
  await killDuringCheckouts(t, 'payment', (p) => p.placed < 40 && (p.open.STOCK_RESERVED ?? 0) >= 3);
});
