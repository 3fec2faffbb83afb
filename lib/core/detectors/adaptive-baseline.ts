// The in-control baseline of the sequential charts (cusum, ewma) by default: it follows what is
// normal, slowly and within bounds, instead of freezing after the warm-up.
// - Level and scale (RMS of residuals clipped at 4σ): exponentially weighted (rate `adaptRate`, the
//   scale 4× slower) after a Welford warm-up; each step moves the level by at most adaptRate · 3σ.
//   A warm-up shorter than 1 / adaptRate values (mean-shift's 50) is followed by a self-starting
//   stretch: equal weights until then, each residual a recursive one mapped from t to the normal, so
//   a chart keeps its false-alarm rate from its first decision (Quesenberry 1991).
//   They are held only while the chart fires (the caller passes adapt = false): a real shift is
//   caught before it is absorbed (≈ 0.1σ by then), and holding any earlier would learn the level
//   from the values that look low only (a biased level: 2.5× the alarms on AR(1) data).
// - Daily seasonality: a mean and a robust scale per UTC hour of day (24 + 24 numbers; means to a
//   hundredth of their scale, scales to 4 significant digits, about 300 bytes of state). They start
//   at the end of a strongly persistent warm-up (lag-1 ≥ 0.8: maybe part of a cycle; such a stream is
//   not charted until a day later), or when the first daily harmonic of the residuals (2 numbers)
//   shows a cycle. A day after they started they are kept for good if they explain the spread
//   (pooled hourly scale < 0.7 of the level's), else dropped (a stream without a cycle stays small:
//   the 1 KB item rule) and the harmonic is watched again. They learn whether or not the chart
//   fires, with bounded steps.
// - Autocorrelation: a lag-1 correlation ρ of the standardized residuals (clamped to [0, 0.9]);
//   residuals are prewhitened, e = (z − ρ·z₋₁) / √(1 − ρ²), so the charts see near-i.i.d. input.
// - Prior: with `prior` (a policy's, or the camera's cohort's: cohort-prior.ts), a new stream is armed
//   from its first value on a blend of prior and own values; its own values take over at warm-up.
//   With `priorLevel: "own"` (mean-shift) the prior gives the scale only, from the second value on.

import { significant } from '../significant.js';
import { tToNormal } from './run-length.js';

export interface BaselinePrior {
  mean: number;
  sigma: number;
  /** weight of the prior, in values */
  n: number;
}

export interface AdaptiveBaselineConfig {
  warmup: number;
  minSigma: number;
  /** EW rate of level, scale and ρ after the warm-up */
  adaptRate: number;
  seasonality: 'daily' | 'none';
  autocorrelation: 'prewhiten' | 'ignore';
  prior?: BaselinePrior;
  /**
   * What a prior gives during the warm-up: "blend" its level and scale with the stream's own values
   * (cusum, ewma); "own": its scale only, the level the stream's own (mean-shift: the same
   * false-alarm rate as without a prior, armed from the second value).
   */
  priorLevel?: 'blend' | 'own';
}

export interface AdaptiveBaseline {
  /** values seen */
  n: number;
  /** level (mean) */
  m: number;
  /** Welford M2 during warm-up and the self-starting stretch after it (then dropped: a shorter item) */
  v?: number;
  /** values in the Welford sums after the warm-up (self-starting: held values do not count) */
  c?: number;
  /** robust scale (σ units) of residuals against the level, set at warm-up end */
  s: number;
  /** lag-1 correlation estimate of standardized residuals */
  r: number;
  /** EW of squared standardized residuals (clipped): ρ = r / q is a correlation even when the
   * scale is off, as it is on heavy-tailed streams (absent: 1) */
  q?: number;
  /** previous standardized residual (clipped) */
  p: number;
  /** when the hourly means started (else the first event), in minutes: for the day-span checks;
   * dropped once a day has passed with no hourly means (a shorter item) */
  t0?: number;
  /** per-hour-of-day means and robust scales (null until the hour is seen) */
  hm?: (number | null)[];
  hs?: (number | null)[];
  /** pooled robust scale of residuals against the hourly means */
  sp?: number;
  /** while deciding whether to keep the hourly means: the same robust scale against the level */
  sl?: number;
  /** EW of residual · cos and · sin of the time of day: the first daily harmonic */
  hc?: number;
  hn?: number;
  /** SEASONAL once the hourly means are in use (for good); absent while watching or deciding */
  hk?: number;
  /** values seen when the hourly means started (present while they are kept) */
  h0?: number;
}

const DAY_MS = 86_400_000;
const MINUTE_MS = 60_000;
/** E|Z| = √(2/π) for normal Z: mean absolute deviation × this is σ. */
const MAD_TO_SIGMA = 1.2533;
const SEASONAL = 1;
const HARMONIC_MIN_VALUES = 48;
/** Warm-up lag-1 correlation from which a stream may be a daily cycle seen in part. */
const PERSISTENT = 0.8;
const SEASONAL_GAIN = 0.7;
const MAX_RHO = 0.9;
/** The previous residual kept for the prediction is clipped here (σ units). */
const BURST_CLIP = 20;
/** ρ below this is taken as 0: estimation noise on i.i.d. data would otherwise slow detection. */
const RHO_SHRINK = 0.05;
/** Scale and ρ adapt this much slower than the level: their noise costs false alarms. */
const SLOW = 0.25;
/** Stored to 3 or 4 significant digits (deterministic whether or not the state went through the item). */
const round3 = (x: number) => significant(x, 3);
const round4 = (x: number) => significant(x, 4);
const clip = (x: number, lim: number) => Math.max(-lim, Math.min(lim, x));

export const newAdaptiveBaseline = (ts: number): AdaptiveBaseline => ({
  n: 0,
  m: 0,
  v: 0,
  s: 0,
  r: 0,
  p: 0,
  t0: Math.floor(ts / MINUTE_MS),
});
/** A mean stored to about a hundredth of its scale (short in the item, still free to move). */
const roundToScale = (x: number, scale: number) =>
  Number(x.toFixed(Math.max(0, Math.min(12, 2 - Math.floor(Math.log10(scale))))));
const spanMs = (b: AdaptiveBaseline, ts: number) => (b.t0 === undefined ? Infinity : ts - b.t0 * MINUTE_MS);

/**
 * Milliseconds into ts's UTC day: ((ts % DAY_MS) + DAY_MS) % DAY_MS, exactly. For an integer time by a
 * division and an exact product (% on a time past 2^31 is a floating-point remainder: slow).
 */
function msOfDay(ts: number): number {
  if (!Number.isSafeInteger(ts)) return ((ts % DAY_MS) + DAY_MS) % DAY_MS;
  let r = ts - Math.floor(ts / DAY_MS) * DAY_MS;
  if (r < 0) r += DAY_MS;
  else if (r >= DAY_MS) r -= DAY_MS;
  return r;
}
const hourOf = (ts: number) => Math.floor(msOfDay(ts) / 3_600_000);

/** Whether the hourly means are in use: decided once, after a day, by whether they explained the spread. */
const seasonalInUse = (b: AdaptiveBaseline, c: AdaptiveBaselineConfig) =>
  c.seasonality === 'daily' && b.hk === SEASONAL && b.sp !== undefined;

/** The value expected now and its scale: the hour's when the daily model is in use, else the level's. */
export function expected(
  b: AdaptiveBaseline,
  ts: number,
  c: AdaptiveBaselineConfig,
): { mean: number; sigma: number; seasonal: boolean } {
  const h = hourOf(ts);
  const hm = b.hm?.[h];
  const hs = b.hs?.[h];
  if (seasonalInUse(b, c) && hm !== null && hm !== undefined && hs !== null && hs !== undefined)
    // Floors: half the pooled hourly scale, and a tenth of the level's (a noiseless cycle must
    // not make every small repeat look like a shift).
    return { mean: hm, sigma: Math.max(hs, 0.5 * b.sp!, 0.1 * b.s, c.minSigma), seasonal: true };
  return { mean: b.m, sigma: Math.max(b.s, c.minSigma), seasonal: false };
}

/**
 * Whether the chart waits for the daily question to be settled: the hourly means started at the end
 * of a strongly persistent warm-up (lag-1 ≥ PERSISTENT: maybe part of a daily cycle, whose level is
 * no baseline yet), and a day has not passed since.
 */
const awaitingDay = (b: AdaptiveBaseline, c: AdaptiveBaselineConfig) =>
  c.seasonality === 'daily' && b.hk === undefined && b.h0 === c.warmup;

/**
 * A chart breached in the stream's first day, before any daily model: the breach may be a daily
 * cycle's first turn (a morning after a warm-up at night). The hourly means start now, and the daily
 * question is settled as usual a day after the stream's first value: a cycle is then predicted from
 * its second turn on, a level that moved and stays is charted against the level as before.
 */
export function firstDayBreach(b: AdaptiveBaseline, c: AdaptiveBaselineConfig): boolean {
  if (!inFirstDay(b, c)) return false;
  b.hc = undefined;
  b.hn = undefined;
  b.h0 = b.n;
  return true;
}

/**
 * The stream's first day, before any daily model: armed, its first value less than a day ago (t0 is
 * dropped a day after it while no hourly means run), no hourly means started.
 */
export const inFirstDay = (b: AdaptiveBaseline, c: AdaptiveBaselineConfig) =>
  c.seasonality === 'daily' && b.h0 === undefined && b.hk === undefined && b.t0 !== undefined && b.n > c.warmup;

/** Whether the daily question a first-day breach opened is settled: hourly means kept or dropped. */
export const firstDaySettled = (b: AdaptiveBaseline) => b.hk !== undefined || b.h0 === undefined;

/** Amplitude of the first daily harmonic of the residuals, in σ of the level's residuals. */
function dailyAmplitude(b: AdaptiveBaseline): number {
  return b.s > 0 ? (2 * Math.hypot(b.hc ?? 0, b.hn ?? 0)) / b.s : 0;
}

/**
 * The daily model. Hourly means start when a cycle may be there: during a strongly persistent
 * warm-up, or later when the first daily harmonic of the residuals (2 numbers) reaches half the
 * scale. A day after they started they are kept for good if they explain the spread
 * (hk = SEASONAL), else dropped and the harmonic is watched again: a stream without a cycle stays
 * small (the 1 KB item rule). They learn whether or not the chart fires, with bounded steps: a
 * held profile would learn only the hours that look normal and turn the others into alarms.
 */
function learnSeasonal(b: AdaptiveBaseline, x: number, ts: number, c: AdaptiveBaselineConfig): void {
  if (c.seasonality !== 'daily') return;
  if (b.h0 === undefined) {
    // Watching the first daily harmonic of the residuals against the level (after the warm-up).
    if (b.n < c.warmup) return;
    const angle = (2 * Math.PI * msOfDay(ts)) / DAY_MS;
    const d = clip(x - b.m, 4 * Math.max(b.s, c.minSigma));
    const rate = Math.max(c.adaptRate, 1 / (b.n - c.warmup + 1));
    b.hc = round3((b.hc ?? 0) + rate * (d * Math.cos(angle) - (b.hc ?? 0)));
    b.hn = round3((b.hn ?? 0) + rate * (d * Math.sin(angle) - (b.hn ?? 0)));
    if (spanMs(b, ts) >= DAY_MS) b.t0 = undefined;
    // A day of the stream and enough values that one draw cannot look like a cycle.
    if (spanMs(b, ts) < DAY_MS || b.n < c.warmup + HARMONIC_MIN_VALUES || dailyAmplitude(b) < 0.5) return;
    b.hc = undefined;
    b.hn = undefined;
    b.h0 = b.n;
    b.t0 = Math.floor(ts / MINUTE_MS);
  } else if (b.hk === undefined && spanMs(b, ts) >= DAY_MS && b.n >= c.warmup && b.sp !== undefined) {
    // Against the spread around the level over the same day (the level's scale may have been held
    // while a first-day cycle looked like a shift).
    const levelSpread = Math.max(b.s, b.sl ?? 0);
    b.sl = undefined;
    if (b.sp < SEASONAL_GAIN * levelSpread) b.hk = SEASONAL;
    else {
      b.hm = undefined;
      b.hs = undefined;
      b.sp = undefined;
      b.h0 = undefined;
      b.t0 = undefined; // a day has passed: no first day any more
      return;
    }
  }
  const hm = (b.hm ??= Array(24).fill(null));
  const hs = (b.hs ??= Array(24).fill(null));
  const h = hourOf(ts);
  // Equal weights while an hour has few visits (≈ values / 24 of them), then the slow EW rate.
  const visits = Math.max(b.n - b.h0, 1);
  const rate = Math.min(1, Math.max(c.adaptRate * 2, 24 / visits));
  const mean = hm[h];
  if (mean === null || mean === undefined) {
    hm[h] = roundToScale(x, Math.max(b.sp ?? b.s, c.minSigma));
    return;
  }
  const scale = hs[h] ?? null;
  const d = x - mean;
  const bound = scale !== null && scale > 0 ? 3 * Math.max(scale, c.minSigma) : Math.abs(d);
  // To a hundredth of the scale, not to significant digits: a level of 100 with noise 1 must move.
  hm[h] = roundToScale(mean + rate * clip(d, bound), Math.max(scale ?? b.sp ?? 0, c.minSigma));
  const dev = MAD_TO_SIGMA * Math.min(Math.abs(d), 2 * bound);
  hs[h] = round4(scale === null ? dev : scale + rate * (dev - scale));
  b.sp = round4(b.sp === undefined ? dev : b.sp + Math.max(c.adaptRate, 1 / visits) * (dev - b.sp));
  if (b.hk === undefined) {
    // While deciding: the robust spread of the values around the level, for the comparison.
    const dl = MAD_TO_SIGMA * Math.abs(x - b.m);
    b.sl = round4(b.sl === undefined ? dl : b.sl + (1 / visits) * (dl - b.sl));
  }
}

/**
 * Feeds one value in event-time order. Returns the standardized (and, by default, prewhitened)
 * residual the charts take, or null while warming up without a prior. `adapt` false holds the
 * baseline still (the chart is out of control).
 */
export function observe(
  b: AdaptiveBaseline,
  x: number,
  ts: number,
  c: AdaptiveBaselineConfig,
  adapt: boolean,
): number | null {
  if (b.n < c.warmup) {
    // Warm-up: Welford on own values, and the lag-1 sum of deviations (b.p holds the last one, b.r
    // the sum). With a prior the chart is armed at once, on the blend of prior and own values.
    let z: number | null = null;
    if (c.prior && c.priorLevel === 'own') {
      // The prior's scale, the stream's own level: a recursive residual from the second value on.
      // Cameras of a cohort differ in level more than in noise; one that sits apart from its peers
      // from its first value is the cohort's lone-camera test's to find (docs/fleet-decisions.md).
      if (b.n >= 1) {
        const w = c.prior.n;
        const sd = Math.sqrt((w * c.prior.sigma ** 2 + (b.v ?? 0)) / (w + b.n - 1));
        const t = (x - b.m) / (Math.max(sd, c.minSigma) * Math.sqrt(1 + 1 / b.n));
        z = tToNormal(t, w + b.n - 1);
      }
    } else if (c.prior) {
      const w = c.prior.n;
      const mean = (w * c.prior.mean + b.n * b.m) / (w + b.n);
      const sd = Math.sqrt((w * c.prior.sigma ** 2 + (b.v ?? 0)) / (w + b.n));
      z = (x - mean) / Math.max(sd, c.minSigma);
    }
    learnSeasonal(b, x, ts, c);
    b.n += 1;
    const d = x - b.m;
    if (b.n > 1) b.r += d * b.p;
    // The first value's deviation is from 0, not from a mean: it must not enter the lag-1 sum (on a
    // level far above its noise it alone read as ρ ≈ 0.8 over a 50-value warm-up).
    b.p = b.n > 1 ? d : 0;
    b.m += d / b.n;
    b.v = (b.v ?? 0) + d * (x - b.m);
    if (b.n >= c.warmup) {
      b.s = b.n > 1 ? Math.sqrt(b.v / (b.n - 1)) : 0;
      b.r = round3(b.v > 0 ? b.r / b.v : 0);
      b.p = round3(clip((x - b.m) / Math.max(b.s, c.minSigma), 4));
      // Only the warm-up and the self-starting stretch need M2 (then dropped: a shorter item).
      if (b.n < selfStartEnd(c)) b.c = b.n;
      else b.v = undefined;
      if (c.seasonality === 'daily' && b.r >= PERSISTENT) {
        // Strongly persistent: maybe part of a daily cycle. Hourly means from now; no chart for a day.
        b.h0 = b.n;
        b.t0 = Math.floor(ts / MINUTE_MS);
      }
    }
    return z;
  }
  const waiting = awaitingDay(b, c);
  const selfStarting = b.v !== undefined && b.c !== undefined;
  let e: number | null = null;
  if (!waiting) {
    const { mean, sigma, seasonal } = expected(b, ts, c);
    let z = (x - mean) / sigma;
    // Self-starting: a recursive residual against c values is t-distributed with c − 1 degrees of
    // freedom; as a normal value it gives the chart its in-control run length from the first value.
    if (selfStarting && !seasonal) z = tToNormal(z / Math.sqrt(1 + 1 / b.c!), b.c! - 1);
    e = whiten(b, z, c);
  }
  learnSeasonal(b, x, ts, c);
  b.n += 1;
  if (adapt || waiting) {
    const s = Math.max(b.s, c.minSigma);
    const d = x - b.m;
    if (selfStarting) {
      // Equal weights (Welford, residuals clipped at 4σ) until 1 / values reaches adaptRate.
      const dc = clip(d, 4 * s);
      b.c! += 1;
      b.m += dc / b.c!;
      b.v! += dc * (dc - dc / b.c!);
      b.s = Math.sqrt(b.v! / (b.c! - 1));
      if (b.c! >= selfStartEnd(c)) {
        b.m = significant(b.m, 6);
        b.s = significant(b.s, 6);
        b.v = undefined;
        b.c = undefined;
      }
    } else {
      b.m = significant(b.m + c.adaptRate * clip(d, 3 * s), 6);
      b.s = significant(Math.sqrt(b.s * b.s + SLOW * c.adaptRate * (Math.min(d * d, 16 * s * s) - b.s * b.s)), 6);
    }
  }
  return e;
}

/** Values after which the level and scale take exponential weights: before it, equal ones. */
const selfStartEnd = (c: AdaptiveBaselineConfig) => Math.max(c.warmup, Math.ceil(1 / c.adaptRate));

function whiten(b: AdaptiveBaseline, z: number, c: AdaptiveBaselineConfig): number {
  const zc = clip(z, 4);
  if (c.autocorrelation === 'ignore') {
    b.p = round3(clip(z, BURST_CLIP));
    return z;
  }
  // ρ keeps learning while the level is held: a held level would bias it; it moves slowly anyway.
  // Its estimate takes residuals clipped at 4σ (one burst must not set it)...
  const pc = clip(b.p, 4);
  b.r = round4(b.r + SLOW * c.adaptRate * (zc * pc - b.r));
  b.q = round4((b.q ?? 1) + SLOW * c.adaptRate * (zc * zc - (b.q ?? 1)));
  const rho = rhoOf(b);
  // ...but the prediction takes the previous residual nearly whole: a burst that decays at the
  // stream's own ρ is then predicted, not a run of alarming residuals.
  const e = (z - rho * b.p) / Math.sqrt(1 - rho * rho);
  b.p = round3(clip(z, BURST_CLIP));
  return e;
}

/** The lag-1 correlation in use (for details and tests). */
export const rhoOf = (b: AdaptiveBaseline) => Math.max(0, Math.min(MAX_RHO, b.r / (b.q ?? 1) - RHO_SHRINK));
