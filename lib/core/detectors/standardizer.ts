// Per-stream standardization for sequential detectors: learn mean and spread from the first
// `warmup` values (Welford), then freeze them as the in-control baseline. A floor on sigma keeps
// near-constant streams (identical data) from turning noise into huge z-scores.

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
