/**
 * Command ack → visible in the read model, at a steady rate (open loop).
 *
 *   baseline  grpc.health.v1.Health/Check on the cart-query port at the same rate, open
 *             loop → round-trip p50/p99 (what one gRPC hop costs on this machine now)
 *   measured  ChangeQuantity (a new quantity each time) on the running cart-command at
 *             BENCH_RATE/s (300) for BENCH_SECONDS (20) over BENCH_CARTS (200) carts, sent on
 *             a fixed schedule regardless of responses (round robin over the carts, passing
 *             over a cart whose previous command is still in flight, as a shopper's client
 *             would wait). t_ack = response received; t_visible = the projector's NATS
 *             notice `shop.cart.updated.<cartId>` with version ≥ the version the command
 *             returned → p50/p95/p99/max of t_visible − t_ack, and commands not seen within 5 s.
 *   reference the same at BENCH_LOW_RATE/s (100) for BENCH_LOW_SECONDS (8) first: the
 *             pipeline's latency below saturation, to read the target rate's figures against.
 *   high      the same at BENCH_HIGH_RATE/s (1,000) for BENCH_HIGH_SECONDS (10) last (0 = skip).
 *
 * Targets (issue 13): p99 ≤ 25 ms at 300/s, ≤ 50 ms at 1,000/s. Printed, never fails the run.
 *
 * A notice can arrive before the ack (the projector beat the response back to the
 * client): such a command counts as visible at its ack (0 ms), and is counted apart.
 *
 * Run: node --import tsx bench/ack-to-visible.ts
 */
import { banner, machineInfoSampled, writeResult, type SummaryRow } from './lib/results.js';
import { delayBuckets } from '@shop/platform/metrics';
import { grpcAddress, healthClient, histogramQuantileMs, openLoop, scrapeHistogram, waitForReady } from './lib/stack.js';
import { distribution, fmtMs, fmtNum, fmtRatio, nowMs, ratio, round, roundDist } from './lib/stats.js';
import { openVisibilityProbe, phaseDetails, printPhase, VISIBLE_TIMEOUT_MS } from './lib/visibility.js';
import { knob, MAX_RATE, MAX_SECONDS } from './lib/knobs.js';

const RATE = knob('BENCH_RATE', 300, { min: 1, max: MAX_RATE });
const SECONDS = knob('BENCH_SECONDS', 20, { min: 1, max: MAX_SECONDS });
const BASELINE_SECONDS = knob('BENCH_BASELINE_SECONDS', 10, { max: MAX_SECONDS });
/** A short phase at a lower rate first, as a reference below saturation (0 = skip). */
const LOW_RATE = knob('BENCH_LOW_RATE', 100, { max: MAX_RATE });
const LOW_SECONDS = knob('BENCH_LOW_SECONDS', 8, { max: MAX_SECONDS });
/** A phase at a higher rate last (0 = skip). */
const HIGH_RATE = knob('BENCH_HIGH_RATE', 1000, { max: MAX_RATE });
const HIGH_SECONDS = knob('BENCH_HIGH_SECONDS', 10, { max: MAX_SECONDS });
const CART_COUNT = knob('BENCH_CARTS', 200, { min: 1, integer: true });
const TARGET_P99_MS = 25;
const HIGH_TARGET_P99_MS = 50;

/**
 * Where a command's way to the read model goes, from the processes' own histograms: the
 * relay's publish delay (append → the broker's acknowledgement, cart-command) and the
 * projector's delays since the relay's send (received, applied), over the measured phase.
 */
const scrapeStages = async () => ({
  published: await scrapeHistogram('cart-command', 'relay_publish_delay_seconds', ['relay="cart"'], delayBuckets),
  received: await scrapeHistogram('cart-projector', 'processor_event_delay_seconds', ['stage="received"'], delayBuckets),
  applied: await scrapeHistogram('cart-projector', 'processor_event_delay_seconds', ['stage="applied"'], delayBuckets),
});
function stageQuantiles(before: Awaited<ReturnType<typeof scrapeStages>>, after: Awaited<ReturnType<typeof scrapeStages>>) {
  const labels = { published: 'append → published', received: 'sent → projector received', applied: 'sent → projector committed' } as const;
  return (['published', 'received', 'applied'] as const).map((k) => {
    const p50 = histogramQuantileMs(before[k], after[k], 0.5);
    return { stage: labels[k], p50: p50.ms, p99: histogramQuantileMs(before[k], after[k], 0.99).ms, count: p50.count };
  });
}

const started = nowMs();
const machine = await machineInfoSampled();
banner(`ack-to-visible: command ack → read model notice at ${RATE}/s for ${SECONDS}s over ${CART_COUNT} carts (nproc ${machine.nproc})`);
console.log(`machine   ${machine.busyCoresBeforeStart ?? '?'} of ${machine.nproc} cores already busy before start (load avg ${machine.loadAverage.join(' ')})`);

await waitForReady(['product', 'cart-command', 'cart-projector', 'cart-query']);
const probe = await openVisibilityProbe({ cartCount: CART_COUNT, name: 'bench-ack-to-visible' });
const health = healthClient(grpcAddress('cart-query'));

try {
  // --- setup: every cart gets its line, and its first notice, before anything is timed ---
  const setupSeconds = await probe.setUp();
  console.log(`setup     ${CART_COUNT} carts with one line, all visible, in ${fmtNum(setupSeconds, 1)}s`);

  // --- baseline: a unary gRPC round trip at the same rate ----------------------------------
  const baselineRtts: number[] = [];
  let baselineErrors = 0;
  const baselineCalls: Promise<void>[] = [];
  const baselineSchedule = await openLoop(RATE, BASELINE_SECONDS * 1000, () => {
    const t0 = nowMs();
    const call = health.check().then(
      () => void baselineRtts.push(nowMs() - t0),
      () => void baselineErrors++,
    );
    baselineCalls.push(call);
    return call;
  });
  await Promise.all(baselineCalls);
  const base = distribution(baselineRtts);
  console.log(
    `baseline  Health/Check on cart-query at ${RATE}/s for ${BASELINE_SECONDS}s: p50 ${fmtMs(base.p50)} p99 ${fmtMs(base.p99)} max ${fmtMs(base.max)}` +
      ` (${base.count} calls, ${baselineErrors} errors${baselineSchedule.skippedAtCap ? `, ${baselineSchedule.skippedAtCap} skipped at ${baselineSchedule.maxInFlight} in flight` : ''}, schedule lag p99 ${fmtMs(baselineSchedule.lag.p99)})`,
  );

  // --- measured: commands on a fixed schedule ------------------------------------------
  // First a short phase at a lower rate (a reference below saturation), then the target rate.
  const low = LOW_RATE > 0 ? await probe.phase(LOW_RATE, LOW_SECONDS) : undefined;
  if (low) printPhase('reference', low);
  const stagesBefore = await scrapeStages();
  const main = await probe.phase(RATE, SECONDS);
  const stages = stageQuantiles(stagesBefore, await scrapeStages());
  printPhase('measured', main);
  console.log(`          stages (from the processes' histograms, estimated within buckets): ${stages.map((st) => `${st.stage} p50 ${fmtMs(st.p50)} p99 ${fmtMs(st.p99)}`).join('; ')}`);
  const high = HIGH_RATE > 0 ? await probe.phase(HIGH_RATE, HIGH_SECONDS) : undefined;
  if (high) printPhase('high', high);
  const { lag } = main;
  const p99Ratio = ratio(lag.p99, base.p99);
  const met = lag.p99 <= TARGET_P99_MS && main.neverSeen === 0;
  const highMet = high ? high.lag.p99 <= HIGH_TARGET_P99_MS && high.neverSeen === 0 : undefined;
  console.log(`ratio     ack→visible p99 / Health/Check p99 = ${fmtRatio(p99Ratio)}; p50 ratio ${fmtRatio(ratio(lag.p50, base.p50))}`);
  console.log(`target    ack→visible p99 ≤ ${TARGET_P99_MS} ms at ${RATE}/s: ${fmtMs(lag.p99)} → ${met ? 'MET' : 'NOT MET'}${main.neverSeen ? ` (${main.neverSeen} never seen)` : ''}`);
  if (high) console.log(`target    ack→visible p99 ≤ ${HIGH_TARGET_P99_MS} ms at ${HIGH_RATE}/s: ${fmtMs(high.lag.p99)} → ${highMet ? 'MET' : 'NOT MET'}${high.neverSeen ? ` (${high.neverSeen} never seen)` : ''}`);

  const notes: string[] = [];
  if (main.errors > 0) notes.push(`${main.errors} of ${main.sent} commands failed at ${RATE}/s (first: ${main.firstError})`);
  if (main.sendToAck.p99 > 500) notes.push(`Commands queued at ${RATE}/s (send → ack p99 ${main.sendToAck.p99.toFixed(0)} ms): the command side was saturated (compare append-rate's closed-loop commands/s).`);
  if (main.noops > 0) notes.push(`${main.noops} commands decided nothing (the quantity was already set); left out of the latencies.`);
  if (main.skippedAtCap > 0) notes.push(`${main.skippedAtCap} commands not sent: due while ${main.maxInFlight} were in flight (the command side was saturated).`);
  if (main.sentToBusyCart > 0) notes.push(`${main.sentToBusyCart} commands went to a cart whose previous command was still in flight (all ${CART_COUNT} carts busy).`);
  if (main.schedule.lag.p99 > 20) notes.push(`The client fell behind its schedule at ${RATE}/s (lag p99 ${main.schedule.lag.p99.toFixed(1)} ms): the machine was saturated, the offered rate was not steady.`);
  notes.push('t_visible is when this process received the NATS notice: it includes relay polling, Kafka produce/fetch, the projector transaction and the NATS hop.');

  const baselineRow = { metric: 'gRPC Health/Check p99 (baseline)', value: round(base.p99, 2), unit: 'ms' };
  const summary: SummaryRow[] = [
    { metric: 'gRPC Health/Check p50 (baseline)', value: round(base.p50, 2), unit: 'ms' },
    { metric: 'gRPC Health/Check p99 (baseline)', value: round(base.p99, 2), unit: 'ms' },
    { metric: `ack → visible p50 at ${RATE}/s`, value: round(lag.p50, 2), unit: 'ms', baseline: { ...baselineRow, metric: 'Health/Check p50', value: round(base.p50, 2) }, ratio: ratio(lag.p50, base.p50) },
    { metric: `ack → visible p99 at ${RATE}/s`, value: round(lag.p99, 2), unit: 'ms', baseline: baselineRow, ratio: p99Ratio, target: `≤ ${TARGET_P99_MS} ms`, met },
    { metric: `never visible within ${VISIBLE_TIMEOUT_MS / 1000}s / failed, at ${RATE}/s`, value: main.neverSeen + main.errors, unit: 'commands' },
    ...(low ? [{ metric: `ack → visible p99 at ${LOW_RATE}/s (reference)`, value: round(low.lag.p99, 2), unit: 'ms', baseline: baselineRow, ratio: ratio(low.lag.p99, base.p99) }] : []),
    ...(high
      ? [
          { metric: `ack → visible p99 at ${HIGH_RATE}/s`, value: round(high.lag.p99, 2), unit: 'ms', baseline: baselineRow, ratio: ratio(high.lag.p99, base.p99), target: `≤ ${HIGH_TARGET_P99_MS} ms`, met: highMet },
          { metric: `commands sent at ${HIGH_RATE}/s (achieved rate)`, value: round(high.sent / HIGH_SECONDS, 1), unit: 'commands/s' },
        ]
      : []),
  ];
  const file = writeResult({
    name: 'ack-to-visible',
    title: 'Command ack → visible in the read model',
    machine,
    startedMs: started,
    summary,
    details: {
      rate: RATE,
      seconds: SECONDS,
      carts: CART_COUNT,
      baseline: { rate: RATE, seconds: BASELINE_SECONDS, errors: baselineErrors, skippedAtCap: baselineSchedule.skippedAtCap, rttMs: roundDist(base), scheduleLagMs: roundDist(baselineSchedule.lag) },
      commands: phaseDetails(main),
      ...(low ? { lowRateReference: phaseDetails(low) } : {}),
      ...(high ? { highRate: phaseDetails(high) } : {}),
      noticesReceived: probe.notices(),
      stagesAtRate: stages,
    },
    notes,
  });
  console.log(`results   ${file}`);
} finally {
  health.close();
  await probe.close();
}
