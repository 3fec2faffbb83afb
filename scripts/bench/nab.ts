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
/** The shipped per-metric decision. */
export const DECISION_KIND = 'mean-shift';

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

/**
 * The shipped per-metric decision (`mean-shift`, both directions) at its schema defaults and the
 * default budget, or single charts (`cusum`, `ewma`: one per direction), cooldown 0.
 */
export function nabPolicy(
  kinds: readonly string[] = [DECISION_KIND],
  over: Record<string, unknown> = {},
  falseAlarmsPer1k?: number,
): Policy {
  return parsePolicy({
    id: 'nab-dev',
    detectors: kinds.flatMap((kind) =>
      (kind === DECISION_KIND ? (['both'] as const) : (['up', 'down'] as const)).map((direction) => ({
        id: `${kind}-${direction}`,
        kind,
        metric: 'DriftScore',
        action: 'HyperparameterTuningRequested',
        direction,
        ...over,
      })),
    ) as PolicyInput['detectors'],
    cooldownSeconds: 0,
    ...(falseAlarmsPer1k !== undefined ? { falseAlarmBudget: { per1kEvaluations: falseAlarmsPer1k } } : {}),
  });
}

export function scoreNab(policy: Policy, dir = NAB_DIR, series = readNab(dir)): DetectorScore[] {
  const labels = parseLabels(readFileSync(join(dir, 'labels.json'), 'utf8'), 'json', 'labels.json');
  const result = backtestEvents(nabEvents(series), () => policy);
  return scoreBacktest(result, labels, () => policy);
}

export interface NabBench {
  /** the shipped decision (mean-shift, both directions) at the default budget */
  standardScore: number;
  all: DetectorScore;
  /** the decision's firings per 1,000 events outside the windows, and its budget */
  falseAlarmsPer1k: number;
  budgetPer1k: number;
  /** firings outside windows on the artificialNoAnomaly daily-cycle series */
  noAnomalyDailyFirings: number;
  /** the previous shipped charts (cusum and ewma, both directions, schema defaults), for reference */
  singleCharts: { standardScore: number; all: DetectorScore };
}

export function benchNab(dir = NAB_DIR): NabBench {
  const series = readNab(dir);
  const policy = nabPolicy();
  const all = scoreNab(policy, dir, series).find((s) => s.detector === ALL_DETECTORS)!;
  const daily = series.filter((s) => s.camera.startsWith('artificialNoAnomaly/art_daily'));
  const noAnomalyDailyFirings = scoreNab(policy, dir, daily).find((s) => s.detector === ALL_DETECTORS)!.falseAlarms;
  const single = scoreNab(nabPolicy(SEQUENTIAL_KINDS), dir, series).find((s) => s.detector === ALL_DETECTORS)!;
  return {
    standardScore: all.nabScore,
    all,
    falseAlarmsPer1k: all.falseAlarmsPer1k,
    budgetPer1k: policy.falseAlarmBudget.per1kEvaluations,
    noAnomalyDailyFirings,
    singleCharts: { standardScore: single.nabScore, all: single },
  };
}
