// Covers `npm run demo` end to end at a small size, so the demo cannot silently rot: a seeded
// fleet through moto, the local event-source mapping and the real ingest handler, across a whole
// night (17:00 to 06:00: healthy cameras stay quiet through it), then the
// expected-vs-detected table, the event accounting (nothing lost), the DLQ reasons, partial batch
// failures and redrive; the closed-loop phase (one model through the simulated training pipeline:
// suppression while training, reset and recovery after the deploy); and the HTML report rendered in
// headless chromium (charts visible, no page errors, nothing fetched; legends whole, times across midnight
// as dates, round y ticks, each trigger pinned on the statistic of the detector that fired, drawn where
// its value maps), with a screenshot next to it.
import { statSync } from 'node:fs';
import { resolve } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_POLICY } from '../../lib/core/policy.js';
import { runDemo, type DemoRun } from '../../lib/demo/run-demo.js';
import { demoReport } from '../../lib/demo/report.js';
import { falseTriggerBudget, formatSummary } from '../../lib/demo/summary.js';
import { writeHtmlReport } from '../../lib/report/html-report.js';
import { SCENARIOS } from '../../lib/sim/scenarios.js';
import { FLEET_DEFAULTS } from '../../lib/sim/fleet-simulator.js';
import { renderInChromium } from '../browser/chromium.js';

const REPORT = resolve('reports/test/demo-report.html');
const SCREENSHOT = resolve('reports/test/demo-report.png');
let run: DemoRun;
const HOURS = 13;
/** The default policy's drift decision (its per-metric `mean-shift`), whatever its id. */
const DRIFT_DECISION = DEFAULT_POLICY.detectors.find((d) => d.metric === 'DriftScore' && d.kind === 'mean-shift')!.id;

beforeAll(async () => {
  run = await runDemo({
    cameras: 24,
    hours: HOURS,
    startHourOfDay: 17,
    seed: 7,
    visibilityTimeoutSeconds: 3,
    timeoutMs: 150_000,
  });
  await writeHtmlReport(REPORT, demoReport(run));
}, 170_000);

describe('npm run demo, small', () => {
  it('detects every scenario it expects, and nothing else beyond the false-alarm budget', () => {
    const s = run.summary;
    expect(s.rows.map((r) => r.scenario)).toEqual(SCENARIOS.map((x) => x.id));
    for (const row of s.rows) {
      const scenario = SCENARIOS.find((x) => x.id === row.scenario)!;
      expect(row.status, `${row.scenario}\n${formatSummary(s)}`).toBe('ok');
      if (scenario.expectedAction !== null) {
        expect(row.detected, row.scenario).toBe(row.cameras);
        expect(row.unexpectedTriggers, row.scenario).toBe(0);
        // Detection comes within a couple of simulated hours of onset, never before it.
        expect(row.delayMinutes!.median).toBeGreaterThan(0);
        expect(row.delayMinutes!.max).toBeLessThan(120);
      } else if (row.scenario !== 'healthy') {
        expect(row.unexpectedTriggers, row.scenario).toBe(0);
      }
    }
    expect(s.falseTriggersOnHealthy).toBeLessThanOrEqual(falseTriggerBudget(s.healthyCameras));
    expect(s.ok).toBe(true);
  });

  it('crosses a whole night, and healthy cameras stay quiet through it', () => {
    const { night } = run.summary;
    expect(night?.nights.filter((n) => n.whole)).toHaveLength(1);
    expect(night?.healthyThroughWholeNight).toBe(run.summary.healthyCameras);
    expect(night?.falseTriggersAtNight).toBe(0);
    expect(run.summary.falseTriggersOnHealthy).toBe(0);
    expect(formatSummary(run.summary)).toContain('night (18:00-06:00 local): 1 whole night(s) in the run');
    // Drift caught by the drift decision (armed after 50 values), not the window mean's 0.7 level.
    const drift = run.sim.cameras.find((c) => c.scenario === 'drift')!;
    const caught = run.triggers.find((t) => t.cameraId === drift.id && t.detailType === 'RetrainingRequested');
    expect(caught?.detector, JSON.stringify(run.triggers.filter((t) => t.cameraId === drift.id))).toBe(DRIFT_DECISION);
    expect(run.summary.rows.find((r) => r.scenario === 'drift')!.delayMinutes!.max).toBeLessThanOrEqual(20);
  });

  it('loses nothing: every valid event applied or redriven, every bad part in the DLQ with its reason', () => {
    const { events, deadLetters, state } = run.summary;
    const poison = run.sim.cameras.filter((c) => c.scenario === 'poison-storage').length;
    expect(events.lost).toBe(0);
    expect(events.applied + events.redriven).toBe(events.sent);
    // The poison camera's whole history (5 metrics per sample, one message an hour) went to the DLQ by redrive.
    expect(events.redriven).toBe(poison * HOURS * (3600 / FLEET_DEFAULTS.sampleIntervalSec) * 5);
    expect(deadLetters.redrivenMessages).toBe(poison * HOURS);
    expect(events.badPartsSent).toBeGreaterThan(0);
    expect(events.rejected).toBe(events.badPartsSent);
    expect(deadLetters.byReason.some((r) => r.reason.startsWith('redriven by SQS after 5 failed receives'))).toBe(true);
    for (const r of deadLetters.byReason) expect(r.reason).not.toMatch(/^\[\d+\]/);
    expect(state.matching).toBe(state.expected);
  });

  it('exercised the event-source mapping: several pollers, partial batch failures, no handler crash', () => {
    expect(run.mapping.failedRecords).toBeGreaterThan(0);
    expect(run.mapping.handlerErrors).toBe(0);
    expect(run.mapping.invocations).toBeGreaterThan(1);
  });
});

describe('closed loop for one model', () => {
  it('trains once, suppresses the breach during training, resets at the deploy and recovers', () => {
    const l = run.closedLoop;
    expect(l.problems).toEqual([]);
    expect(l.ok).toBe(true);
    expect(l.published.filter((p) => p.type === 'RetrainingRequested')).toHaveLength(1);
    expect(l.duplicatesDropped).toBe(1);
    expect(l.suppressedWhileTraining).toBe(true);
    expect(l.resetAtDeploy).toBe(true);
    expect(l.retrainsAfterDeploy).toBe(0);
    // In order: request, training, suppressed breach, deploy, reset, recovery.
    const order = [
      'monitor publishes RetrainingRequested',
      'training pipeline takes',
      'suppressed',
      'ModelDeployed',
      'baselines reset',
      'recovered',
    ];
    const at = order.map((w) => l.timeline.findIndex((m) => m.what.includes(w)));
    expect(
      at.every((i) => i >= 0),
      JSON.stringify(l.timeline, null, 1),
    ).toBe(true);
    expect([...at].sort((a, b) => a - b)).toEqual(at);
    expect(l.run!.finishedAt! - l.run!.startedAt).toBeGreaterThanOrEqual(90 * 60_000);
  });
});

describe('the demo report in headless chromium', () => {
  it('renders every chart visibly, offline, without errors, and leaves a screenshot next to the report', async () => {
    const doc = demoReport(run);
    const page = await renderInChromium(REPORT, SCREENSHOT);
    expect(page.pageErrors).toEqual([]);
    expect(page.externalRequests).toEqual([]);
    expect(page.title).toBe(doc.title);
    expect(page.chartsReady).toBe(doc.charts!.length);
    expect(page.canvases.length).toBeGreaterThanOrEqual(doc.charts!.length);
    for (const c of page.canvases) {
      expect(c.width).toBeGreaterThan(200);
      expect(c.height).toBeGreaterThan(200);
    }
    expect(statSync(SCREENSHOT).size).toBeGreaterThan(50_000);
    // The fleet's and every example camera's time axis shade the night (the closed loop runs after it).
    const fleetCharts = doc.charts!.filter((c) => c.title.startsWith('Fleet') || c.title.startsWith('cam-'));
    expect(fleetCharts.length).toBe(1 + SCENARIOS.length);
    for (const c of fleetCharts) expect(c.bands?.map((b) => b.label)).toEqual(['night']);

    // What a reader sees, per chart: every legend entry (no page arrows), times across midnight as
    // dates, round y ticks that do not collide, and each trigger pin drawn where its value maps.
    expect(page.charts).toHaveLength(doc.charts!.length);
    for (const c of page.charts) {
      expect(c.legendType, c.title).toBe('plain');
      if (!c.title.includes('closed loop'))
        for (const l of c.xLabels) expect(l, `${c.title}: x label`).toMatch(/^(\d\d:\d\d(:\d\d)?|\d\d-\d\d 00:00)$/);
      for (const axis of c.yLabels) {
        const ticks = axis.map(Number);
        expect(ticks.every(Number.isFinite), `${c.title}: ${axis}`).toBe(true);
        const steps = ticks.slice(1).map((v, i) => Number((v - ticks[i]!).toPrecision(6)));
        expect(new Set(steps).size, `${c.title}: y ticks ${axis} evenly spaced`).toBeLessThanOrEqual(1);
      }
      for (const pin of c.pins) {
        expect(Math.abs(pin.drawn[0] - pin.expected[0]), `${c.title} pin x`).toBeLessThan(1);
        expect(Math.abs(pin.drawn[1] - pin.expected[1]), `${c.title} pin y`).toBeLessThan(1);
      }
    }
    // The drift camera's triggers come from the drift decision: pinned on its statistic (right axis), at or
    // above the limit it crossed, not below the window mean's 0.7 line.
    const driftDoc = doc.charts!.find((c) => c.title.endsWith('· drift'))!;
    const decisionPins = driftDoc.markers!.filter(
      (m) => m.label.includes(DRIFT_DECISION) && m.label.startsWith('Retraining'),
    );
    expect(decisionPins.length).toBeGreaterThan(0);
    const limit = driftDoc.series.find((x) => x.name === `${DRIFT_DECISION} limit`)!.points;
    for (const m of decisionPins) {
      expect(m.axis).toBe('right');
      const at = limit.filter((p) => p.t <= m.t).at(-1)!;
      expect(m.value!).toBeGreaterThanOrEqual(at.value - 1e-9);
    }
    const drift = page.charts.find((c) => c.title === driftDoc.title)!;
    expect(drift.pins.some((p) => p.axis === 1)).toBe(true);
  }, 60_000);
});
