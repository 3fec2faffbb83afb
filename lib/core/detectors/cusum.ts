// One-sided (direction-aware) CUSUM on standardized values (Page 1954):
//   up:   S = max(0, S + z - k)      down: S = max(0, S - z - k)
// Fires when S > h; resolves when S falls back to 0. S is capped at 2h so a long episode
// resolves promptly once the shift ends. Defaults k = 0.5, h = 4.5. The z-scores come from the
// adaptive baseline (adaptive-baseline.ts: slow bounded adaptation, held still while S > h,
// daily seasonality, prewhitened for lag-1 autocorrelation); `baseline: "frozen"` restores the
// original 200-value frozen baseline. Measured figures (npm run bench): docs/performance.md.
import { baselineStep, type SequentialBaselineState, type SequentialConfig } from './standardizer.js';
import type { Detector } from './detector.js';
import { significant } from '../significant.js';

export type Direction = 'up' | 'down';

export interface CusumConfig extends SequentialConfig {
  k: number;
  h: number;
}

export interface CusumState extends SequentialBaselineState {
  s: number;
  /** event time (ms) when S last left 0: the estimated change point */
  cp?: number;
}

export const cusum: Detector<CusumConfig, CusumState> = {
  kind: 'cusum',
  windowSize: () => 0,
  update(state, input, c) {
    const st: CusumState = state ?? { s: 0 };
    // Sequential detectors take events in order only; late ones joined windows, not this sum.
    if (input.outcome !== 'newest') return { state: st, evaluation: null };
    const { z, gate, mean, sigma } = baselineStep(st, input.event.value, input.event.ts, c, st.s <= c.h);
    if (z === null) return { state: st, evaluation: null };
    const step = c.direction === 'up' ? z - c.k : -z - c.k;
    const before = st.s;
    st.s = significant(Math.min(2 * c.h, Math.max(0, st.s + step)), 5);
    if (st.s === 0) st.cp = undefined;
    else if (before === 0) st.cp = input.event.ts;
    return {
      state: st,
      evaluation: {
        breach: st.s > c.h && gate,
        clear: st.s === 0,
        statistic: st.s,
        threshold: c.h,
        n: st.a?.n ?? st.b?.n ?? 0,
        details: {
          direction: c.direction,
          k: c.k,
          baselineMean: mean,
          baselineSigma: sigma,
          ...(st.cp !== undefined ? { changePointMs: st.cp } : {}),
          lastEventMs: input.event.ts,
        },
      },
    };
  },
};
