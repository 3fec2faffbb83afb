// Opens a static HTML file in Debian's headless chromium (driven by playwright-core, no browser
// download; scripts/setup-browser.sh installs it), reports what a reader would see (per chart: the
// axis labels ECharts lays out, the legend type, each trigger pin's value and where it is drawn) and
// writes a full-page screenshot.
import { mkdtemp, rm } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium } from 'playwright-core';

export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

export interface RenderedPage {
  title: string;
  /** Size of every chart canvas, in CSS pixels. */
  canvases: { width: number; height: number }[];
  /** Uncaught errors and console errors on the page. */
  pageErrors: string[];
  /** Requests for anything but the file itself: a self-contained report makes none. */
  externalRequests: string[];
  chartsReady: number;
  charts: ChartProbe[];
}

/** What one chart shows, read from its ECharts instance. */
export interface ChartProbe {
  title: string;
  legendType: string;
  xLabels: string[];
  /** per y axis (left, then right when there is one) */
  yLabels: string[][];
  /** every trigger pin: its value [t, v] on y axis `axis`, the pixel it is drawn at, and where that value maps */
  pins: { axis: number; value: [number, number]; drawn: [number, number]; expected: [number, number] }[];
}

// Runs in the page: reads each chart's model (labels as laid out, pins as drawn).
const PROBE = `(window.__reportInstances || []).map(function (chart) {
  var model = chart.getModel();
  var option = chart.getOption();
  var labels = function (main, i) {
    var c = model.getComponent(main, i);
    return c ? c.axis.getViewLabels().map(function (l) { return String(l.formattedLabel); }) : [];
  };
  var pins = [];
  model.eachSeries(function (s) {
    if (s.name !== 'triggers' || s.subType !== 'scatter') return;
    var data = s.getData();
    var axis = s.option.yAxisIndex || 0;
    for (var i = 0; i < data.count(); i++) {
      var value = s.option.data[i].value;
      pins.push({ axis: axis, value: value, drawn: data.getItemLayout(i),
        expected: chart.convertToPixel({ xAxisIndex: 0, yAxisIndex: axis }, value) });
    }
  });
  return { title: option.title[0].text, legendType: option.legend[0].type, xLabels: labels('xAxis', 0),
    yLabels: option.yAxis.map(function (_, i) { return labels('yAxis', i); }), pins: pins };
})`;

export async function renderInChromium(htmlPath: string, screenshotPath: string): Promise<RenderedPage> {
  if (!existsSync(CHROMIUM_PATH))
    throw new Error(
      `chromium not found at ${CHROMIUM_PATH}: run "npm run setup:browser" (npm test does), or set CHROMIUM_PATH`,
    );
  const userDataDir = await mkdtemp(join(tmpdir(), 'vmon-chromium-'));
  // A new, empty profile each time (playwright takes it as launchPersistentContext's first argument).
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM_PATH,
    headless: true,
    viewport: { width: 1400, height: 900 },
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  try {
    const page = await context.newPage();
    const pageErrors: string[] = [];
    const externalRequests: string[] = [];
    const url = pathToFileURL(htmlPath).href;
    page.on('pageerror', (e) => pageErrors.push(e.message));
    page.on('console', (m) => {
      if (m.type() === 'error') pageErrors.push(m.text());
    });
    page.on('request', (r) => {
      if (r.url() !== url) externalRequests.push(r.url());
    });
    await page.goto(url, { waitUntil: 'load' });
    // The report's script sets window.__reportReady once every chart is initialized.
    await page.waitForFunction('window.__reportReady === true', undefined, { timeout: 20_000 });
    const canvases = await page.$$eval('canvas', (els) =>
      els.map((e) => {
        const r = e.getBoundingClientRect();
        return { width: r.width, height: r.height };
      }),
    );
    const chartsReady = (await page.evaluate('window.__reportCharts ?? 0')) as number;
    const charts = (await page.evaluate(PROBE)) as ChartProbe[];
    await page.screenshot({ path: screenshotPath, fullPage: true });
    return { title: await page.title(), canvases, pageErrors, externalRequests, chartsReady, charts };
  } finally {
    await context.close();
    await rm(userDataDir, { recursive: true, force: true });
  }
}
