// Opens a static HTML file in Debian's headless chromium (driven by playwright-core, no browser
// download; scripts/setup-browser.sh installs it), reports what a reader would see and writes a
// full-page screenshot.
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
}

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
    await page.screenshot({ path: screenshotPath, fullPage: true });
    return { title: await page.title(), canvases, pageErrors, externalRequests, chartsReady };
  } finally {
    await context.close();
    await rm(userDataDir, { recursive: true, force: true });
  }
}
