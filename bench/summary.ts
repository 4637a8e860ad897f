/**
 * Prints one table from the benchmarks' result files (bench/results/<name>.json).
 *
 *   node --import tsx bench/summary.ts [--since <ISO time>] [name …]
 *
 * Results written before `--since` (an earlier run) are marked stale. The same table goes to
 * `bench/results/summary.md` (Markdown), with the charts the benchmarks drew beside it.
 */
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { resultsDir, type BenchResult } from './lib/results.js';
import { fmtNum, fmtRatio } from './lib/stats.js';

const args = process.argv.slice(2);
const sinceAt = args.indexOf('--since');
const since = sinceAt >= 0 ? Date.parse(args[sinceAt + 1] ?? '') : Number.NaN;
const names = args.filter((a, i) => a !== '--since' && !(sinceAt >= 0 && i === sinceAt + 1));
// Without names: every result file there is (npm run bench passes the ones it ran).
const wanted = names.length > 0 ? names : existsSync(resultsDir) ? readdirSync(resultsDir).filter((f) => f.endsWith('.json')).map((f) => f.slice(0, -'.json'.length)).sort() : [];

const rows: string[][] = [['benchmark', 'metric', 'value', 'baseline (same run)', 'ratio', 'target', '']];
/** Per benchmark: when and how it ran, then its notes. */
const footnotes: Array<{ head: string; notes: string[] }> = [];
let machineLine: string | undefined;
for (const name of wanted) {
  const file = path.join(resultsDir, `${name}.json`);
  if (!existsSync(file)) {
    rows.push([name, '(no result file)', '', '', '', '', '']);
    continue;
  }
  const r = JSON.parse(readFileSync(file, 'utf8')) as BenchResult;
  const stale = Number.isFinite(since) && Date.parse(r.machine.timestamp) < since;
  machineLine ??= `nproc ${r.machine.nproc} · ${r.machine.cpuModel} · node ${r.machine.node} · commit ${r.machine.gitCommit.slice(0, 10)}${r.machine.gitDirty ? ' (dirty tree)' : ''}`;
  const label = `${name}${stale ? ' (STALE: earlier run)' : ''}`;
  for (const [i, s] of r.summary.entries()) {
    rows.push([
      i === 0 ? label : '',
      s.metric,
      `${fmtNum(s.value, s.unit === 'ms' ? 1 : 0)} ${s.unit}`,
      s.baseline ? `${fmtNum(s.baseline.value, s.baseline.unit === 'ms' ? 1 : 0)} ${s.baseline.unit}` : '',
      s.ratio === undefined ? '' : fmtRatio(s.ratio),
      s.target ?? '',
      s.met === undefined ? '' : s.met ? 'met' : 'NOT met',
    ]);
  }
  // The idle stack alone keeps about 0.7–0.9 of 2 cores busy; well above half the cores, something else competed.
  const contended = (r.machine.busyCoresBeforeStart ?? 0) > 0.5 * r.machine.nproc;
  footnotes.push({
    head:
      `${name}: ${r.machine.timestamp}, ${r.durationSeconds}s, ${r.machine.busyCoresBeforeStart ?? '?'} of ${r.machine.nproc} cores busy before start` +
      (contended ? ' (CONTENDED: other work was running; figures are depressed and noisy)' : ''),
    notes: r.notes,
  });
}

const widths = rows[0]!.map((_, c) => Math.max(...rows.map((row) => row[c]!.length)));
const line = (row: string[]) => row.map((cell, c) => cell.padEnd(widths[c]!)).join('  ').trimEnd();
console.log('\nBenchmark summary' + (machineLine ? ` (${machineLine})` : ''));
console.log(line(rows[0]!));
console.log(widths.map((w) => '-'.repeat(w)).join('  '));
for (const row of rows.slice(1)) console.log(line(row));
console.log('');
for (const f of footnotes) console.log([f.head, ...f.notes.map((n) => `    - ${n}`)].join('\n'));

// The same table in Markdown, for a pull request or an issue: charts are linked by file name
// (they sit beside it in bench/results/).
/**
 * Text that Markdown shows as it is, on one line: a result file's metric, note or error
 * message cannot end a table row, start a heading or a link, emphasise, quote code or slip
 * in HTML (or an entity).
 */
const inline = (text: string) =>
  text
    .replace(/\r\n|\r|\n/g, ' ')
    .replace(/[\\`*_[\]|#~!]/g, '\\$&')
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;');
const charts = existsSync(resultsDir) ? readdirSync(resultsDir).filter((f) => f.endsWith('.png')).sort() : [];
const markdown = [
  '# Benchmark summary',
  '',
  machineLine ? inline(machineLine) : '(no results)',
  '',
  `| ${rows[0]!.map(inline).join(' | ')} |`,
  `|${rows[0]!.map(() => '---').join('|')}|`,
  ...rows.slice(1).map((row) => `| ${row.map(inline).join(' | ')} |`),
  '',
  ...footnotes.flatMap((f) => [`- ${inline(f.head)}`, ...f.notes.map((n) => `  - ${inline(n)}`)]),
  ...(charts.length > 0 ? ['', '## Charts', '', ...charts.map((c) => `![${inline(c)}](${encodeURI(c)})`)] : []),
  '',
].join('\n');
const markdownFile = path.join(resultsDir, 'summary.md');
if (existsSync(resultsDir)) {
  writeFileSync(markdownFile, markdown);
  console.log(`\nMarkdown: ${path.relative(process.cwd(), markdownFile)}`);
}
