// Per-stream standardization for sequential detectors: learn mean and spread from the first
// `warmup` values (Welford), then freeze them as the in-control baseline. A floor on sigma keeps
// near-constant streams (identical data) from turning noise into huge z-scores. This frozen
// baseline is the original behaviour (`baseline: "frozen"`); the default is adaptive-baseline.ts.
import {
  expected,
  newAdaptiveBaseline,
  observe,
  type AdaptiveBaseline,
  type AdaptiveBaselineConfig,
} from './adaptive-baseline.js';
import { significant } from '../significant.js';

export interface Baseline {
  /** values seen while learning */
  n: number;
  mean: number;
  /** sum of squared deviations (Welford's M2) */
  m2: number;
  /** frozen once n reaches warmup */
  frozen: boolean;
}

export const newBaseline = (): Baseline => ({ n: 0, mean: 0, m2: 0, frozen: false });

/** Feeds one value; returns the z-score once the baseline is frozen, else null (warming up). */
export function standardize(b: Baseline, x: number, warmup: number, minSigma: number): number | null {
  if (!b.frozen) {
    b.n += 1;
    const d = x - b.mean;
    b.mean += d / b.n;
    b.m2 += d * (x - b.mean);
    if (b.n >= warmup) b.frozen = true;
    return null;
  }
  return (x - b.mean) / sigma(b, minSigma);
}

export function sigma(b: Baseline, minSigma: number): number {
  const sd = b.n > 1 ? Math.sqrt(b.m2 / (b.n - 1)) : 0;
  return Math.max(sd, minSigma);
}

/**
 * Updates the EW mean of raw values and says whether it has moved at least minShift from the
 * baseline in the watched direction (always true when minShift is 0).
 */
export function shiftGate(
  st: { b: Baseline; ew?: number },
  x: number,
  c: { direction: 'up' | 'down'; minShift: number },
): boolean {
  st.ew = st.ew === undefined ? st.b.mean : 0.2 * x + 0.8 * st.ew;
  if (c.minShift <= 0) return true;
  const moved = st.ew - st.b.mean;
  return c.direction === 'up' ? moved >= c.minShift : -moved >= c.minShift;
}

// ---- the baseline a sequential chart stands on: adaptive (default) or frozen (the original) ----

/** Huber clip of the z-scores the charts take: ±2.5σ costs Gaussian input little, caps one burst. */
const Z_CLIP = 2.5;

export interface SequentialConfig extends AdaptiveBaselineConfig {
  direction: 'up' | 'down';
  /** 'frozen': learn from the first `warmup` values, then never change (the original charts) */
  baseline: 'adaptive' | 'frozen';
  minShift: number;
}

export interface SequentialBaselineState {
  /** frozen baseline */
  b?: Baseline;
  /** adaptive baseline */
  a?: AdaptiveBaseline;
  /** EW (λ = 0.2) of raw values (frozen) or of raw residuals (adaptive), for the minShift gate */
  ew?: number;
}

/**
 * One value through the chart's baseline: the z-score the chart takes (null while warming up),
 * whether the minShift gate is open, and the baseline's mean and sigma for the trigger's details.
 * `adapt` false holds an adaptive baseline still while the chart is out of control.
 */
export function baselineStep(
  st: SequentialBaselineState,
  x: number,
  ts: number,
  c: SequentialConfig,
  adapt: boolean,
): { z: number | null; gate: boolean; mean: number; sigma: number } {
  if (c.baseline === 'frozen') {
    const b = (st.b ??= newBaseline());
    const z = standardize(b, x, c.warmup, c.minSigma);
    if (z === null) return { z, gate: false, mean: b.mean, sigma: sigma(b, c.minSigma) };
    return { z, gate: shiftGate(st as { b: Baseline; ew?: number }, x, c), mean: b.mean, sigma: sigma(b, c.minSigma) };
  }
  if (st.b) {
    // A state written by the frozen chart: start the adaptive baseline afresh.
    delete st.b;
    delete st.ew;
  }
  const a = (st.a ??= newAdaptiveBaseline(ts));
  const e = expected(a, ts, c);
  const raw = observe(a, x, ts, c, adapt);
  if (raw === null) return { z: raw, gate: false, mean: e.mean, sigma: e.sigma };
  // Huber-clipped: one outlier moves the chart at most this far (no effect on Gaussian noise).
  const z = Math.max(-Z_CLIP, Math.min(Z_CLIP, raw));
  st.ew = st.ew === undefined ? 0 : significant(0.2 * (x - e.mean) + 0.8 * st.ew, 4);
  const gate = c.minShift <= 0 || (c.direction === 'up' ? st.ew >= c.minShift : -st.ew >= c.minShift);
  return { z, gate, mean: e.mean, sigma: e.sigma };
}
