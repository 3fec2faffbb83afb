// A self-contained HTML report: time-series charts (metric vs threshold, with trigger markers) and
// tables, drawn with ECharts inlined from node_modules so the file opens offline. Generic: the
// backtest and the demo both describe their report as data and call renderHtmlReport.
import { readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { escapeForDisplay } from '../core/display-text.js';

const CSS_COLOR = /^(#[0-9a-f]{3,8}|rgba?\([0-9., ]+\))$/i;

export interface SeriesPoint {
  t: number;
  value: number;
}
/**
 * The y axis a line, threshold or marker is read against: `left` (default) in the chart's `yName` units,
 * `right` in `rightName` units (e.g. a CUSUM/EWMA statistic in standard deviations beside the metric).
 */
export type YAxisSide = 'left' | 'right';
/** One line: e.g. one camera's DriftScore. `t` is epoch ms. */
export interface ChartSeries {
  name: string;
  points: SeriesPoint[];
  axis?: YAxisSide;
}
export interface ThresholdLine {
  value: number;
  label: string;
  axis?: YAxisSide;
}
/**
 * A point in time worth pointing at, e.g. a trigger: a pin at `value` on its axis (the statistic of the
 * detector that fired), or, without a value, a vertical line at `t` (never a pin at an arbitrary height).
 */
export interface ChartMarker {
  t: number;
  value?: number;
  label: string;
  axis?: YAxisSide;
}
/** A moment drawn as a vertical dashed line, e.g. when a simulated fault began. */
export interface ChartEvent {
  t: number;
  label: string;
}
export interface ChartBand {
  from: number;
  to: number;
  label: string;
  /** CSS colour of the shading (default: amber, for labelled incident windows). */
  color?: string;
}
export interface ReportChart {
  title: string;
  series: ChartSeries[];
  thresholds?: ThresholdLine[];
  markers?: ChartMarker[];
  events?: ChartEvent[];
  /** Shaded time ranges (labelled incident windows, the demo's nights). */
  bands?: ChartBand[];
  yName?: string;
  /** Name of the right y axis, when a series, threshold or marker uses it. */
  rightName?: string;
  /** 'time' (default) or 'value' (a trade-off curve) */
  xType?: 'time' | 'value';
  xName?: string;
}
export interface ReportTable {
  title: string;
  columns: string[];
  rows: (string | number)[][];
}
export interface ReportDocument {
  title: string;
  subtitle?: string;
  /** Headline figures shown as tiles above everything else. */
  summary?: { label: string; value: string | number }[];
  tables?: ReportTable[];
  charts?: ReportChart[];
  /** Points per series kept in the file (min/max per bucket beyond that). Default 2,000. */
  maxPointsPerSeries?: number;
}

let echartsSource: string | undefined;
function echarts(): string {
  if (echartsSource === undefined) {
    let path: string;
    try {
      path = createRequire(import.meta.url).resolve('echarts/dist/echarts.min');
    } catch {
      // echarts is an optional peer dependency of the package: a producer that only publishes does not need it.
      throw new Error(
        'the HTML report needs echarts, an optional peer dependency of visutility-monitor: install it (npm install echarts), or run vmon backtest without --report',
      );
    }
    echartsSource = readFileSync(path, 'utf8');
  }
  return echartsSource;
}

/**
 * Keeps at most ~`max` points: each bucket contributes its minimum and maximum, so spikes (the
 * thing a reader looks for) survive. Input must be in time order.
 */
export function downsample(points: readonly SeriesPoint[], max: number): SeriesPoint[] {
  if (points.length <= max) return [...points];
  const buckets = Math.max(1, Math.floor(max / 2));
  const size = points.length / buckets;
  const out: SeriesPoint[] = [];
  for (let b = 0; b < buckets; b++) {
    const from = Math.floor(b * size),
      to = Math.min(points.length, Math.floor((b + 1) * size));
    if (from >= to) continue;
    let lo = points[from]!,
      hi = points[from]!;
    for (let i = from + 1; i < to; i++) {
      const p = points[i]!;
      if (p.value < lo.value) lo = p;
      if (p.value > hi.value) hi = p;
    }
    if (lo === hi) out.push(lo);
    else if (lo.t <= hi.t) out.push(lo, hi);
    else out.push(hi, lo);
  }
  return out;
}

/** Text for an HTML element: invisible and look-alike characters escaped first (as every display does), then markup. */
const escapeHtml = (s: string) =>
  escapeForDisplay(s).replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!,
  );
/** JSON that is safe inside a <script> element. */
const scriptJson = (v: unknown) =>
  JSON.stringify(v)
    .replace(/</g, '\\u003c')
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029');

function renderTable(t: ReportTable): string {
  const head = t.columns.map((c) => `<th>${escapeHtml(c)}</th>`).join('');
  const body = t.rows
    .map(
      (r) =>
        `<tr>${r.map((c) => `<td${typeof c === 'number' ? ' class="num"' : ''}>${escapeHtml(String(c))}</td>`).join('')}</tr>`,
    )
    .join('\n');
  return `<section class="table"><h2>${escapeHtml(t.title)}</h2><table><thead><tr>${head}</tr></thead><tbody>\n${body}\n</tbody></table></section>`;
}

/** A step of 1, 2 or 5 × 10^k near `raw`. */
function niceStep(raw: number): number {
  const p = 10 ** Math.floor(Math.log10(raw));
  const f = raw / p;
  return (f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10) * p;
}

/**
 * A y axis holding every value given (data, thresholds, markers) on round ticks: min and max are
 * multiples of the interval, so no extra label sits at an unround top (overlapping the last tick).
 */
export function niceAxis(values: readonly number[], ticks = 5): { min: number; max: number; interval: number } | null {
  let lo = Infinity,
    hi = -Infinity;
  for (const v of values)
    if (Number.isFinite(v)) {
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
  if (!Number.isFinite(lo)) return null;
  if (hi - lo < 1e-12) {
    const pad = Math.abs(hi) > 1e-12 ? Math.abs(hi) * 0.1 : 1;
    lo -= pad;
    hi += pad;
  }
  const interval = niceStep((hi - lo) / ticks);
  const round = (v: number) => Number(v.toPrecision(12));
  // The tolerance keeps 0.3 / 0.1 (2.9999…) from flooring a whole step down.
  return {
    min: round(Math.floor(lo / interval + 1e-9) * interval),
    max: round(Math.ceil(hi / interval - 1e-9) * interval),
    interval,
  };
}

/** Rows a plain (unpaginated) legend takes at the chart's narrowest width (560 px). */
export function legendRows(names: readonly string[], width = 520): number {
  let rows = 1,
    used = 0;
  for (const n of names) {
    const w = 35 + 6.5 * [...n].length;
    if (used > 0 && used + w > width) {
      rows++;
      used = 0;
    }
    used += w;
  }
  return rows;
}

// Runs in the browser: one ECharts instance per chart description.
const CLIENT_SCRIPT = `
(function () {
  var charts = JSON.parse(document.getElementById('report-data').textContent);
  var instances = [];
  charts.forEach(function (c, i) {
    var el = document.getElementById('chart-' + i);
    var chart = echarts.init(el, null, { renderer: 'canvas' });
    var axisOf = function (x) { return x === 'right' ? 1 : 0; };
    var firstOn = function (side) { for (var k = 0; k < c.series.length; k++) if (axisOf(c.series[k].axis) === side) return k; return -1; };
    var series = c.series.map(function (s, k) {
      var side = axisOf(s.axis);
      var line = { name: s.name, type: 'line', showSymbol: false, sampling: 'lttb', data: s.points, yAxisIndex: side };
      var lines = c.thresholds.filter(function (th) { return axisOf(th.axis) === side; })
        .map(function (th) { return { name: th.label, yAxis: th.value }; });
      if (k === 0) lines = lines.concat(c.events.map(function (ev) { return { name: ev.label, xAxis: ev.t, lineStyle: { color: '#495057' }, label: { formatter: '{b}', position: 'insideEndTop' } }; }));
      if (k === firstOn(side) && lines.length) {
        line.markLine = { symbol: 'none', silent: true, lineStyle: { type: 'dashed', color: side ? '#7048e8' : '#d9480f' },
          label: { formatter: '{b}: {c}', position: 'insideEndTop' }, data: lines };
      }
      if (k === 0 && c.bands.length) {
        line.markArea = { silent: true, itemStyle: { color: 'rgba(250, 176, 5, 0.18)' }, label: { position: 'insideTop', fontSize: 10 },
          data: c.bands.map(function (b) { return [{ name: b.label, xAxis: b.from, itemStyle: b.color ? { color: b.color } : undefined }, { xAxis: b.to }]; }) };
      }
      return line;
    });
    var pinTooltip = { trigger: 'item', formatter: function (p) { return echarts.format.encodeHTML(p.name) + '<br>' + new Date(p.value[0]).toISOString() + '<br>value ' + p.value[1]; } };
    [0, 1].forEach(function (side) {
      var pins = c.markers.filter(function (m) { return m.value !== null && axisOf(m.axis) === side; });
      var lines = side === 0 ? c.markers.filter(function (m) { return m.value === null; }) : [];
      if (!pins.length && !lines.length) return;
      var s = { name: 'triggers', type: 'scatter', symbol: 'pin', symbolSize: 28, itemStyle: { color: '#c92a2a' }, yAxisIndex: side,
        data: pins.map(function (m) { return { value: [m.t, m.value], name: m.label }; }), tooltip: pinTooltip };
      if (lines.length) s.markLine = { symbol: 'none', lineStyle: { type: 'dotted', color: '#c92a2a', width: 2 },
        label: { formatter: '{b}', position: 'insideEndTop', color: '#c92a2a' },
        data: lines.map(function (m) { return { name: m.label, xAxis: m.t }; }) };
      series.push(s);
    });
    var yAxis = function (side) {
      var a = c.axes[side];
      var axis = { type: 'value', name: side ? c.rightName : c.yName, position: side ? 'right' : 'left', axisLabel: { hideOverlap: true } };
      if (a) { axis.min = a.min; axis.max = a.max; axis.interval = a.interval; } else axis.scale = true;
      if (side) axis.splitLine = { show: false };
      return axis;
    };
    var time = (c.xType || 'time') === 'time';
    chart.setOption({
      animation: false,
      // Time axes in UTC, like every timestamp in the tables and tooltips.
      useUTC: true,
      title: { text: c.title, left: 'center', textStyle: { fontSize: 14 } },
      tooltip: { trigger: 'axis' },
      // Every entry visible (a scrolling legend hid "triggers" behind a page arrow): rows grow the chart.
      legend: { bottom: 0, type: 'plain' },
      grid: { left: 64, right: c.hasRight ? 64 : 24, top: 48, bottom: 54 + 20 * c.legendRows },
      // Midnight reads as a date and a time, not as a bare day number among hours.
      xAxis: { type: c.xType || 'time', name: c.xName || '', nameLocation: 'middle', nameGap: 28,
        axisLabel: time ? { hideOverlap: true, formatter: { year: '{yyyy}-{MM}-{dd}', month: '{yyyy}-{MM}-{dd}', day: '{MM}-{dd} 00:00', hour: '{HH}:{mm}', minute: '{HH}:{mm}', second: '{HH}:{mm}:{ss}', millisecond: '{HH}:{mm}' } } : { hideOverlap: true } },
      yAxis: c.hasRight ? [yAxis(0), yAxis(1)] : [yAxis(0)],
      dataZoom: [{ type: 'inside' }, { type: 'slider', bottom: 8 + 20 * c.legendRows, height: 16 }],
      series: series
    });
    instances.push(chart);
  });
  window.addEventListener('resize', function () { instances.forEach(function (x) { x.resize(); }); });
  window.__reportCharts = instances.length;
  window.__reportInstances = instances;
  window.__reportReady = true;
})();
`;

export function renderHtmlReport(doc: ReportDocument): string {
  const maxPoints = doc.maxPointsPerSeries ?? 2000;
  const charts = (doc.charts ?? []).map((c) => {
    // Titles, names and labels are drawn by ECharts: escaped for display like the tables.
    const series = c.series.map((s) => ({
      name: escapeForDisplay(s.name),
      points: downsample(s.points, maxPoints).map((p) => [p.t, p.value]),
    }));
    const sideOf = (x: { axis?: YAxisSide }) => (x.axis === 'right' ? 1 : 0);
    const onAxis: number[][] = [[], []];
    for (const s of c.series) for (const p of s.points) onAxis[sideOf(s)]!.push(p.value);
    for (const th of c.thresholds ?? []) onAxis[sideOf(th)]!.push(th.value);
    for (const m of c.markers ?? []) if (m.value !== undefined) onAxis[sideOf(m)]!.push(m.value);
    const usesRight =
      c.series.some((x) => x.axis === 'right') ||
      (c.thresholds ?? []).some((x) => x.axis === 'right') ||
      (c.markers ?? []).some((x) => x.axis === 'right');
    const legendNames = [...c.series.map((x) => x.name), ...((c.markers ?? []).length ? ['triggers'] : [])];
    return {
      title: escapeForDisplay(c.title),
      yName: escapeForDisplay(c.yName ?? ''),
      rightName: escapeForDisplay(c.rightName ?? ''),
      // A right axis whenever something uses it, even with nothing to draw yet (a chart still warming up).
      hasRight: usesRight,
      axes: [niceAxis(onAxis[0]!), usesRight ? niceAxis(onAxis[1]!) : null],
      legendRows: legendRows(legendNames),
      series: series.map((x, k) => ({ ...x, axis: c.series[k]!.axis ?? 'left' })),
      thresholds: (c.thresholds ?? []).map((th) => ({ ...th, label: escapeForDisplay(th.label) })),
      events: (c.events ?? []).map((ev) => ({ ...ev, label: escapeForDisplay(ev.label) })),
      bands: (c.bands ?? []).map(({ color, ...b }) => ({
        ...b,
        label: escapeForDisplay(b.label),
        // Only a plain colour reaches the chart's styles.
        ...(color !== undefined && CSS_COLOR.test(color) ? { color } : {}),
      })),
      xType: c.xType ?? 'time',
      xName: escapeForDisplay(c.xName ?? ''),
      markers: (c.markers ?? []).map((m) => ({
        t: m.t,
        value: m.value ?? null,
        axis: m.axis ?? 'left',
        label: escapeForDisplay(m.label),
      })),
    };
  });
  const tiles = (doc.summary ?? [])
    .map(
      (s) =>
        `<div class="tile"><div class="v">${escapeHtml(String(s.value))}</div><div class="l">${escapeHtml(s.label)}</div></div>`,
    )
    .join('');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(doc.title)}</title>
<style>
  body { font: 14px/1.4 system-ui, sans-serif; margin: 24px; color: #212529; }
  h1 { font-size: 22px; margin: 0 0 4px; } h2 { font-size: 16px; margin: 24px 0 8px; }
  .sub { color: #666; margin-bottom: 16px; }
  .tiles { display: flex; flex-wrap: wrap; gap: 12px; }
  .tile { border: 1px solid #dee2e6; border-radius: 6px; padding: 8px 14px; min-width: 110px; }
  .tile .v { font-size: 20px; font-weight: 600; } .tile .l { color: #666; font-size: 12px; }
  table { border-collapse: collapse; } th, td { border: 1px solid #dee2e6; padding: 3px 8px; text-align: left; }
  th { background: #f1f3f5; } td.num { text-align: right; font-variant-numeric: tabular-nums; }
  .charts { display: grid; grid-template-columns: repeat(auto-fill, minmax(560px, 1fr)); gap: 16px; margin-top: 16px; }
  .chart { height: 340px; border: 1px solid #dee2e6; border-radius: 6px; }
</style>
</head>
<body>
<h1>${escapeHtml(doc.title)}</h1>
${doc.subtitle ? `<div class="sub">${escapeHtml(doc.subtitle)}</div>` : ''}
<div class="tiles">${tiles}</div>
${(doc.tables ?? []).map(renderTable).join('\n')}
<div class="charts">
${charts.map((c, i) => `<div class="chart" id="chart-${i}"${c.legendRows > 1 ? ` style="height: ${340 + 20 * (c.legendRows - 1)}px"` : ''}></div>`).join('\n')}
</div>
<script>${echarts()}</script>
<script type="application/json" id="report-data">${scriptJson(charts)}</script>
<script>${CLIENT_SCRIPT}</script>
</body>
</html>
`;
}

export async function writeHtmlReport(path: string, doc: ReportDocument): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, renderHtmlReport(doc), 'utf8');
}
