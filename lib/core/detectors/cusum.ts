// One-sided (direction-aware) CUSUM on standardized values (Page 1954):
//   up:   S = max(0, S + z - k)      down: S = max(0, S - z - k)
// Fires when S > h; resolves when S falls back to 0. S is capped at 2h so a long episode
// resolves promptly once the shift ends. Defaults k = 0.5, h = 4.5 with a 200-value warm-up: the
// baseline is estimated, which lengthens detection, so h sits below the textbook 5 (the two-sided
// chart's ARL0 465 / ARL1 10.4); measured figures (npm run bench) are in docs/performance.md.
import { newBaseline, shiftGate, sigma, standardize, type Baseline } from './standardizer.js';
import type { Detector } from './detector.js';

export type Direction = 'up' | 'down';

export interface CusumConfig {
  direction: Direction;
  k: number;
  h: number;
  /** values used to learn the in-control mean and sigma */
  warmup: number;
  /** floor on sigma, in the metric's units */
  minSigma: number;
  /** practical-significance gate: the EW mean of raw values must have moved this far */
  minShift: number;
}

export interface CusumState {
  b: Baseline;
  s: number;
  /** event time (ms) when S last left 0: the estimated change point */
  cp?: number;
  /** EW mean of raw values (λ = 0.2) for the minShift gate */
  ew?: number;
}

export const cusum: Detector<CusumConfig, CusumState> = {
  kind: 'cusum',
  windowSize: () => 0,
  update(state, input, c) {
    const st: CusumState = state ?? { b: newBaseline(), s: 0 };
    // Sequential detectors take events in order only; late ones joined windows, not this sum.
    if (input.outcome !== 'newest') return { state: st, evaluation: null };
    const z = standardize(st.b, input.event.value, c.warmup, c.minSigma);
    if (z === null) return { state: st, evaluation: null };
    const gate = shiftGate(st, input.event.value, c);
    const step = c.direction === 'up' ? z - c.k : -z - c.k;
    const before = st.s;
    st.s = Math.min(2 * c.h, Math.max(0, st.s + step));
    if (st.s === 0) delete st.cp;
    else if (before === 0) st.cp = input.event.ts;
    return {
      state: st,
      evaluation: {
        breach: st.s > c.h && gate,
        clear: st.s === 0,
        statistic: st.s,
        threshold: c.h,
        n: st.b.n,
        details: {
          direction: c.direction,
          k: c.k,
          baselineMean: st.b.mean,
          baselineSigma: sigma(st.b, c.minSigma),
          ...(st.cp !== undefined ? { changePointMs: st.cp } : {}),
          lastEventMs: input.event.ts,
        },
      },
    };
  },
};
