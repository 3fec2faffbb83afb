// Run lengths of one-sided CUSUM charts on the clipped standardized residuals the charts take, by the
// Markov chain of Brook & Evans (1972): the threshold that gives a chart a wanted in-control run length
// (ARL0) is found here instead of being a fixed default. Also the t → normal transform of the
// self-starting (recursive-residual) warm-up. Pure math, no state.

/** Huber clip of the z-scores the charts take (standardizer.ts): the chain models it exactly. */
export const Z_CLIP = 2.5;
const BINS = 80;

/** Standard normal CDF (Abramowitz & Stegun 7.1.26 through erf; |error| < 1.5e-7). */
export function normalCdf(x: number): number {
  const t = 1 / (1 + (0.3275911 * Math.abs(x)) / Math.SQRT2);
  const poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))));
  const erf = 1 - poly * Math.exp((-x * x) / 2);
  return x >= 0 ? 0.5 * (1 + erf) : 0.5 * (1 - erf);
}

/**
 * CDF of N(0,1) clipped to ±clip (the clipped mass sits on the ends); with `tail`, the mass on +clip
 * is that instead (a heavier upper tail than the normal's), the rest of the normal scaled to fit.
 */
function clippedCdf(y: number, clip: number, tail?: number): number {
  if (y < -clip) return 0;
  if (y >= clip) return 1;
  if (tail === undefined) return normalCdf(y);
  const lowTail = normalCdf(-clip);
  const core = normalCdf(clip) - lowTail;
  return lowTail + ((1 - lowTail - tail) * (normalCdf(y) - lowTail)) / core;
}

/**
 * In-control ARL of the one-sided CUSUM S = max(0, S + z − k), alarm at S > h, on i.i.d. N(0,1)
 * input clipped at ±Z_CLIP, from S = 0: solves (I − P) L = 1 for the discretized chain.
 */
export function cusumArl0(k: number, h: number, shift = 0, clip = Z_CLIP, tail?: number): number {
  const w = (2 * h) / (2 * BINS - 1);
  const n = BINS;
  // a = I − P, row-major, augmented with the right-hand side 1.
  const a = new Float64Array(n * (n + 1));
  for (let i = 0; i < n; i++) {
    const x = i * w;
    let below = clippedCdf(w / 2 - x + k - shift, clip, tail);
    a[i * (n + 1)]! -= below;
    for (let j = 1; j < n; j++) {
      const upper = clippedCdf((j + 0.5) * w - x + k - shift, clip, tail);
      a[i * (n + 1) + j]! -= upper - below;
      below = upper;
    }
    a[i * (n + 1) + i]! += 1;
    a[i * (n + 1) + n] = 1;
  }
  // Gaussian elimination (the matrix is diagonally dominant: no pivoting needed).
  for (let c = 0; c < n; c++) {
    const pivot = a[c * (n + 1) + c]!;
    for (let r = c + 1; r < n; r++) {
      const f = a[r * (n + 1) + c]! / pivot;
      if (f === 0) continue;
      for (let j = c; j <= n; j++) a[r * (n + 1) + j]! -= f * a[c * (n + 1) + j]!;
    }
  }
  const l = new Float64Array(n);
  for (let r = n - 1; r >= 0; r--) {
    let s = a[r * (n + 1) + n]!;
    for (let j = r + 1; j < n; j++) s -= a[r * (n + 1) + j]! * l[j]!;
    l[r] = s / a[r * (n + 1) + r]!;
  }
  // Past about 1e12 the elimination loses its digits: such a chart never alarms in practice.
  return l[0]! > 0 && l[0]! < 1e12 ? l[0]! : Infinity;
}

const thresholds = new Map<string, number>();

/**
 * The CUSUM threshold h whose in-control ARL is `arl0` on clipped N(0,1) input, or with `tail` on
 * the upper clip (bisection, cached).
 */
export function cusumThreshold(k: number, arl0: number, clip = Z_CLIP, tail?: number): number {
  const key = `${k}|${arl0}|${clip}|${tail}`;
  const cached = thresholds.get(key);
  if (cached !== undefined) return cached;
  let lo = 0.1,
    hi = 1;
  while (cusumArl0(k, hi, 0, clip, tail) < arl0 && hi < 40) hi *= 1.5;
  for (let i = 0; i < 40 && hi - lo > 1e-4; i++) {
    const mid = (lo + hi) / 2;
    if (cusumArl0(k, mid, 0, clip, tail) < arl0) lo = mid;
    else hi = mid;
  }
  const h = Math.round(hi * 1e4) / 1e4;
  if (thresholds.size > 1000) thresholds.clear();
  thresholds.set(key, h);
  return h;
}

/**
 * Student t with ν degrees of freedom → the standard normal value of the same tail probability
 * (Wallace 1959; within 0.01 of the exact quantile for ν ≥ 3 in the range the charts use). A
 * recursive residual divided by its estimated standard error is t-distributed: through this it is
 * N(0,1), so a chart on it keeps its in-control run length from the first values on (Quesenberry 1991).
 */
export function tToNormal(t: number, nu: number): number {
  if (!(nu > 0)) return 0;
  const z = Math.sqrt(nu * Math.log1p((t * t) / nu)) * ((8 * nu + 1) / (8 * nu + 3));
  return t < 0 ? -z : z;
}
