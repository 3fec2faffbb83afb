// Covers `vmon backtest` in process (no AWS needed): the triggers it finds and when, the text
// output against a golden file, JSONL and CSV giving the same result, bad lines reported with their
// line numbers (and --strict), clear usage errors, and the HTML report (ECharts inlined, one chart
// per charted stream, trigger markers, safe embedding). Also the CSV record parser and downsampling.
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseCsvRecord } from '../../lib/cli/event-file.js';
import { downsample, renderHtmlReport } from '../../lib/report/html-report.js';
import { expectGolden, normalise, runVmon, series, tempDir, toJsonl } from '../integration/cli-support.js';
import type { WireMetricEvent } from '../../lib/core/metric-event.js';
import { CAMERA_DRIFT_SLA_POLICY } from '../support/fixtures.js';

const START = Date.parse('2026-01-05T00:00:00Z');
const POLICY = CAMERA_DRIFT_SLA_POLICY;

let dir: string;
let events: WireMetricEvent[];
beforeAll(async () => {
  dir = await tempDir();
  // cam01 drifts (5 low, 6 high, 6 low): one episode, fired and resolved.
  // cam02 gets slow for a while: one SLA breach, resolved. cam03 stays healthy.
  events = [
    ...series('cam01', 'DriftScore', [...Array(5).fill(0.2), ...Array(6).fill(0.9), ...Array(6).fill(0.1)], START),
    ...series(
      'cam02',
      'LatencyMs',
      [...Array(6).fill(80), ...Array(6).fill(400), ...Array(8).fill(90)],
      START,
      10_000,
      'Thermal',
    ),
    ...series('cam03', 'DriftScore', Array(12).fill(0.3), START),
  ];
  await writeFile(join(dir, 'policy.json'), JSON.stringify(POLICY));
  const lines = toJsonl(events).split('\n');
  // A bad line in the middle (line 4) and a blank line: the bad one is reported, the rest applied.
  lines.splice(3, 0, '{"id":"nope","camera_id":"cam01"}', '');
  await writeFile(join(dir, 'events.jsonl'), lines.join('\n'));
  const header = 'id,timestamp,camera_id,modality,metric,value,model_version';
  const csv = [
    header,
    ...events.map((e) => [e.id, e.timestamp, e.camera_id, e.modality, e.metric, e.value, e.model_version].join(',')),
  ];
  await writeFile(join(dir, 'events.csv'), `${csv.join('\r\n')}\r\n`);
});

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('vmon backtest', () => {
  it('prints the triggers the production core would have fired, with event times (golden)', async () => {
    const r = await runVmon([
      'backtest',
      join(dir, 'events.jsonl'),
      '--policy',
      join(dir, 'policy.json'),
      '--report',
      join(dir, 'report.html'),
    ]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    // Trigger ids are deterministic (camera + modality + detector + episode), so they stay in.
    expectGolden('backtest.txt', normalise(r.stdout, { keepUuids: true }));
  });

  it('reports when each episode fired and resolved, the same from JSONL and from CSV', async () => {
    const runs = await Promise.all(
      ['events.jsonl', 'events.csv'].map((f) =>
        runVmon(['backtest', join(dir, f), '--policy', join(dir, 'policy.json'), '--no-report', '--json']),
      ),
    );
    const [jsonl, csv] = runs.map((r) => JSON.parse(r.stdout));
    const at = (k: number) => new Date(START + k * 10_000).toISOString();
    // Window of 3: the mean first passes 0.7 with the third high value (index 7) and falls back to
    // 0.7 or below with the first low value after the highs (index 11: mean of 0.9, 0.9, 0.1).
    expect(
      jsonl.triggers
        .filter((t: { cameraId: string }) => t.cameraId === 'cam01')
        .map((t: { detailType: string; lastEventAt: string }) => [t.detailType, t.lastEventAt]),
    ).toEqual([
      ['RetrainingRequested', at(7)],
      ['AlertResolved', at(11)],
    ]);
    expect(
      jsonl.triggers
        .filter((t: { cameraId: string }) => t.cameraId === 'cam02')
        .map((t: { detailType: string }) => t.detailType),
    ).toEqual(['SlaBreached', 'AlertResolved']);
    expect(jsonl.triggers.some((t: { cameraId: string }) => t.cameraId === 'cam03')).toBe(false);
    expect(jsonl.totals).toMatchObject({
      events: events.length,
      applied: events.length,
      rejected: 1,
      cameras: 3,
      triggers: 4,
    });
    expect(jsonl.rejected).toEqual([
      { line: 4, index: null, reason: expect.stringMatching(/^id must be a UUID.*timestamp is required/) },
    ]);
    expect(csv.triggers).toEqual(jsonl.triggers);
    expect(csv.totals).toMatchObject({ ...jsonl.totals, rejected: 0 });
  });

  it('writes a self-contained HTML report with charts, thresholds and trigger markers', async () => {
    const path = join(dir, 'report.html');
    await runVmon([
      'backtest',
      join(dir, 'events.jsonl'),
      '--policy',
      join(dir, 'policy.json'),
      '--report',
      path,
      '--json',
    ]);
    const html = await readFile(path, 'utf8');
    expect(html.length).toBeGreaterThan(1_000_000); // the ECharts library itself is inlined
    expect(/<script[^>]+src=/.test(html)).toBe(false);
    const data = JSON.parse(/<script type="application\/json" id="report-data">(.*?)<\/script>/s.exec(html)![1]!);
    // Cameras that triggered first (in order of their first trigger), then the others.
    expect(data.map((c: { title: string }) => c.title)).toEqual([
      'cam02 · Thermal · LatencyMs',
      'cam01 · Rgb · DriftScore',
      'cam03 · Rgb · DriftScore',
    ]);
    expect(data[0].thresholds).toEqual([{ value: 200, label: 'latency-p90 SLA (p90, ms)' }]);
    expect(data[1].thresholds).toEqual([{ value: 0.7, label: 'drift-mean threshold' }]);
    // Each detector's own statistic is drawn beside the metric, and its trigger pinned on that line.
    expect(data[1].series.map((x: { name: string }) => x.name)).toEqual([
      'cam01 DriftScore',
      'drift-mean: window mean',
    ]);
    expect(data[1].markers.map((m: { label: string }) => m.label.split(' · ')[0])).toEqual([
      'RetrainingRequested',
      'AlertResolved',
    ]);
    expect(data[1].markers[0]).toMatchObject({ t: START + 70_000, value: expect.closeTo(0.9, 5) });
    expect(data[1].series[0].points).toHaveLength(17);
    expect(data[2].markers).toEqual([]);
    // The rejected line is in the report's table with its number and reason.
    expect(/<td class="num">4<\/td><td><\/td><td>id must be a UUID/.test(html)).toBe(true);
  });

  it('fails clearly: missing file, unknown format, invalid policy, --strict with a rejected line', async () => {
    const missing = await runVmon(['backtest', join(dir, 'nope.jsonl')]);
    expect(missing).toMatchObject({ code: 2, stderr: `vmon: file not found: ${join(dir, 'nope.jsonl')}\n` });
    const format = await runVmon(['backtest', join(dir, 'policy.json')]);
    expect(format.code).toBe(2);
    expect(format.stderr).toMatch(/cannot tell the format .* --format jsonl\|csv/);
    await writeFile(
      join(dir, 'bad-policy.json'),
      JSON.stringify({ ...POLICY, detectors: [{ ...POLICY.detectors[0], windowSize: 0 }] }),
    );
    const policy = await runVmon(['backtest', join(dir, 'events.jsonl'), '--policy', join(dir, 'bad-policy.json')]);
    expect(policy.code).toBe(2);
    expect(policy.stderr).toMatch(/bad-policy\.json: invalid policy: detectors\[0\]\.windowSize: must be >= 1/);
    const strict = await runVmon([
      'backtest',
      join(dir, 'events.jsonl'),
      '--policy',
      join(dir, 'policy.json'),
      '--no-report',
      '--strict',
    ]);
    expect(strict.code).toBe(2);
    expect(strict.stdout).toMatch(/line 4: id must be a UUID/);
    const usage = await runVmon(['backtest']);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toContain('give an event file or --from s3://<bucket>/<prefix>/ | --from local');
    const reorder = await runVmon(['backtest', join(dir, 'events.jsonl'), '--reorder', '2 hours']);
    expect(reorder).toMatchObject({ code: 2, stderr: 'vmon: --reorder must look like 30m, 2h or 1d, got "2 hours"\n' });
  });

  it('--reorder: events later than the default hour are applied in event-time order within a wider window', async () => {
    // A camera's first two hours arrive after its next two (an offline camera's backlog behind newer uploads).
    const hours = series('cam09', 'DriftScore', [...Array(360).fill(0.2), ...Array(360).fill(0.9)], START, 20_000);
    const file = join(dir, 'late.jsonl');
    const run = async (events: WireMetricEvent[], ...extra: string[]) => {
      await writeFile(file, toJsonl(events));
      const r = await runVmon([
        'backtest',
        file,
        '--policy',
        join(dir, 'policy.json'),
        '--json',
        '--workers',
        '1',
        ...extra,
      ]);
      expect(r.code).toBe(0);
      return JSON.parse(r.stdout);
    };
    const late = [...hours.slice(360), ...hours.slice(0, 360)];
    const byDefault = await run(late);
    const wide = await run(late, '--reorder', '5h');
    const sorted = await run(hours);
    expect(byDefault.reordered).toBeGreaterThan(0);
    expect(wide.reordered).toBe(0);
    expect(wide.triggers).toEqual(sorted.triggers);
    expect(wide.totals).toEqual(sorted.totals);
    expect(byDefault.totals).not.toEqual(sorted.totals);
  });
});

describe('event files and report helpers', () => {
  it('numbers lines right across read chunks (a file over 1 MiB)', async () => {
    const many = series('cam-big', 'DriftScore', Array(7000).fill(0.1), START, 1000);
    const lines = toJsonl(many).split('\n');
    lines.splice(6500, 0, '{"broken":');
    await writeFile(join(dir, 'big.jsonl'), lines.join('\n'));
    const r = JSON.parse((await runVmon(['backtest', join(dir, 'big.jsonl'), '--no-report', '--json'])).stdout);
    expect(r.totals).toMatchObject({ events: 7000, applied: 7000, rejected: 1 });
    expect(r.rejected).toEqual([{ line: 6501, index: null, reason: expect.stringMatching(/^body is not valid JSON/) }]);
  });

  it('parses CSV records with RFC 4180 quoting', () => {
    expect(parseCsvRecord('a,"b,c","d ""e""",')).toEqual(['a', 'b,c', 'd "e"', '']);
    expect(parseCsvRecord('"open')).toBe('unterminated quoted field');
    expect(parseCsvRecord('"a"b')).toMatch(/unexpected character after a quoted field/);
  });

  it('downsamples to min/max per bucket, keeping spikes and time order', () => {
    const points = Array.from({ length: 10_000 }, (_, i) => ({
      t: i,
      value: i === 5_555 ? 99 : i === 7_777 ? -99 : Math.sin(i),
    }));
    const out = downsample(points, 200);
    expect(out.length).toBeLessThanOrEqual(200);
    expect(out.some((p) => p.value === 99)).toBe(true);
    expect(out.some((p) => p.value === -99)).toBe(true);
    expect(out.every((p, i) => i === 0 || p.t > out[i - 1]!.t)).toBe(true);
  });

  it('embeds chart data so that no text in it can close the script element', () => {
    const html = renderHtmlReport({
      title: 'x</script><b>',
      charts: [{ title: '</script><script>alert(1)</script>', series: [{ name: 's', points: [{ t: 0, value: 1 }] }] }],
    });
    expect(html).not.toContain('</script><script>alert(1)');
    expect(html).toContain('<title>x&lt;/script&gt;&lt;b&gt;</title>');
  });
});
