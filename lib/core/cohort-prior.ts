// The cohort prior, pure (docs/fleet-decisions.md "Cohort prior"): the in-control baseline a new camera's
// sequential charts (cusum, ewma) arm on, carried by the cohort's existing member-record → shard summary →
// head flow. A camera's member record carries its established baseline per watched metric (level, scale);
// a shard summary carries, per metric, the median over its healthy current members; the head's summaries
// combine into the cohort prior. No new item, no new write: records and summaries are written anyway.
import { significant } from './significant.js';
import type { BaselinePrior } from './detectors/adaptive-baseline.js';
import type { SequentialBaselineState, SequentialConfig } from './detectors/standardizer.js';
import { METRICS, type MetricKind, type Modality } from './metric-event.js';
import { appliesTo, detectorConfig, type DetectorSpec, type Policy } from './policy.js';

/** Per metric: the camera's own established baseline [level, scale] (from its first sequential chart on it). */
export type MetricBaselines = Partial<Record<MetricKind, [level: number, scale: number]>>;

/** Per metric, over a shard's healthy current members: [median level, median scale, members, median |level − median level|]. */
export type ShardPrior = Partial<Record<MetricKind, [level: number, scale: number, cameras: number, spread: number]>>;

/** A cohort prior and how many healthy cameras back it. */
export interface CohortPrior extends BaselinePrior {
  cameras: number;
}

/** Weight of the prior in values: the camera's own values outweigh it after this many. */
export const PRIOR_WEIGHT = 50;
/** Fewer healthy cameras with an established baseline than this: no prior (the camera warms up alone). */
export const MIN_PRIOR_CAMERAS = 3;
/** MAD → σ for normal data. */
const MAD_TO_SIGMA = 1.4826;

export const isSequential = (spec: DetectorSpec) =>
  spec.kind === 'cusum' || spec.kind === 'ewma' || spec.kind === 'mean-shift';

/** The sequential chart's config, when its baseline is the adaptive one (the only kind a prior arms). */
export function adaptiveConfig(spec: DetectorSpec): SequentialConfig | null {
  if (!isSequential(spec)) return null;
  const c = detectorConfig(spec) as unknown as SequentialConfig;
  return c.baseline === 'frozen' ? null : c;
}

/**
 * The camera's own baseline per metric its sequential charts watch, once warmed up on its own values
 * (a baseline still leaning on a prior is not reported: the prior must not feed itself).
 */
export function cameraBaselines(det: Record<string, unknown>, modality: Modality, policy: Policy): MetricBaselines {
  const out: MetricBaselines = {};
  for (const spec of policy.detectors) {
    if (out[spec.metric] || !appliesTo(spec, modality)) continue;
    const c = adaptiveConfig(spec);
    if (!c) continue;
    const a = (det[`${spec.id}@${modality}`] as SequentialBaselineState | undefined)?.a;
    if (!a || a.n < c.warmup || !Number.isFinite(a.m) || !(a.s > 0)) continue;
    out[spec.metric] = [significant(a.m, 4), significant(a.s, 3)];
  }
  return out;
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** Median of values with weights (the lower weighted median). */
function weightedMedian(pairs: readonly [value: number, weight: number][]): number {
  const s = [...pairs].sort((a, b) => a[0] - b[0]);
  const half = s.reduce((t, [, w]) => t + w, 0) / 2;
  let acc = 0;
  for (const [v, w] of s) {
    acc += w;
    if (acc >= half) return v;
  }
  return s[s.length - 1]![0];
}

/**
 * A shard's part of the prior: per metric, medians over the members that count (healthy, active, made
 * under the shard's newest reset epoch: `counts` decides). Medians, so one odd camera cannot move it.
 */
export function summarizePrior(members: Iterable<{ p?: MetricBaselines }>): ShardPrior | undefined {
  const by = new Map<MetricKind, [number, number][]>();
  for (const m of members)
    for (const [metric, v] of Object.entries(m.p ?? {}) as [MetricKind, [number, number]][]) {
      const list = by.get(metric) ?? [];
      list.push(v);
      by.set(metric, list);
    }
  if (by.size === 0) return undefined;
  const out: ShardPrior = {};
  for (const [metric, list] of by) {
    const level = median(list.map((v) => v[0]));
    out[metric] = [
      significant(level, 4),
      significant(median(list.map((v) => v[1])), 3),
      list.length,
      significant(median(list.map((v) => Math.abs(v[0] - level))), 3),
    ];
  }
  return out;
}

/**
 * The cohort prior per metric from the head's shard summaries (the ones `counts` keeps: active, current
 * epoch). Level: the camera-weighted median of the shards' median levels. Scale: the spread a new camera's
 * first values show around that level, √(within² + between²): within = weighted median of the shards'
 * median scales; between = 1.4826 × the larger of the shards' own level spread (large shards) and the
 * shards' spread around the cohort level (shards of one or two cameras). Needs MIN_PRIOR_CAMERAS cameras.
 */
export function cohortPriors(shards: Iterable<{ p?: ShardPrior }>): Partial<Record<MetricKind, CohortPrior>> {
  const by = new Map<MetricKind, [number, number, number, number][]>();
  for (const s of shards)
    for (const [metric, v] of Object.entries(s.p ?? {}) as [MetricKind, [number, number, number, number]][]) {
      const list = by.get(metric) ?? [];
      list.push(v);
      by.set(metric, list);
    }
  const out: Partial<Record<MetricKind, CohortPrior>> = {};
  for (const [metric, list] of by) {
    const cameras = list.reduce((t, v) => t + v[2], 0);
    if (cameras < MIN_PRIOR_CAMERAS) continue;
    const level = weightedMedian(list.map((v) => [v[0], v[2]]));
    const within = weightedMedian(list.map((v) => [v[1], v[2]]));
    const between =
      MAD_TO_SIGMA *
      Math.max(
        weightedMedian(list.map((v) => [v[3], v[2]])),
        weightedMedian(list.map((v) => [Math.abs(v[0] - level), v[2]])),
      );
    const sigma = Math.hypot(within, between);
    if (!(sigma > 0)) continue;
    out[metric] = { mean: significant(level, 4), sigma: significant(sigma, 3), n: PRIOR_WEIGHT, cameras };
  }
  return out;
}

/**
 * Compact text of per-metric numbers for the cohort items (each byte of a shard or head item is paid
 * on every write to it): `<metric index>:<n>,<n>…` joined by `;`, e.g. `3:0.2031,0.0493`.
 */
export function encodeMetricNumbers(p: Partial<Record<MetricKind, readonly number[]>>): string {
  return Object.entries(p)
    .map(([metric, values]) => `${METRICS.indexOf(metric as MetricKind)}:${(values as number[]).join(',')}`)
    .join(';');
}

export function decodeMetricNumbers(text: string): Partial<Record<MetricKind, number[]>> {
  const out: Partial<Record<MetricKind, number[]>> = {};
  for (const part of text.split(';')) {
    const [index, values] = part.split(':');
    const metric = METRICS[Number(index)];
    const numbers = (values ?? '').split(',').map(Number);
    if (!metric || numbers.some((x) => !Number.isFinite(x)))
      throw new Error(`corrupt cohort baselines ${JSON.stringify(part)} in ${JSON.stringify(text)}`);
    out[metric] = numbers;
  }
  return out;
}
