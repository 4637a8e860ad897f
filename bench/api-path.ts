/**
 * The public API path against the call it wraps, measured in this run on this machine:
 *
 *   baseline  gRPC ListProducts straight to the product service (its own port, no Envoy):
 *             CLIENTS concurrent callers, the page the BFF asks for (100 products) → calls/s
 *   (a)       GraphQL `products` through the Envoy edge (edge → BFF → its product cache, or
 *             Envoy → product on a miss) → requests/s
 *   (b)       the same query straight to the BFF, no edge → requests/s
 *   (c)       (a) with the BFF restarted without its product cache (SHOP_STACK_ENV sets its
 *             PRODUCT_CACHE_TTL_MS to 0: every request a ListProducts through Envoy), then
 *             restarted as it was → requests/s
 *
 * Each caller of (a) and (b) connects from its own loopback address (graphqlCaller): the
 * edge limits requests per client address, and one benchmark client would measure that
 * limit, not the path. Answers other than 200 with data (a 429 included) count as errors. The load generator's own CPU is reported: a figure it limits (near one core) is
 * the generator's, not the path's.
 *
 * Targets (issue 13): (a) ≥ 1.0× the baseline with the BFF's product cache (the default),
 * p99 ≤ 2× the baseline's; (c) ≥ 0.5× the baseline. Printed, never enforced.
 *
 * Knobs (env): BENCH_SECONDS (10), BENCH_CLIENTS (32).
 * Run: npm run bench -- api-path (the stack up).
 */
import { ProductServiceClient } from '@shop/contracts/shop/product/v1/service';
import { insecure, promiseClient } from '@shop/platform/grpc/client';
import { bffPort, urls } from '@shop/tools/topology';
import { banner, busyCores, cpuSnapshot, machineInfoSampled, writeResult } from './lib/results.js';
import { ensureBenchProduct, graphqlCaller, grpcAddress, restartStack, runLoops, waitForReady, type LoopResult } from './lib/stack.js';
import { distribution, fmtMs, fmtNum, fmtRatio, nowMs, ratio, roundDist } from './lib/stats.js';
import { knob, MAX_SECONDS } from './lib/knobs.js';

const SECONDS = knob('BENCH_SECONDS', 10, { min: 1, max: MAX_SECONDS });
const CLIENTS = knob('BENCH_CLIENTS', 32, { min: 1, integer: true });
const PAGE = 100;
const query = `{ products(first: ${PAGE}) { id name } }`;

/** A loop's figures and what the generator spent meanwhile. */
async function measured(run: () => Promise<LoopResult>) {
  const cpu = process.cpuUsage();
  const machine = cpuSnapshot();
  const result = await run();
  const used = process.cpuUsage(cpu);
  return { result, generatorCores: (used.user + used.system) / 1e6 / result.seconds, machineCores: busyCores(machine, cpuSnapshot()) ?? Number.NaN };
}

const graphqlLoop = (url: string) => {
  const callers = Array.from({ length: CLIENTS }, (_, w) => graphqlCaller(url, w, query));
  return () => runLoops({ concurrency: CLIENTS, durationMs: SECONDS * 1000, op: (w) => callers[w]!() });
};

const started = nowMs();
const machine = await machineInfoSampled();
banner(`api-path: GraphQL products through the edge vs gRPC ListProducts (${CLIENTS} clients, ${SECONDS}s each, nproc ${machine.nproc})`);
await ensureBenchProduct();

const raw = new ProductServiceClient(grpcAddress('product'), insecure());
const products = promiseClient(raw, 10_000);
const request = { page: { pageSize: PAGE, pageToken: '' }, category: '', search: '', activeOnly: false };
const grpcRun = await measured(() => runLoops({ concurrency: CLIENTS, durationMs: SECONDS * 1000, op: async () => void (await products.listProducts(request)) }));
raw.close();
const edgeRun = await measured(graphqlLoop(urls.graphql));
const bffRun = await measured(graphqlLoop(`http://127.0.0.1:${bffPort}/graphql`));
// The BFF is put back as it was whatever happens, or the developer's stack would go on uncached.
await restartStack(['bff'], { SHOP_STACK_ENV: JSON.stringify({ bff: { PRODUCT_CACHE_TTL_MS: '0' } }) });
let noCacheRun: Awaited<ReturnType<typeof measured>>;
try {
  await waitForReady(['bff']);
  noCacheRun = await measured(graphqlLoop(urls.graphql));
} finally {
  await restartStack(['bff'], { SHOP_STACK_ENV: '' });
}

const line = (label: string, m: Awaited<ReturnType<typeof measured>>, unit: string) => {
  const d = distribution(m.result.latencies);
  const vs = m === grpcRun ? '' : ` = ${fmtRatio(ratio(m.result.rate, grpcRun.result.rate))} of the baseline`;
  console.log(
    `${label.padEnd(44)} ${fmtNum(m.result.rate).padStart(6)} ${unit}${vs} (p50 ${fmtMs(d.p50)} p99 ${fmtMs(d.p99)}; ${m.result.errors} errors${m.result.firstError ? `, first: ${m.result.firstError}` : ''}; generator ${fmtNum(m.generatorCores, 2)} cores, machine ${fmtNum(m.machineCores, 2)})`,
  );
  return d;
};
const grpcDist = line('baseline  gRPC ListProducts (product, direct)', grpcRun, 'calls/s');
const edgeDist = line('(a)       GraphQL products through the edge', edgeRun, 'req/s');
const bffDist = line('(b)       GraphQL products straight to the BFF', bffRun, 'req/s');
const noCacheDist = line('(c)       (a) without the BFF\'s product cache', noCacheRun, 'req/s');
const noCacheRatio = ratio(noCacheRun.result.rate, grpcRun.result.rate);
const edgeRatio = ratio(edgeRun.result.rate, grpcRun.result.rate);
const p99Ratio = ratio(edgeDist.p99, grpcDist.p99);
console.log(`target    (a) ≥ 1.0× the baseline: ${fmtRatio(edgeRatio)} → ${edgeRatio >= 1 ? 'MET' : 'NOT MET'}; p99 ≤ 2× the baseline's: ${fmtRatio(p99Ratio)} → ${p99Ratio <= 2 ? 'MET' : 'NOT MET'}; (c) ≥ 0.5× the baseline: ${fmtRatio(noCacheRatio)} → ${noCacheRatio >= 0.5 ? 'MET' : 'NOT MET'}`);

const baseline = { metric: 'gRPC ListProducts, direct', value: Math.round(grpcRun.result.rate), unit: 'calls/s' };
const file = writeResult({
  name: 'api-path',
  title: 'GraphQL products through the edge vs gRPC ListProducts',
  machine,
  startedMs: started,
  summary: [
    { metric: 'gRPC ListProducts, direct (baseline)', value: baseline.value, unit: 'calls/s' },
    { metric: 'GraphQL products through the edge', value: Math.round(edgeRun.result.rate), unit: 'req/s', baseline, ratio: edgeRatio, target: '≥ 1.0×', met: edgeRatio >= 1 },
    { metric: 'GraphQL products through the edge, p99', value: Math.round(edgeDist.p99 * 10) / 10, unit: 'ms', baseline: { metric: 'gRPC ListProducts p99', value: Math.round(grpcDist.p99 * 10) / 10, unit: 'ms' }, ratio: p99Ratio, target: '≤ 2×', met: p99Ratio <= 2 },
    { metric: 'GraphQL products straight to the BFF', value: Math.round(bffRun.result.rate), unit: 'req/s', baseline, ratio: ratio(bffRun.result.rate, grpcRun.result.rate) },
    { metric: 'GraphQL products through the edge, BFF without its cache', value: Math.round(noCacheRun.result.rate), unit: 'req/s', baseline, ratio: noCacheRatio, target: '≥ 0.5×', met: noCacheRatio >= 0.5 },
  ],
  details: {
    clients: CLIENTS,
    seconds: SECONDS,
    page: PAGE,
    grpc: { rate: grpcRun.result.rate, errors: grpcRun.result.errors, latencyMs: roundDist(grpcDist), generatorCores: grpcRun.generatorCores },
    edge: { rate: edgeRun.result.rate, errors: edgeRun.result.errors, firstError: edgeRun.result.firstError, latencyMs: roundDist(edgeDist), generatorCores: edgeRun.generatorCores },
    bff: { rate: bffRun.result.rate, errors: bffRun.result.errors, firstError: bffRun.result.firstError, latencyMs: roundDist(bffDist), generatorCores: bffRun.generatorCores },
    edgeWithoutCache: { rate: noCacheRun.result.rate, errors: noCacheRun.result.errors, firstError: noCacheRun.result.firstError, latencyMs: roundDist(noCacheDist), generatorCores: noCacheRun.generatorCores },
  },
  notes: ['Each GraphQL caller connects from its own loopback address, so the edge limits each on its own bucket; a 429 counts as an error.'],
});
console.log(`results   ${file}`);
