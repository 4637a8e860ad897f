import test from 'ava';
import { appSpecs } from '@shop/tools/apps';
import { startAll } from '@shop/tools/supervisor';
import { chaosCases, runCase, smallScale } from './chaos/cases.js';

/**
 * The chaos suite at small scale (`npm run chaos` runs it at full scale and prints the
 * table): load, a fault, recovery, then the invariants read from the stores. Each case
 * fails on a broken invariant, never on how long recovery took (that is logged; only what
 * is still missing after 2 minutes counts, as lost or stuck). These
 * tests kill and stop the stack's processes and servers, so they run alone, after the
 * main suite (ava.solo.config.mjs).
 */
test.serial.beforeEach(async () => {
  await startAll(await appSpecs());
});

for (const c of chaosCases) {
  test.serial(`chaos: ${c.name} under load — nothing acknowledged lost, nothing applied twice, no saga stuck, stock exact`, async (t) => {
    const r = await runCase(c, smallScale, (line) => t.log(line));
    t.log(
      `${r.commandsSent} commands (${r.commandsAcked} acked, failed: ${JSON.stringify(r.commandFailures)}), ${r.checkoutsSent} checkouts (failed: ${JSON.stringify(r.checkoutFailures)}), ` +
        `orders ${JSON.stringify(r.sagas.byStatus)}, ${r.carts.events} events, ${r.carts.duplicateCopiesOnKafka} extra copies on Kafka, recovery ${r.recoverySeconds ?? 'never'} s`,
    );
    t.deepEqual(r.violations, []);
    // The load ran: a case that sent nothing would prove nothing.
    t.true(r.commandsAcked > 0 && r.carts.events >= r.commandsAcked);
  });
}
