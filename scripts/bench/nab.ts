// (6b) The shipped sequential charts on the NAB development subset (test/fixtures/nab-dev, MIT,
// Numenta): each series becomes one camera's DriftScore stream (camera_id = the series' key in
// labels.json without .csv, read as `vmon backtest <folder>` reads a timestamp,value file), replayed through the backtest path (Backtest → applyEvents, as `vmon backtest`)
// and scored against the labelled windows (lib/core/scoring.ts, NAB standard profile).
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { backtestEvents } from '../../lib/cli/backtest.js';
import { ALL_DETECTORS, scoreBacktest, type DetectorScore } from '../../lib/cli/backtest-score.js';
import { parseCsvRecord, resolveSeries, seriesRowToEvent } from '../../lib/cli/event-file.js';
import { parseLabels } from '../../lib/cli/labels.js';
import type { MetricEvent } from '../../lib/core/metric-event.js';
import { parsePolicy, type Policy, type PolicyInput } from '../../lib/core/policy.js';
import { PROJECT_ROOT } from '../../lib/local/moto-server.js';

export const NAB_DIR = join(PROJECT_ROOT, 'test/fixtures/nab-dev');
export const SEQUENTIAL_KINDS = ['cusum', 'ewma'] as const;

export interface NabSeries {
  /** the series' key in labels.json without .csv, e.g. realTweets/Twitter_volume_AAPL */
  camera: string;
  times: number[];
  values: number[];
}

/** Reads every series of the subset, rows in file order; NAB's naive times are read as UTC. */
export function readNab(dir = NAB_DIR): NabSeries[] {
  const out: NabSeries[] = [];
  for (const category of readdirSync(join(dir, 'data')).sort())
    for (const file of readdirSync(join(dir, 'data', category)).sort()) {
      const [head, ...lines] = readFileSync(join(dir, 'data', category, file), 'utf8')
        .trim()
        .split('\n');
      const header = (parseCsvRecord(head!) as string[]).map((c) => c.trim());
      const series = resolveSeries(`${category}/${file}`, { modality: 'Rgb', metric: 'DriftScore' }, file);
      const times: number[] = [],
        values: number[] = [];
      lines.forEach((line, i) => {
        const e = seriesRowToEvent(parseCsvRecord(line) as string[], header, series, i + 2);
        times.push(Date.parse(e.timestamp as string));
        values.push(e.value as number);
      });
      out.push({ camera: series.camera, times, values });
    }
  return out;
}

const hex = (n: number, width: number) => (n >>> 0).toString(16).padStart(width, '0').slice(-width);

/**
 * One DriftScore event per row. DriftScore must be ≥ 0, so a series with negative values (1 of 28)
 * is shifted up by a constant; the charts standardize, so a shift changes nothing else.
 */
export function nabEvents(series: NabSeries[]): MetricEvent[] {
  const events: MetricEvent[] = [];
  series.forEach((s, k) => {
    const shift = Math.max(0, -Math.min(...s.values));
    s.values.forEach((value, i) => {
      events.push({
        id: `${hex(k, 8)}-0000-4000-8000-${hex(i, 12)}`,
        timestamp: new Date(s.times[i]!).toISOString(),
        ts: s.times[i]!,
        camera_id: s.camera,
        modality: 'Rgb',
        metric: 'DriftScore',
        value: value + shift,
      } as MetricEvent);
    });
  });
  return events;
}

/** The shipped kinds at their schema defaults, both directions, cooldown 0. */
export function nabPolicy(kinds: readonly string[] = SEQUENTIAL_KINDS, over: Record<string, unknown> = {}): Policy {
  return parsePolicy({
    id: 'nab-dev',
    detectors: kinds.flatMap((kind) =>
      (['up', 'down'] as const).map((direction) => ({
        id: `${kind}-${direction}`,
        kind,
        metric: 'DriftScore',
        action: 'HyperparameterTuningRequested',
        direction,
        ...over,
      })),
    ) as PolicyInput['detectors'],
    cooldownSeconds: 0,
  });
}

export function scoreNab(policy: Policy, dir = NAB_DIR, series = readNab(dir)): DetectorScore[] {
  const labels = parseLabels(readFileSync(join(dir, 'labels.json'), 'utf8'), 'json', 'labels.json');
  const result = backtestEvents(nabEvents(series), () => policy);
  return scoreBacktest(result, labels, () => policy);
}

export interface NabBench {
  /** all shipped sequential kinds together, both directions */
  standardScore: number;
  all: DetectorScore;
  /** per kind (both directions together): false alarms per 1,000 events outside the windows */
  falseAlarmsPer1k: Record<string, number>;
  /** firings outside windows on the artificialNoAnomaly daily-cycle series */
  noAnomalyDailyFirings: number;
}

export function benchNab(dir = NAB_DIR): NabBench {
  const series = readNab(dir);
  const scores = scoreNab(nabPolicy(), dir, series);
  const all = scores.find((s) => s.detector === ALL_DETECTORS)!;
  // The detectors of one policy run independently (cooldown 0, no escalation): each kind's rate is
  // the sum of its two directions' rows.
  const falseAlarmsPer1k: Record<string, number> = {};
  for (const kind of SEQUENTIAL_KINDS)
    falseAlarmsPer1k[kind] = scores
      .filter((s) => s.detector.startsWith(`${kind}-`))
      .reduce((a, s) => a + s.falseAlarmsPer1k, 0);
  const daily = series.filter((s) => s.camera.startsWith('artificialNoAnomaly/art_daily'));
  const noAnomalyDailyFirings = scoreNab(nabPolicy(), dir, daily).find(
    (s) => s.detector === ALL_DETECTORS,
  )!.falseAlarms;
  return { standardScore: all.nabScore, all, falseAlarmsPer1k, noAnomalyDailyFirings };
}
