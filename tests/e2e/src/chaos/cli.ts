/**
 * `npm run chaos`: every case of the chaos suite at full scale (cases.ts), one after the
 * other on the running local stack, then the table of what was measured. Results go to
 * .stack/chaos/<time>.json and .stack/chaos/latest.md (git-ignored).
 *
 *   npm run chaos                      # every case (about 10 minutes on 2 cores)
 *   npm run chaos -- kafka postgres    # only the cases whose name contains one of these
 *   CHAOS_SCALE=small npm run chaos    # the size `npm test` runs
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { stackDir } from '@shop/tools/topology';
import { appSpecs } from '@shop/tools/apps';
import { startAll } from '@shop/tools/supervisor';
import { chaosCases, fullScale, runCase, smallScale, type ChaosReport } from './cases.js';

const filters = process.argv.slice(2);
const scale = process.env.CHAOS_SCALE === 'small' ? smallScale : fullScale;
const selected = chaosCases.filter((c) => filters.length === 0 || filters.some((f) => c.name.includes(f)));
if (selected.length === 0) {
  console.error(`[chaos] no case matches ${filters.join(', ')} (cases: ${chaosCases.map((c) => c.name).join('; ')})`);
  process.exit(2);
}
console.log(`[chaos] ${selected.length} cases at ${scale.rate} cart commands/s over ${scale.carts} carts and ${scale.checkoutsPerSecond} checkouts/s`);

const reports: ChaosReport[] = [];
for (const c of selected) {
  // Every process up, whatever the case before left (a watchdog restart can still be backing off).
  await startAll(await appSpecs());
  const report = await runCase(c, scale, (line) => console.log(`[chaos] ${line}`));
  reports.push(report);
  console.log(`[chaos] ${c.name}: ${report.violations.length === 0 ? 'ok' : `VIOLATED: ${report.violations.join('; ')}`}`);
}

const table = markdownTable(reports);
console.log(`\n${table}`);
const dir = path.join(stackDir, 'chaos');
mkdirSync(dir, { recursive: true });
const file = path.join(dir, `${new Date().toISOString().replaceAll(':', '-')}.json`);
writeFileSync(file, `${JSON.stringify({ scale, reports }, null, 2)}\n`);
writeFileSync(path.join(dir, 'latest.md'), `${table}\n`);
console.log(`[chaos] results: ${file}`);
process.exit(reports.some((r) => r.violations.length > 0) ? 1 : 0);

function markdownTable(rows: ChaosReport[]): string {
  const codes = (m: Record<string, number>) => Object.entries(m).map(([k, v]) => `${v} ${k}`).join(', ') || '0';
  const header = ['case', 'fault (s)', 'commands sent', 'acked', 'failed cleanly', 'checkouts (failed)', 'orders', 'events', 'lost', 'missing on Kafka', 'extra copies on Kafka', 'applied twice / read model ≠ fold', 'recovery (s)', '> 5 s to visible', 'violations'];
  const lines = rows.map((r) => [
    r.case,
    r.faultSeconds.toFixed(1),
    r.commandsSent,
    r.commandsAcked,
    codes(r.commandFailures),
    `${r.checkoutsSent} (${codes(r.checkoutFailures)})`,
    Object.entries(r.sagas.byStatus).map(([k, v]) => `${v} ${k}`).join(', '),
    r.carts.events,
    r.carts.lostAcks,
    r.carts.missingOnKafka,
    r.carts.duplicateCopiesOnKafka,
    r.carts.readModelMismatches.length,
    r.recoverySeconds?.toFixed(1) ?? 'never',
    r.slowerThan5s,
    r.violations.length === 0 ? 'none' : r.violations.join('; '),
  ]);
  return [header, header.map(() => '---'), ...lines].map((cells) => `| ${cells.join(' | ')} |`).join('\n');
}
