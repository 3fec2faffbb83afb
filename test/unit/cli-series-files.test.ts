// Covers `timestamp,value` histories for `vmon backtest` / `vmon tune` (lib/cli/event-file.ts): the
// stream named by flags or by the file name, a clear error when something is missing, a row as a wire
// event (NAB's naive times as UTC, stable ids), a folder read whole with each file's camera its path
// inside it and rejected rows named by file and line; labels as `camera,start,end` CSV, NAB keys
// without `.csv`, and keys aligned to the cameras of a folder given deeper (lib/cli/labels.ts).
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { resolveSeries, seriesFromFileName, seriesRowToEvent } from '../../lib/cli/event-file.js';
import { alignLabels, parseLabels } from '../../lib/cli/labels.js';
import { validateEvent } from '../../lib/core/metric-event.js';
import { runVmon, tempDir } from '../integration/cli-support.js';

describe('a timestamp,value file names its stream', () => {
  it('takes camera, modality and metric from the file name, flags first', () => {
    expect(seriesFromFileName('cam07.Thermal.DriftScore.csv')).toEqual({
      camera: 'cam07',
      modality: 'Thermal',
      metric: 'DriftScore',
    });
    expect(seriesFromFileName('realTweets/Twitter_volume_AAPL.csv')).toEqual({
      camera: 'realTweets/Twitter_volume_AAPL',
    });
    expect(resolveSeries('cam07.Thermal.DriftScore.csv', { camera: 'x', metric: 'LatencyMs' }, 'f')).toEqual({
      camera: 'x',
      modality: 'Thermal',
      metric: 'LatencyMs',
    });
  });

  it('says what is missing or wrong', () => {
    expect(() => resolveSeries('speed.csv', {}, 'speed.csv')).toThrow(
      'speed.csv is a timestamp,value CSV (one stream): pass --modality, --metric or name the file <camera>.<Modality>.<Metric>.csv',
    );
    expect(() => resolveSeries('speed.csv', { modality: 'Infrared', metric: 'DriftScore' }, 'speed.csv')).toThrow(
      /modality must be one of Rgb \| Thermal \| Depth, got "Infrared"/,
    );
  });

  it('turns a row into a valid wire event: naive time as UTC, a stable id per stream and line', () => {
    const series = { camera: 'cam07', modality: 'Rgb', metric: 'DriftScore' } as const;
    const e = seriesRowToEvent(['2014-04-10 07:15:00', '0.42'], ['timestamp', 'value'], series, 5);
    expect(e).toMatchObject({ timestamp: '2014-04-10T07:15:00Z', camera_id: 'cam07', value: 0.42 });
    expect(seriesRowToEvent(['2014-04-10 07:15:00', '0.42'], ['timestamp', 'value'], series, 5).id).toBe(e.id);
    expect(seriesRowToEvent(['2014-04-10 07:15:00', '0.42'], ['timestamp', 'value'], series, 6).id).not.toBe(e.id);
    expect('event' in validateEvent(e, Date.now())).toBe(true);
    // A value that is not a number stays text, so validation names it.
    const bad = validateEvent(seriesRowToEvent(['2014-04-10T07:15:00Z', 'n/a'], ['timestamp', 'value'], series, 7), 0);
    expect(JSON.stringify(bad)).toMatch(/value must be a number, got string \\"n\/a\\"/);
  });
});

describe('labels for series', () => {
  it('reads camera,start,end CSV and NAB keys without .csv, and aligns keys to a deeper folder', () => {
    const csv = parseLabels('camera,start,end\ncam07,2014-04-10 07:00:00,2014-04-10 08:00:00\n', 'csv', 'l.csv');
    expect(csv.get('cam07')).toEqual([
      { start: Date.parse('2014-04-10T07:00:00Z'), end: Date.parse('2014-04-10T08:00:00Z') },
    ]);
    const nab = parseLabels(JSON.stringify({ 'realTweets/x.csv': [], 'realTweets/y.csv': [] }), 'json', 'l.json');
    expect([...nab.keys()]).toEqual(['realTweets/x', 'realTweets/y']);
    expect([...alignLabels(nab, ['x', 'other']).keys()]).toEqual(['x', 'realTweets/y']);
    // Ambiguous tails stay as they are.
    expect([...alignLabels(nab, ['a/x', 'b/x']).keys()]).toEqual(['realTweets/x', 'realTweets/y']);
  });
});

describe('vmon backtest of a folder of timestamp,value files', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await tempDir();
    await mkdir(join(dir, 'data', 'site'), { recursive: true });
    const rows = (level: (i: number) => number) =>
      `timestamp,value\n${Array.from({ length: 40 }, (_, i) => `2026-01-05 00:${String(i).padStart(2, '0')}:00,${level(i)}`).join('\n')}\n`;
    await writeFile(
      join(dir, 'data', 'site', 'cam-hot.csv'),
      rows((i) => (i >= 20 ? 0.95 : 0.2)),
    );
    await writeFile(join(dir, 'data', 'site', 'cam-ok.csv'), rows(() => 0.2).replace('0.2\n', '-1\n'));
    await writeFile(
      join(dir, 'labels.json'),
      JSON.stringify({
        'data/site/cam-hot.csv': [['2026-01-05 00:20:00', '2026-01-05 00:39:00']],
        'data/site/cam-ok.csv': [],
      }),
    );
  });

  it('reads every file, names cameras by path, scores against NAB-style labels, names rejected rows', async () => {
    const r = await runVmon([
      'backtest',
      join(dir, 'data'),
      '--modality',
      'Rgb',
      '--metric',
      'DriftScore',
      '--labels',
      join(dir, 'labels.json'),
      '--json',
    ]);
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.totals).toMatchObject({ cameras: 2, events: 79, rejected: 1 });
    expect(out.rejected).toEqual([
      {
        file: join(dir, 'data', 'site', 'cam-ok.csv'),
        line: 2,
        index: null,
        reason: 'value -1 must be >= 0 for DriftScore',
      },
    ]);
    expect(
      out.triggers.map((t: { cameraId: string; detailType: string }) => [t.cameraId, t.detailType]),
    ).toContainEqual(['site/cam-hot', 'RetrainingRequested']);
    const all = out.scores.find((s: { detector: string }) => s.detector === '(all detectors)');
    expect(all).toMatchObject({ windows: 1, detected: 1 });
  });

  it('refuses a timestamp,value file whose stream it cannot name, exit 2', async () => {
    const r = await runVmon(['backtest', join(dir, 'data', 'site', 'cam-hot.csv'), '--json']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/is a timestamp,value CSV \(one stream\): pass --modality, --metric/);
  });
});
