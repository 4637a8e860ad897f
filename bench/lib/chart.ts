/**
 * Charts of the benchmarks' latencies over time, written as SVG and PNG beside their result
 * files: vega-lite (the spec) → vega (an SVG, rendered headless) → resvg (the PNG). A chart
 * shows what one summary figure hides: a slow start, a stall, a drift as queues grow.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Resvg } from '@resvg/resvg-js';
import * as vega from 'vega';
import * as vl from 'vega-lite';
import { percentile } from './stats.js';

/** One series of latency samples: when each call was sent (s since start) and how long it took (ms). */
export interface LatencySeries {
  name: string;
  samples: ReadonlyArray<{ atSeconds: number; ms: number }>;
}

/** A horizontal line across the chart, e.g. the same run's baseline. */
export interface ReferenceLine {
  label: string;
  ms: number;
}

export interface LatencyChartOptions {
  title: string;
  /** One string per line: a long line would widen the image, not wrap. */
  subtitle?: string[];
  /** The x axis runs from 0 to this (default: to the last window). */
  durationSeconds?: number;
  /** Width of the windows the percentiles are taken over, s (default 1). */
  windowSeconds?: number;
  /** Percentiles drawn per series and window (default 50 and 99). */
  percentiles?: number[];
  references?: ReferenceLine[];
  /** What the series are, for the legend's title (default "series"). */
  seriesTitle?: string;
}

/** A percentile of one series in one window: what the chart draws (and a result file may keep). */
export interface LatencyPoint {
  series: string;
  percentile: string;
  /** The window's middle, s since start. */
  t: number;
  ms: number;
  /** Samples in the window: a p99 of fewer than 100 is nearly the window's maximum. */
  count: number;
}

/** Each series' percentiles per window of `windowSeconds`; windows without samples are left out. */
export function latencyWindows(series: readonly LatencySeries[], windowSeconds = 1, percentiles = [50, 99]): LatencyPoint[] {
  const points: LatencyPoint[] = [];
  for (const s of series) {
    const windows = new Map<number, number[]>();
    for (const { atSeconds, ms } of s.samples) {
      const w = Math.floor(atSeconds / windowSeconds);
      let values = windows.get(w);
      if (!values) windows.set(w, (values = []));
      values.push(ms);
    }
    for (const [w, values] of [...windows].sort((a, b) => a[0] - b[0])) {
      values.sort((a, b) => a - b);
      for (const p of percentiles) {
        points.push({ series: s.name, percentile: `p${p}`, t: (w + 0.5) * windowSeconds, ms: Math.round(percentile(values, p) * 100) / 100, count: values.length });
      }
    }
  }
  return points;
}

/**
 * Writes `file` (a .png) and the SVG beside it: the percentiles of each series per window,
 * colour by series, dash by percentile, on a log-scaled axis of milliseconds (latencies of
 * different operations differ by orders of magnitude). Returns both paths and the points drawn.
 */
export async function writeLatencyChart(
  file: string,
  series: readonly LatencySeries[],
  opts: LatencyChartOptions,
): Promise<{ png: string; svg: string; points: LatencyPoint[] }> {
  const windowSeconds = opts.windowSeconds ?? 1;
  const points = latencyWindows(series, windowSeconds, opts.percentiles);
  const references = opts.references ?? [];
  const y = { field: 'ms', type: 'quantitative' as const, scale: { type: 'log' as const }, title: 'latency (ms, log scale)' };
  const spec: vl.TopLevelSpec = {
    title: { text: opts.title, ...(opts.subtitle ? { subtitle: opts.subtitle } : {}), anchor: 'start' },
    width: 900,
    height: 460,
    background: 'white',
    config: { font: 'DejaVu Sans', axis: { labelFontSize: 11, titleFontSize: 12 }, legend: { orient: 'right', labelFontSize: 12, titleFontSize: 12, symbolSize: 300 } },
    layer: [
      {
        data: { values: points },
        mark: { type: 'line', strokeWidth: 1.8 },
        encoding: {
          x: {
            field: 't',
            type: 'quantitative',
            title: `seconds since start (percentiles per ${windowSeconds} s window)`,
            scale: { zero: true, ...(opts.durationSeconds ? { domainMax: opts.durationSeconds } : {}) },
          },
          y,
          color: { field: 'series', type: 'nominal', title: opts.seriesTitle ?? 'series', sort: series.map((s) => s.name), legend: { symbolStrokeWidth: 3 } },
          strokeDash: { field: 'percentile', type: 'nominal', title: 'percentile', legend: { symbolStrokeWidth: 2 } },
        },
      },
      ...(references.length
        ? [
            {
              data: { values: references },
              mark: { type: 'rule' as const, color: '#555', strokeDash: [2, 3], strokeWidth: 1.2 },
              encoding: { y },
            },
            {
              data: { values: references },
              mark: { type: 'text' as const, align: 'left' as const, baseline: 'bottom' as const, dx: 4, dy: -2, color: '#333', fontSize: 11 },
              encoding: { y, x: { value: 0 }, text: { field: 'label', type: 'nominal' as const } },
            },
          ]
        : []),
    ],
  };
  const view = new vega.View(vega.parse(vl.compile(spec).spec), { renderer: 'none' });
  const svg = await view.toSVG();
  view.finalize();
  const png = new Resvg(svg, { background: 'white', fitTo: { mode: 'width', value: 1400 }, font: { loadSystemFonts: true, defaultFontFamily: 'DejaVu Sans' } }).render().asPng();
  mkdirSync(path.dirname(file), { recursive: true });
  const svgFile = file.replace(/\.png$/, '') + '.svg';
  writeFileSync(file, png);
  writeFileSync(svgFile, svg);
  return { png: file, svg: svgFile, points };
}
