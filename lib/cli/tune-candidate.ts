// One `vmon tune` candidate: its search policy (the chart alone, cooldown 0), its replay (every camera
// alone) and its scored series against the labels. Apart from tune.ts so that the distributed tune's
// shard step (lib/replay-cloud/tune-steps.ts) runs the same code without the CLI's worker threads.
import type { MetricEvent, MetricKind } from '../core/metric-event.js';
import { DEFAULT_POLICY, harmfulDirection, parsePolicy, type Policy, type PolicyInput } from '../core/policy.js';
import { summarize, type SeriesScore } from '../core/scoring.js';
import { replayCameras } from '../replay/engine.js';
import { ALL_DETECTORS, scoreSeriesByDetector, type DetectorScore } from './backtest-score.js';
import type { Labels } from './labels.js';

export type TunedKind = 'cusum' | 'ewma' | 'mean-shift';

export interface TuneCandidate {
  kind: TunedKind;
  params: Record<string, number>;
  score: DetectorScore;
  falseAlarmsPerCameraWeek: number;
  /** outside the labelled windows, per 1,000 events: what --budget bounds */
  falseAlarmsPer1k: number;
  withinBudget: boolean;
}

export interface TuneOptions {
  kinds: TunedKind[];
  metric: MetricKind;
  budget: number;
  direction?: 'up' | 'down' | 'both';
  id?: string;
  /** the policy to start from (the scope's current one); the built-in default when absent */
  base?: Policy;
}

export type GridPoint = { kind: TunedKind; params: Record<string, number> };

/**
 * A candidate's chart: the base policy's chart of the same kind on the metric, if any, keeps its other
 * settings (warm-up, adaptRate, gates, first-day rule), so the policy written is the one searched.
 * A mean-shift decision's parameter is the policy's budget for the metric, not a field of its own.
 */
export const specOf = (opts: TuneOptions, kind: TunedKind, params: Record<string, number>) => {
  const like = (opts.base ?? DEFAULT_POLICY).detectors.find((d) => d.kind === kind && d.metric === opts.metric);
  const {
    id: _id,
    action: _action,
    escalate: _escalate,
    prior: _prior,
    ...settings
  } = (like ?? {}) as Record<string, unknown>;
  return {
    ...settings,
    id: `${opts.metric.toLowerCase()}-${kind}`,
    kind,
    metric: opts.metric,
    action: 'RetrainingRequested' as const,
    direction: opts.direction ?? harmfulDirection(opts.metric),
    ...(kind === 'mean-shift' ? {} : params),
  };
};
export const budgetOf = (opts: TuneOptions, kind: TunedKind, params: Record<string, number>, base?: Policy) =>
  kind === 'mean-shift'
    ? {
        falseAlarmBudget: {
          ...(base?.falseAlarmBudget ?? {}),
          byMetric: { ...base?.falseAlarmBudget.byMetric, [opts.metric]: params.budget },
        },
      }
    : {};

/** The policy a candidate is searched with: its chart alone, cooldown 0 and a non-retrain action (every firing seen). */
export const searchPolicy = (opts: TuneOptions, { kind, params }: GridPoint): Policy =>
  parsePolicy({
    id: 'tune',
    detectors: [{ ...specOf(opts, kind, params), action: 'HyperparameterTuningRequested' }],
    ...budgetOf(opts, kind, params),
    cooldownSeconds: 0,
    retrainScope: 'camera', // scored per camera against its labels
  } as PolicyInput);

/** The candidate's scored series (all detectors together), camera by camera in the events' order. */
export function candidateSeries(
  events: Iterable<MetricEvent>,
  labels: Labels,
  point: GridPoint,
  opts: TuneOptions,
): [camera: string, score: SeriesScore][] {
  const policy = searchPolicy(opts, point);
  const r = replayCameras(events, {
    policies: () => policy,
    keepEventsPerCamera: Number.POSITIVE_INFINITY,
    keepStates: false,
  });
  const result = { triggers: r.triggers, eventsByCamera: new Map(r.events ?? []) };
  return scoreSeriesByDetector(result, labels, () => policy).get(ALL_DETECTORS) ?? [];
}

/** The candidate from its series (summed in this order); none when no series watched the metric. */
export function candidateOf(
  point: GridPoint,
  series: readonly SeriesScore[],
  budget: number,
): TuneCandidate | undefined {
  if (series.length === 0) return undefined;
  const score: DetectorScore = { detector: ALL_DETECTORS, ...summarize(series) };
  return {
    kind: point.kind,
    params: point.params,
    score,
    falseAlarmsPerCameraWeek: score.falseAlarmsPerDay * 7,
    falseAlarmsPer1k: score.falseAlarmsPer1k,
    withinBudget: score.falseAlarmsPer1k <= budget,
  };
}
