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
/** One line: e.g. one camera's DriftScore. `t` is epoch ms. */
export interface ChartSeries {
  name: string;
  points: SeriesPoint[];
}
export interface ThresholdLine {
  value: number;
  label: string;
}
/** A point in time worth pointing at, e.g. a trigger; drawn at `value` (or at the chart's top). */
export interface ChartMarker {
  t: number;
  value?: number;
  label: string;
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

// Runs in the browser: one ECharts instance per chart description.
const CLIENT_SCRIPT = `
(function () {
  var charts = JSON.parse(document.getElementById('report-data').textContent);
  var instances = [];
  charts.forEach(function (c, i) {
    var el = document.getElementById('chart-' + i);
    var chart = echarts.init(el, null, { renderer: 'canvas' });
    var series = c.series.map(function (s, k) {
      var line = { name: s.name, type: 'line', showSymbol: false, sampling: 'lttb', data: s.points };
      if (k === 0 && (c.thresholds.length || c.events.length)) {
        line.markLine = { symbol: 'none', silent: true, lineStyle: { type: 'dashed', color: '#d9480f' },
          label: { formatter: '{b}: {c}', position: 'insideEndTop' },
          data: c.thresholds.map(function (th) { return { name: th.label, yAxis: th.value }; })
            .concat(c.events.map(function (ev) { return { name: ev.label, xAxis: ev.t, lineStyle: { color: '#495057' }, label: { formatter: '{b}', position: 'insideEndTop' } }; })) };
      }
      if (k === 0 && c.bands.length) {
        line.markArea = { silent: true, itemStyle: { color: 'rgba(250, 176, 5, 0.18)' }, label: { position: 'insideTop', fontSize: 10 },
          data: c.bands.map(function (b) { return [{ name: b.label, xAxis: b.from, itemStyle: b.color ? { color: b.color } : undefined }, { xAxis: b.to }]; }) };
      }
      return line;
    });
    if (c.markers.length) {
      series.push({ name: 'triggers', type: 'scatter', symbol: 'pin', symbolSize: 28, itemStyle: { color: '#c92a2a' },
        data: c.markers.map(function (m) { return { value: [m.t, m.value], name: m.label }; }),
        tooltip: { trigger: 'item', formatter: function (p) { return echarts.format.encodeHTML(p.name) + '<br>' + new Date(p.value[0]).toISOString(); } } });
    }
    chart.setOption({
      animation: false,
      // Time axes in UTC, like every timestamp in the tables and tooltips.
      useUTC: true,
      title: { text: c.title, left: 'center', textStyle: { fontSize: 14 } },
      tooltip: { trigger: 'axis' },
      legend: { bottom: 0, type: 'scroll' },
      grid: { left: 56, right: 24, top: 40, bottom: 70 },
      xAxis: { type: c.xType || 'time', name: c.xName || '' },
      // Thresholds stay in view even when the data keeps well below them (a healthy camera).
      yAxis: { type: 'value', name: c.yName || '', scale: true,
        max: c.thresholds.length ? function (v) {
          var m = Math.max(v.max, Math.max.apply(null, c.thresholds.map(function (th) { return th.value; })) * 1.05);
          var step = Math.pow(10, Math.floor(Math.log10(Math.abs(m) || 1)) - 1);
          return Number((Math.ceil(m / step) * step).toPrecision(12));
        } : null },
      dataZoom: [{ type: 'inside' }, { type: 'slider', bottom: 28, height: 16 }],
      series: series
    });
    instances.push(chart);
  });
  window.addEventListener('resize', function () { instances.forEach(function (x) { x.resize(); }); });
  window.__reportCharts = instances.length;
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
    let top = -Infinity;
    for (const s of c.series) for (const p of s.points) if (p.value > top) top = p.value;
    for (const th of c.thresholds ?? []) top = Math.max(top, th.value);
    return {
      title: escapeForDisplay(c.title),
      yName: escapeForDisplay(c.yName ?? ''),
      series,
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
        value: m.value ?? (Number.isFinite(top) ? top : 0),
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
${charts.map((_, i) => `<div class="chart" id="chart-${i}"></div>`).join('\n')}
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
