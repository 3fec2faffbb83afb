// The baseline a new camera's sequential charts start from (the `prior` of cusum and ewma):
// the fleet's typical in-control level and spread of a metric, per group of cameras. Today the
// group is the modality (the fleet for the modality); the key function is the seam where the
// cohort (model version + modality, issue 12) replaces it. Pure: events in, priors out.
import type { MetricEvent, MetricKind, Modality } from './metric-event.js';
import type { BaselinePrior } from './detectors/adaptive-baseline.js';

/** Weight of the prior in values: the camera's own values outweigh it after this many. */
export const PRIOR_WEIGHT = 50;

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

/**
 * Per group: the median over cameras of each camera's mean and standard deviation of `metric`
 * (medians, so a few drifting cameras do not move the prior). Cameras with fewer than
 * `minValues` values are left out; groups with no camera left get no prior.
 */
export function fleetPriors<K extends string = Modality>(
  events: Iterable<MetricEvent>,
  metric: MetricKind,
  keyOf: (e: MetricEvent) => K = (e) => e.modality as K,
  minValues = 20,
): Map<K, BaselinePrior> {
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
  const out = new Map<K, BaselinePrior>();
  for (const [key, cams] of acc) {
    const ok = [...cams.values()].filter((w) => w.n >= minValues);
    if (ok.length === 0) continue;
    const sigma = median(ok.map((w) => Math.sqrt(w.m2 / (w.n - 1))));
    if (!(sigma > 0)) continue;
    out.set(key, { mean: median(ok.map((w) => w.mean)), sigma, n: PRIOR_WEIGHT });
  }
  return out;
}
