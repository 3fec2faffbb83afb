// The baseline a new camera's sequential charts start from (the `prior` of cusum and ewma), computed
// offline from a history (`vmon tune`): per group of cameras, the same robust combination the live
// cohort prior uses (lib/core/cohort-prior.ts: median level, √(within² + between²) spread). The group is
// the cohort (model version + modality) for cameras that report a model version (live, their prior comes
// from the cohort head, no policy needed), the modality for cameras that do not (they have no cohort, so
// a `modality:<m>` policy prior is their only one). Pure: events in, priors out.
import type { MetricEvent, MetricKind, Modality } from './metric-event.js';
import type { BaselinePrior } from './detectors/adaptive-baseline.js';
import { cohortPriors, summarizePrior, type CohortPrior } from './cohort-prior.js';

export { PRIOR_WEIGHT } from './cohort-prior.js';

/** The group a camera's prior comes from: its cohort (`<model version>#<modality>`), else its modality. */
export const priorGroupOf = (e: MetricEvent): string =>
  e.model_version === undefined ? e.modality : `${e.model_version}#${e.modality}`;

/**
 * Per group: the cohort-prior combination over cameras of each camera's mean and standard deviation of
 * `metric` (medians, so a few drifting cameras do not move the prior). Cameras with fewer than
 * `minValues` values are left out; groups with fewer cameras than the live prior needs get none.
 */
export function fleetPriors<K extends string = string>(
  events: Iterable<MetricEvent>,
  metric: MetricKind,
  keyOf: (e: MetricEvent) => K = priorGroupOf as (e: MetricEvent) => K,
  minValues = 20,
): Map<K, CohortPrior> {
  const acc = new Map<K, Map<string, { n: number; mean: number; m2: number }>>();
  for (const e of events) {
    if (e.metric !== metric) continue;
    const key = keyOf(e);
    let cams = acc.get(key);
    if (!cams) acc.set(key, (cams = new Map()));
    const w = cams.get(e.camera_id) ?? { n: 0, mean: 0, m2: 0 };
    w.n += 1;
    const d = e.value - w.mean;
    w.mean += d / w.n;
    w.m2 += d * (e.value - w.mean);
    cams.set(e.camera_id, w);
  }
  const out = new Map<K, CohortPrior>();
  for (const [key, cams] of acc) {
    const members = [...cams.values()]
      .filter((w) => w.n >= minValues)
      .map((w) => ({ p: { [metric]: [w.mean, Math.sqrt(w.m2 / (w.n - 1))] as [number, number] } }));
    const prior = cohortPriors([{ p: summarizePrior(members) }])[metric];
    if (prior) out.set(key, prior);
  }
  return out;
}

/**
 * What `vmon tune` can put in policies: a `modality:<m>` prior only for modalities none of whose cameras
 * report a model version. A policy prior wins over the live cohort prior, so writing one for a modality
 * with cohorts would pin every camera of it to an offline, fleet-wide baseline; those get theirs live.
 */
export function policyPriors(
  events: readonly MetricEvent[],
  metric: MetricKind,
): { modalities: Map<Modality, BaselinePrior>; cohorts: Map<string, CohortPrior> } {
  const withCohort = new Set(events.filter((e) => e.model_version !== undefined).map((e) => e.modality));
  const modalities = new Map<Modality, BaselinePrior>();
  const cohorts = new Map<string, CohortPrior>();
  for (const [key, prior] of fleetPriors(events, metric)) {
    if (key.includes('#')) cohorts.set(key, prior);
    else if (!withCohort.has(key as Modality))
      modalities.set(key as Modality, { mean: prior.mean, sigma: prior.sigma, n: prior.n });
  }
  return { modalities, cohorts };
}
