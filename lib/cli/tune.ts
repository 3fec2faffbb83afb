// `vmon tune`: searches the parameters of the sequential charts on a labelled history. Each
// candidate is backtested (the production core, cooldown 0) and scored against the windows; among
// the candidates within the false-alarm budget (false alarms per 1,000 evaluations outside the labelled
// windows, the notion of the policy's `falseAlarmBudget`) the one that detects the most
// windows, then with the shortest median delay, wins. The result is a complete policy `vmon policy put`
// accepts: the base policy (the scope's current one, or the default) with only the tuned chart replaced,
// described by its own backtest as written (scoreAsWritten). And scoped policies: `fleet`, plus a `modality:<m>` entry whose chart carries the fleet's
// baseline of that modality as prior, for modalities whose cameras report no model version (they have
// no cohort). Cameras with one get their cohort's prior live (lib/core/cohort-prior.ts), which a policy
// prior would override; their cohorts' offline priors are in the result (`cohortPriors`) for reference.
import type { MetricEvent, MetricKind, Modality } from '../core/metric-event.js';
import { DEFAULT_POLICY, parsePolicy, type Policy, type PolicyInput } from '../core/policy.js';
import { policyPriors } from '../core/priors.js';
import type { CohortPrior } from '../core/cohort-prior.js';
import type { ReportDocument } from '../report/html-report.js';
import { WorkerPool } from '../replay/parallel.js';
import { backtestEventsWithCohorts, readHistory } from './backtest.js';
import type { EventFileFormat, SeriesOptions } from './event-file.js';
import { SCORE_COLUMNS, scoreBacktest, scoreRow, type DetectorScore } from './backtest-score.js';
import {
  budgetOf,
  candidateOf,
  candidateSeries,
  specOf,
  type GridPoint,
  type TuneCandidate,
  type TunedKind,
  type TuneOptions,
} from './tune-candidate.js';
import type { Labels } from './labels.js';
import { num } from './format.js';

export type { TuneCandidate, TunedKind, TuneOptions } from './tune-candidate.js';

/** The search grid: thresholds from sensitive to conservative, at the usual reference values. */
export const TUNE_GRID: Record<TunedKind, Record<string, number>[]> = {
  cusum: [0.25, 0.5, 1].flatMap((k) => [3, 3.5, 4, 4.5, 5, 6, 7, 8, 10, 12].map((h) => ({ k, h }))),
  ewma: [0.05, 0.1, 0.15, 0.2].flatMap((lambda) =>
    [2.2, 2.5, 2.75, 3, 3.3, 3.6, 4, 4.5, 5].map((L) => ({ lambda, L })),
  ),
  // The decision's nominal budget (its thresholds derive from it): real streams fire more than
  // i.i.d. noise, so the history says which nominal budget keeps the measured rate within --budget.
  'mean-shift': [0.02, 0.05, 0.1, 0.2, 0.35, 0.5, 0.75, 1, 1.5, 2, 3].map((budget) => ({ budget })),
};

export interface TuneResult {
  metric: MetricKind;
  budget: number;
  candidates: TuneCandidate[];
  best: TuneCandidate | null;
  policy: Policy | null;
  /** fleet, plus one modality entry per modality without cohorts, whose detector carries the prior */
  scopedPolicies: Record<string, Policy> | null;
  /** The cohorts' baselines in the history (`<model version>#<modality>`): live, their cameras get these from the cohort head. */
  cohortPriors: Record<string, CohortPrior>;
  /** The id of the tuned detector in `policy`, and the base detectors it replaced. */
  tunedDetector: string | null;
  replaced: string[];
}

type DetectorInput = PolicyInput['detectors'][number];

/**
 * `base` with its sequential charts (cusum, ewma, mean-shift) on `tuned.metric` replaced by `tuned`, in
 * the place of the first one; escalation references to them point at `tuned`. Every other detector and
 * setting is kept (a tuned mean-shift brings its budget for the metric in `extra`).
 */
export function completePolicy(
  base: Policy,
  tuned: DetectorInput & { id: string; metric: MetricKind },
  extra: { id: string; description: string; falseAlarmBudget?: PolicyInput['falseAlarmBudget'] },
): { policy: Policy; replaced: string[] } {
  const isTuned = (d: Policy['detectors'][number]) =>
    (d.kind === 'cusum' || d.kind === 'ewma' || d.kind === 'mean-shift') && d.metric === tuned.metric;
  const replaced = base.detectors.filter(isTuned).map((d) => d.id);
  const detectors: DetectorInput[] = [];
  let placed = false;
  for (const d of base.detectors) {
    if (isTuned(d)) {
      if (!placed) detectors.push(tuned);
      placed = true;
      continue;
    }
    const refs = d.escalate?.ifFiring;
    const ifFiring = refs && [...new Set(refs.map((r) => (replaced.includes(r) ? tuned.id : r)))];
    detectors.push((ifFiring ? { ...d, escalate: { ...d.escalate!, ifFiring } } : d) as DetectorInput);
  }
  if (!placed) detectors.push(tuned);
  return {
    policy: parsePolicy({ ...base, ...extra, detectors } as PolicyInput),
    replaced,
  };
}

const label = (c: Pick<TuneCandidate, 'kind' | 'params'>) =>
  `${c.kind} ${Object.entries(c.params)
    .map(([k, v]) => `${k}=${v}`)
    .join(' ')}`;

/** The candidates of the search, in the grid's order. */
export const tuneGrid = (kinds: readonly TunedKind[]) =>
  kinds.flatMap((kind) => TUNE_GRID[kind].map((params) => ({ kind, params })));

/** Each candidate replayed (the engine, every camera alone) and scored against the labels. */
export function evaluateCandidates(
  events: readonly MetricEvent[],
  labels: Labels,
  grid: readonly GridPoint[],
  opts: TuneOptions,
): TuneCandidate[] {
  return grid
    .map((point) =>
      candidateOf(
        point,
        candidateSeries(events, labels, point, opts).map(([, s]) => s),
        opts.budget,
      ),
    )
    .filter((c): c is TuneCandidate => c !== undefined);
}

/** A worker's share of the candidates: it reads the history itself (lib/replay/parallel.ts). */
export async function evaluateCandidatesTask(args: {
  file: string;
  format: EventFileFormat;
  series?: SeriesOptions;
  labels: Labels;
  grid: { kind: TunedKind; params: Record<string, number> }[];
  opts: TuneOptions;
}): Promise<TuneCandidate[]> {
  const { events } = await readHistory(args.file, args.format, args.series);
  return evaluateCandidates(events, args.labels, args.grid, args.opts);
}

/** The candidates spread over `workers` worker threads, each reading the file once; the grid's order kept. */
export async function evaluateCandidatesParallel(
  file: string,
  format: EventFileFormat,
  labels: Labels,
  opts: TuneOptions,
  workers: number,
  series?: SeriesOptions,
): Promise<TuneCandidate[]> {
  const grid = tuneGrid(opts.kinds);
  const shares = Array.from({ length: Math.min(workers, grid.length) }, (_, w) =>
    grid.filter((_, i) => i % workers === w),
  );
  const pool = new WorkerPool(shares.length);
  try {
    const done = await Promise.all(
      shares.map((share) =>
        pool.call<TuneCandidate[]>(import.meta.url, 'evaluateCandidatesTask', {
          file,
          format,
          ...(series ? { series } : {}),
          labels,
          grid: share,
          // The base policy goes along: a candidate keeps the settings of its kind's chart in it (specOf).
          opts,
        }),
      ),
    );
    // Back in the grid's order (a candidate without a score is left out, as in one process).
    const key = (c: { kind: string; params: Record<string, number> }) => `${c.kind} ${JSON.stringify(c.params)}`;
    const byKey = new Map(done.flat().map((c) => [key(c), c]));
    return grid.map((g) => byKey.get(key(g))).filter((c): c is TuneCandidate => c !== undefined);
  } finally {
    await pool.close();
  }
}

export function tune(
  events: readonly MetricEvent[],
  labels: Labels,
  opts: TuneOptions,
  candidates: TuneCandidate[] = evaluateCandidates(events, labels, tuneGrid(opts.kinds), opts),
): TuneResult {
  const ranked = candidates
    .filter((c) => c.withinBudget)
    .sort(
      (a, b) =>
        b.score.detected - a.score.detected ||
        (a.score.delayMedianMs ?? Infinity) - (b.score.delayMedianMs ?? Infinity) ||
        a.falseAlarmsPer1k - b.falseAlarmsPer1k,
    );
  const best = ranked[0] ?? null;
  const priors = policyPriors(events, opts.metric);
  const cohortPriors = Object.fromEntries(priors.cohorts);
  if (!best)
    return {
      metric: opts.metric,
      budget: opts.budget,
      candidates,
      best,
      policy: null,
      scopedPolicies: null,
      cohortPriors,
      tunedDetector: null,
      replaced: [],
    };
  const base = opts.base ?? DEFAULT_POLICY;
  const tunedId = specOf(opts, best.kind, best.params).id;
  const policyInput = (prior?: { mean: number; sigma: number; n: number }) =>
    completePolicy(
      base,
      { ...specOf(opts, best.kind, best.params), ...(prior ? { prior } : {}) } as DetectorInput & {
        id: string;
        metric: MetricKind;
      },
      {
        id: opts.id ?? 'tuned',
        description: `vmon tune: ${label(best)} on ${opts.metric} in place of the sequential charts of ${base.id}; in the search (every firing, cooldown 0): ${searchSummary(best, opts.budget)}`,
        ...budgetOf(opts, best.kind, best.params, base),
      },
    );
  const { policy, replaced } = policyInput();
  const scopedPolicies: Record<string, Policy> = { fleet: policy };
  for (const [modality, prior] of priors.modalities)
    scopedPolicies[`modality:${modality satisfies Modality}`] = policyInput(prior).policy;
  return {
    metric: opts.metric,
    budget: opts.budget,
    candidates,
    best,
    policy,
    scopedPolicies,
    cohortPriors,
    tunedDetector: tunedId,
    replaced,
  };
}

const delayText = (ms: number | null) => (ms === null ? '-' : `${num(ms / 60_000)} min`);
const searchSummary = (c: TuneCandidate, budget: number) =>
  `${num(c.falseAlarmsPer1k)} false alarms per 1,000 evaluations (budget ${budget}), ${c.score.detected}/${c.score.windows} windows, median delay ${delayText(c.score.delayMedianMs)}`;

/**
 * The tuned detector's score when the written policy is backtested as `vmon backtest --policy <it>
 * --labels` does (same path: cohorts included; its cooldown and actions as written).
 */
export async function scoreAsWritten(
  policy: Policy,
  detectorId: string,
  events: readonly MetricEvent[],
  labels: Labels,
): Promise<DetectorScore | null> {
  const result = await backtestEventsWithCohorts(events, () => policy);
  return scoreBacktest(result, labels, () => policy).find((s) => s.detector === detectorId) ?? null;
}

/** The policy with its description saying what a backtest of it as written gives. */
export function describeAsWritten(policy: Policy, detectorId: string, written: DetectorScore | null): Policy {
  const asWritten = written
    ? `as written (cooldown ${policy.cooldownSeconds} s; vmon backtest --policy on this history scores ${detectorId}): ${num(written.falseAlarmsPer1k)} false alarms per 1,000 evaluations, ${written.detected}/${written.windows} windows, median delay ${delayText(written.delayMedianMs)}`
    : `as written: ${detectorId} fired on no labelled camera`;
  return { ...policy, description: `${policy.description}; ${asWritten}` };
}

export const TUNE_COLUMNS = [
  'CANDIDATE',
  'FALSE ALARMS / 1,000',
  'FALSE ALARMS / CAMERA-WEEK',
  'WITHIN BUDGET',
  ...SCORE_COLUMNS.slice(1),
];
export const tuneRow = (c: TuneCandidate) => [
  label(c),
  num(c.falseAlarmsPer1k),
  num(c.falseAlarmsPerCameraWeek),
  c.withinBudget ? 'yes' : 'no',
  ...scoreRow(c.score).slice(1),
];

/** The report: the chosen policy, the trade-off curve (false alarms vs delay) and every candidate. */
export function tuneReport(r: TuneResult, source: string): ReportDocument {
  const byKind = new Map<string, { t: number; value: number }[]>();
  for (const c of r.candidates) {
    if (c.score.delayMedianMs === null) continue;
    const pts = byKind.get(c.kind) ?? [];
    pts.push({ t: c.falseAlarmsPer1k, value: c.score.delayMedianMs / 60_000 });
    byKind.set(c.kind, pts);
  }
  return {
    title: 'vmon tune',
    subtitle: `${source} · ${r.metric} · budget ${r.budget} false alarms per 1,000 evaluations`,
    summary: [
      { label: 'candidates', value: r.candidates.length },
      { label: 'within budget', value: r.candidates.filter((c) => c.withinBudget).length },
      { label: 'chosen', value: r.best ? label(r.best) : 'none meets the budget' },
    ],
    tables: [
      {
        title: 'Candidates (chosen first)',
        columns: TUNE_COLUMNS,
        rows: [...(r.best ? [r.best] : []), ...r.candidates.filter((c) => c !== r.best)].map(tuneRow),
      },
    ],
    charts: [
      {
        title: 'Trade-off: false alarms per 1,000 evaluations → median detection delay (minutes)',
        xType: 'value',
        xName: 'false alarms per 1,000 evaluations',
        yName: 'median delay (min)',
        series: [...byKind].map(([kind, points]) => ({
          name: kind,
          points: points.sort((a, b) => a.t - b.t),
        })),
        thresholds: [],
        events: [{ t: r.budget, label: 'budget' }],
      },
    ],
  };
}
