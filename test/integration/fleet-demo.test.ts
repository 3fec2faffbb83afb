// Covers `npm run demo -- --fleet` end to end: three models' cohorts through moto, the local event-source
// mapping and the real ingest handler under the default policy: the staggered drift on 40 % of det-v4
// gives one model-scope retrain and nothing per camera (one of its drifting cameras offline an hour, then
// uploading its backlog), the lone seg-v2 camera one CameraAnomalyDetected, the healthy cls-v1 nothing (two
// of its uploads retried after the next one: nothing too late); each period's uploads arrive shuffled;
// the summary shows each cohort's share over time and the HTML report charts it with the threshold and
// the decisions.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { fleetDemoReport, formatFleetSummary, runFleetDemo, type FleetDemoRun } from '../../lib/demo/fleet-demo.js';
import { writeHtmlReport } from '../../lib/report/html-report.js';

const REPORT = resolve('reports/test/fleet-demo-report.html');
let run: FleetDemoRun;

beforeAll(async () => {
  run = await runFleetDemo({ seed: 42, minutes: 150, timeoutMs: 270_000 });
  await writeHtmlReport(REPORT, fleetDemoReport(run));
}, 300_000);

describe('npm run demo -- --fleet', () => {
  it('one model retrain for the drifting model, one anomaly for the lone camera, nothing for the healthy model', () => {
    const [drift, lone, calm] = run.rows;
    expect(run.rows.map((r) => [r.plan.modelVersion, r.ok])).toEqual([
      ['det-v4', true],
      ['seg-v2', true],
      ['cls-v1', true],
    ]);
    expect(drift!.modelTriggers.map((t) => [t.type, t.detail.scope])).toEqual([['RetrainingRequested', 'model']]);
    expect(drift!.anomalies).toEqual([]);
    expect(lone!.anomalies.map((a) => a.detail.cameraId)).toEqual(['seg-v2-cam0000']);
    expect(calm!.share.every((s) => s.value === 0)).toBe(true);
    expect(run.events.filter((e) => e.type === 'RetrainingRequested' && e.detail.scope === 'camera')).toEqual([]);
    // The offline camera's backlog and the retried uploads: nothing too late, the backlog camera no anomaly.
    expect(run.tooLate).toBe(0);
    // The share crossed the threshold and stayed at the drifting 40 %.
    expect(Math.max(...drift!.share.map((s) => s.value))).toBeCloseTo(0.4, 5);
  });

  it('summary and report show the share over time with the threshold and the decision', () => {
    const text = formatFleetSummary(run);
    expect(text).toMatch(/det-v4 +30 +12 +0\.40 +RetrainingRequested at \d+ min/);
    expect(text).toMatch(/share over time/);
    expect(text).toContain('uploads: every camera sends 10 min of events per message, shuffled within each period');
    expect(text).toMatch(/late uploads: det-v4-cam0001 offline .*: 0 events too late/);
    const html = readFileSync(REPORT, 'utf8');
    expect(html).toContain('det-v4 · Rgb · share of active cameras');
    expect(html).toContain('minShare 0.2');
    expect(html).toContain('CameraAnomalyDetected · seg-v2-cam0000');
  });
});
