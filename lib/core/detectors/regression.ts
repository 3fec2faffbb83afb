// Performance regression on Accuracy / Precision / Recall. Direction-aware: only drops count.
// - Baseline: the sample-weighted mean of the first `baselineSamples` labelled samples after each
//   model_version change (or after a ModelDeployed / RetrainingCompleted reset).
// - Current: an exponentially weighted, sample-weighted mean (half-life in labelled samples).
// - Fires when current is `drop` below baseline AND the drop is significant (two-sample z-test on
//   proportions with the baseline and current labelled-sample counts), so neither tiny samples (noise) nor huge
//   ones (trivial differences) raise alarms. Values without sample_count carry no labelled weight.
// - One value weighs at most `maxValueWeight` labelled samples (default a quarter of the baseline), so
//   no single event can make the baseline or the current estimate on its own.
import { significant } from '../significant.js';
import type { Detector } from './detector.js';

export interface RegressionConfig {
  baselineSamples: number;
  minSamples: number;
  drop: number;
  z: number;
  halfLifeSamples: number;
  hysteresis: number;
  /** Most labelled samples one value counts for (default baselineSamples × DEFAULT_VALUE_WEIGHT_SHARE). */
  maxValueWeight?: number;
}

/** A baseline rests on at least four values: one value counts for at most a quarter of it. */
export const DEFAULT_VALUE_WEIGHT_SHARE = 0.25;

export interface RegressionState {
  /** model_version the baseline belongs to */
  mv?: string;
  /** baseline labelled samples and sum of value × samples */
  bn: number;
  bs: number;
  /** current (exponentially weighted) labelled samples and weighted sum */
  cn: number;
  cs: number;
}

// Two literals, not a spread: a state made by spreading came out as a slow dictionary object.
const fresh = (mv: string | undefined): RegressionState =>
  mv !== undefined ? { mv, bn: 0, bs: 0, cn: 0, cs: 0 } : { bn: 0, bs: 0, cn: 0, cs: 0 };

// A value's weight is mostly the same from event to event (its sample count): its decay is kept.
let lastWeight = Number.NaN,
  lastHalfLife = Number.NaN,
  lastDecay = 1;
function decayFor(n: number, halfLife: number): number {
  if (n !== lastWeight || halfLife !== lastHalfLife) {
    lastWeight = n;
    lastHalfLife = halfLife;
    lastDecay = 2 ** (-n / halfLife);
  }
  return lastDecay;
}

export const regression: Detector<RegressionConfig, RegressionState> = {
  kind: 'regression',
  windowSize: () => 0,
  update(state, input, c) {
    let st = state ?? fresh(input.event.model_version);
    if (input.outcome !== 'newest') return { state: st, evaluation: null };
    const e = input.event;
    if (e.model_version !== undefined && e.model_version !== st.mv) st = fresh(e.model_version);
    const n = Math.min(e.sample_count ?? 0, c.maxValueWeight ?? c.baselineSamples * DEFAULT_VALUE_WEIGHT_SHARE);
    if (n === 0) return { state: st, evaluation: null };
    if (st.bn < c.baselineSamples) {
      st.bn += n;
      st.bs = significant(st.bs + e.value * n, 7);
      return { state: st, evaluation: null };
    }
    const decay = decayFor(n, c.halfLifeSamples);
    st.cn = significant(st.cn * decay + n, 7);
    st.cs = significant(st.cs * decay + e.value * n, 7);
    if (st.cn < c.minSamples) return { state: st, evaluation: null };
    const baseline = st.bs / st.bn;
    const current = st.cs / st.cn;
    const drop = baseline - current;
    const p = Math.min(1 - 1e-4, Math.max(1e-4, baseline));
    // Two-sample test: both the baseline and the current estimate carry sampling noise.
    const zScore = drop / Math.sqrt(p * (1 - p) * (1 / st.cn + 1 / st.bn));
    return {
      state: st,
      evaluation: {
        breach: drop > c.drop && zScore > c.z,
        clear: drop <= c.drop - c.hysteresis,
        statistic: drop,
        threshold: c.drop,
        n: Math.round(st.cn),
        // Two literals rather than a spread of an optional field: this runs per value.
        details:
          st.mv !== undefined
            ? { baseline, current, zScore, baselineSamples: st.bn, baselineModelVersion: st.mv, lastEventMs: e.ts }
            : { baseline, current, zScore, baselineSamples: st.bn, lastEventMs: e.ts },
      },
    };
  },
};
