// Direction-aware EWMA chart on standardized values (Roberts 1959; Lucas & Saccucci 1990):
//   Z = λ z + (1 - λ) Z,  limit = L · sqrt(λ / (2 - λ) · (1 - (1 - λ)^(2t)))
// Fires when Z passes the limit in the watched direction; resolves when Z returns to the centre.
// λ = 0.1, L = 2.814: two-sided ARL0 ≈ 500 (one-sided ≈ 1000), ARL1 ≈ 10.3 for a 1σ shift.
import { newBaseline, shiftGate, sigma, standardize, type Baseline } from './standardizer.js';
import type { Detector } from './detector.js';
import type { Direction } from './cusum.js';

export interface EwmaConfig {
  direction: Direction;
  lambda: number;
  L: number;
  warmup: number;
  minSigma: number;
  /** practical-significance gate: the EW mean of raw values must have moved this far */
  minShift: number;
}

export interface EwmaState {
  b: Baseline;
  z: number;
  /** standardized values since the baseline froze */
  t: number;
  cp?: number;
  /** EW mean of raw values (λ = 0.2) for the minShift gate */
  ew?: number;
}

export const ewma: Detector<EwmaConfig, EwmaState> = {
  kind: 'ewma',
  windowSize: () => 0,
  update(state, input, c) {
    const st: EwmaState = state ?? { b: newBaseline(), z: 0, t: 0 };
    if (input.outcome !== 'newest') return { state: st, evaluation: null };
    const x = standardize(st.b, input.event.value, c.warmup, c.minSigma);
    if (x === null) return { state: st, evaluation: null };
    const gate = shiftGate(st, input.event.value, c);
    st.t += 1;
    const before = st.z;
    st.z = c.lambda * x + (1 - c.lambda) * st.z;
    const limit = c.L * Math.sqrt((c.lambda / (2 - c.lambda)) * (1 - (1 - c.lambda) ** (2 * st.t)));
    const signed = c.direction === 'up' ? st.z : -st.z;
    const signedBefore = c.direction === 'up' ? before : -before;
    if (signed <= 0) delete st.cp;
    else if (signedBefore <= 0) st.cp = input.event.ts;
    return {
      state: st,
      evaluation: {
        breach: signed > limit && gate,
        clear: signed <= 0,
        statistic: signed,
        threshold: limit,
        n: st.b.n,
        details: {
          direction: c.direction,
          lambda: c.lambda,
          L: c.L,
          baselineMean: st.b.mean,
          baselineSigma: sigma(st.b, c.minSigma),
          ...(st.cp !== undefined ? { changePointMs: st.cp } : {}),
          lastEventMs: input.event.ts,
        },
      },
    };
  },
};
