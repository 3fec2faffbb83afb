// A metric's change decision: one false-alarm budget, however many charts it runs. Per watched
// direction two CUSUMs on the adaptive baseline's residuals (standardizer.ts), k = 0.5 for shifts
// near 1σ and k = 1 for larger ones: a two-point approximation of the GLR chart, which estimates
// the shift size instead of fixing it (Lorden 1971; Sparks 2000). Their thresholds come from the
// budget (policy.ts: `falseAlarmBudget`): split over the charts (Bonferroni on ARL0, calibrated by
// simulation for their correlation) and solved for each chart by its Markov chain (run-length.ts).
// It decides from its warm-up's end (default 50 values; self-starting, adaptive-baseline.ts).
// A spike that decays at the stream's own lag-1 correlation is predicted by the prewhitening and
// clipped at 2.5σ (one value can never fire it); a level that moves and stays adds up.
import { significant } from '../significant.js';
import type { Detector } from './detector.js';
import { firstDayBreach, firstDaySettled, rhoOf } from './adaptive-baseline.js';
import { cusumThreshold, normalCdf } from './run-length.js';
import { baselineStep, type SequentialBaselineState, type SequentialConfig } from './standardizer.js';

export type ShiftDirection = 'up' | 'down' | 'both';

/** Reference values of the charts of one direction, in σ: half the shift each is tuned to. */
export const SHIFT_K = [0.5, 1] as const;
/**
 * The share divisor of one direction's two CUSUMs, calibrated by simulation (`decisionArl0` in
 * scripts/bench/detectors.ts: union ARL0 ≈ 900 × this at the default budget of 0.5, so 2.5 keeps it
 * above 2,000). More than plain Bonferroni (2): measuring against the level a sum left 0 from costs
 * some in-control run length, which this buys back.
 */
export const CHARTS_PER_DIRECTION = 2.5;
/** The decision's own clip of the residuals (σ): bursts of a heavy-tailed stream add up slower. */
export const SHIFT_CLIP = 2;
const HOLD_SELF_START = 0.25;

type Sums = number[];

export interface MeanShiftConfig extends Omit<SequentialConfig, 'direction'> {
  direction: ShiftDirection;
  /** false alarms per 1,000 evaluations this decision may spend (its share of the metric's budget) */
  falseAlarmsPer1k: number;
  /**
   * A breach in the stream's first day, before its daily question is settled: "hold" it until the
   * question is (fire then if the shift is still there, drop it if the level came back first: a daily
   * cycle's first turn); "decide" fires at once.
   */
  firstDay?: 'hold' | 'decide';
}

export interface MeanShiftState extends SequentialBaselineState {
  /** CUSUMs of rises and of drops, one per SHIFT_K */
  u?: Sums;
  d?: Sums;
  /** mass of residuals at or beyond +clip and −clip (EW, while in control): the stream's tails */
  tu?: number;
  td?: number;
  /** the level when the k = 0.5 sums last left 0 (present while one is above 0) */
  ro?: number;
  /** direction of the open episode: 1 up, −1 down */
  f?: 1 | -1;
  /** event time (ms) when the firing direction's first sum last left 0: the estimated change point */
  cp?: number;
  /** direction of a first-day breach held until the stream's daily question is settled */
  fh?: 1 | -1;
  /** 1 while the daily question a held first-day breach opened is not settled: later breaches are held too */
  fd?: 1;
}

/** The normal's mass beyond +SHIFT_CLIP: what the thresholds assume of an in-control stream. */
const NORMAL_TAIL = 1 - normalCdf(SHIFT_CLIP);
/** Tail masses the thresholds are solved for (× the normal's): a stream's own is rounded down to one. */
const TAIL_STEPS = [1, 1.5, 2, 3, 4, 6];
/** EW rate of the tail masses (a memory of 500 values, as slow as the scale's). */
const TAIL_RATE = 0.002;

// Solved once per budget, directions and tail step (the bisection is costly, and even its cache key
// was a string built per call): frozen arrays, shared by every chart with the same decision.
const thresholdCache = new Map<number, Map<ShiftDirection, (readonly number[])[]>>();

/**
 * The thresholds of one direction's charts (one per SHIFT_K) for a decision's budget and directions,
 * solved for the stream's mass beyond the clip on that side (heavy tails: higher thresholds, the same
 * false-alarm rate); without it, for normal residuals.
 */
export function shiftThresholds(falseAlarmsPer1k: number, direction: ShiftDirection, tail?: number): readonly number[] {
  // The largest tail step the stream's mass reaches (index 0, the normal's, when none or unknown).
  let stepIndex = 0;
  if (tail !== undefined)
    for (let i = TAIL_STEPS.length - 1; i > 0; i--)
      if (TAIL_STEPS[i]! * NORMAL_TAIL <= tail) {
        stepIndex = i;
        break;
      }
  let byDirection = thresholdCache.get(falseAlarmsPer1k);
  if (!byDirection) thresholdCache.set(falseAlarmsPer1k, (byDirection = new Map()));
  let bySteps = byDirection.get(direction);
  if (!bySteps) byDirection.set(direction, (bySteps = []));
  const cached = bySteps[stepIndex];
  if (cached) return cached;
  const charts = CHARTS_PER_DIRECTION * (direction === 'both' ? 2 : 1);
  const arl0 = (1000 / falseAlarmsPer1k) * charts;
  const step = TAIL_STEPS[stepIndex]!;
  const solved = Object.freeze(
    SHIFT_K.map((k) => cusumThreshold(k, arl0, SHIFT_CLIP, step === 1 ? undefined : step * NORMAL_TAIL)),
  );
  bySteps[stepIndex] = solved;
  return solved;
}

/** One direction's sums after residual z (in place: the state is the detector's own, as its other fields). */
function step(s: Sums | undefined, z: number, h: readonly number[]): Sums {
  const out = s?.length === SHIFT_K.length ? s : new Array<number>(SHIFT_K.length);
  for (let i = 0; i < SHIFT_K.length; i++)
    out[i] = significant(Math.min(2 * h[i]!, Math.max(0, (s?.[i] ?? 0) + z - SHIFT_K[i]!)), 4);
  return out;
}
/** How far a direction's charts are towards their thresholds (1: at a threshold). */
function level(s: Sums | undefined, h: readonly number[]): number {
  if (!s) return 0;
  let max = -Infinity;
  for (let i = 0; i < s.length; i++) max = Math.max(max, s[i]! / h[i]!);
  return max;
}

export const meanShift: Detector<MeanShiftConfig, MeanShiftState> = {
  kind: 'mean-shift',
  windowSize: () => 0,
  update(state, input, c) {
    const st: MeanShiftState = state ?? {};
    if (input.outcome !== 'newest') return { state: st, evaluation: null };
    const hu = shiftThresholds(c.falseAlarmsPer1k, c.direction, st.tu);
    const hd = shiftThresholds(c.falseAlarmsPer1k, c.direction, st.td);
    const up = c.direction !== 'down',
      down = c.direction !== 'up';
    // The baseline is held while the decision is out of control (a shift is caught before it is absorbed).
    // While self-starting (equal weights, a fast-moving level) it is held from a quarter of the way: a shift
    // right after the warm-up would otherwise be learnt before the charts reach their thresholds.
    const holdAt = st.a?.c !== undefined ? HOLD_SELF_START : 1;
    const inControl = Math.max(level(st.u, hu), level(st.d, hd)) <= holdAt;
    // The direction only sets baselineStep's own minShift gate, which this decision does not read (it
    // gates below, on its firing side): the config goes as it is, not copied per value.
    const { z, mean, sigma } = baselineStep(st, input.event.value, input.event.ts, c as SequentialConfig, inControl);
    if (z === null) return { state: st, evaluation: null };
    const before = st.u?.[1] ?? 0,
      beforeDown = st.d?.[1] ?? 0;
    // While a sum is above 0 the charts measure against the level it left 0 from, not the level that
    // has moved since: the baseline keeps learning (no bias), but a shift under way is not absorbed
    // into the charts' own view of it. Through the prewhitening an offset δ is δ(1 − ρ)/√(1 − ρ²).
    let zr = z;
    // (After the warm-up only: with a prior the warm-up's residuals are against the own running mean.)
    const reference = st.a !== undefined && st.a.n > c.warmup && st.a.hk === undefined;
    if (st.ro !== undefined && st.a && reference) {
      const rho = rhoOf(st.a);
      zr = z + ((mean - st.ro) / sigma) * ((1 - rho) / Math.sqrt(1 - rho * rho));
    }
    const zc = Math.max(-SHIFT_CLIP, Math.min(SHIFT_CLIP, zr));
    if (inControl) {
      // The stream's own tails, learnt while in control (a shift must not teach them).
      if (up)
        st.tu = significant(
          (st.tu ?? NORMAL_TAIL) + TAIL_RATE * ((zc >= SHIFT_CLIP ? 1 : 0) - (st.tu ?? NORMAL_TAIL)),
          3,
        );
      if (down)
        st.td = significant(
          (st.td ?? NORMAL_TAIL) + TAIL_RATE * ((zc <= -SHIFT_CLIP ? 1 : 0) - (st.td ?? NORMAL_TAIL)),
          3,
        );
    }
    if (up) st.u = step(st.u, zc, hu);
    if (down) st.d = step(st.d, -zc, hd);
    if (!reference || Math.max(st.u?.[0] ?? 0, st.d?.[0] ?? 0) === 0) st.ro = undefined;
    else st.ro ??= significant(mean, 6);
    const lu = level(st.u, hu),
      ld = level(st.d, hd);
    const dir: 1 | -1 = lu >= ld ? 1 : -1;
    // The practical-significance gate, in the metric's units, on the watched side.
    const moved = c.baseline === 'frozen' ? (st.ew ?? mean) - mean : (st.ew ?? 0);
    const gate = c.minShift <= 0 || dir * moved >= c.minShift;
    let breach = Math.max(lu, ld) > 1 && gate;
    if (st.fh !== undefined) {
      // A held first-day breach: dropped once its side's sums are back to 0 (the level came back to
      // where it left: a daily cycle's turn, or noise), fired once the daily question is settled if
      // its side is still beyond a threshold (a level that moved and stayed), held meanwhile. (A level
      // that comes back slowly, as a cycle's tail may, is not beyond a threshold by then.)
      const held = st.fh === 1 ? lu : ld;
      if (held === 0) st.fh = undefined;
      else if (st.a && firstDaySettled(st.a)) {
        breach = held > 1 && (c.minShift <= 0 || st.fh * moved >= c.minShift);
        if (breach) st.f = st.fh;
        st.fh = undefined;
      } else breach = false;
    } else if (breach && st.f === undefined) {
      // A first-day breach starts the hourly means; by default it is held until they settle the question,
      // and so is any later breach before then (fd: a first-day breach started them).
      const hold = (c.firstDay ?? 'hold') === 'hold';
      const started = st.a !== undefined && firstDayBreach(st.a, c);
      if (started && hold) st.fd = 1;
      if (hold && st.fd === 1) {
        st.fh = dir;
        breach = false;
      } else st.f = dir;
    }
    if (st.fd !== undefined && st.fh === undefined && (!st.a || firstDaySettled(st.a))) st.fd = undefined;
    // Resolves when the firing direction's sums are back to 0 (or, outside an episode, all of them).
    const firing = st.f === 1 ? st.u : st.f === -1 ? st.d : undefined;
    const clear = firing ? firing.every((x) => x === 0) : lu === 0 && ld === 0;
    if (clear) st.f = undefined;
    // The change point of the side that leads.
    const lead = dir === 1 ? (st.u?.[1] ?? 0) : (st.d?.[1] ?? 0);
    const leadBefore = dir === 1 ? before : beforeDown;
    if (lead === 0) st.cp = undefined;
    else if (leadBefore === 0 || st.cp === undefined) st.cp = input.event.ts;
    return {
      state: st,
      evaluation: {
        breach,
        clear,
        statistic: significant(Math.max(lu, ld), 4),
        threshold: 1,
        n: st.a?.n ?? st.b?.n ?? 0,
        // Two literals rather than a spread of an optional field: this runs per value.
        details:
          st.cp !== undefined
            ? {
                direction: dir === 1 ? 'up' : 'down',
                thresholds: dir === 1 ? hu : hd,
                falseAlarmsPer1k: c.falseAlarmsPer1k,
                baselineMean: mean,
                baselineSigma: sigma,
                changePointMs: st.cp,
                lastEventMs: input.event.ts,
              }
            : {
                direction: dir === 1 ? 'up' : 'down',
                thresholds: dir === 1 ? hu : hd,
                falseAlarmsPer1k: c.falseAlarmsPer1k,
                baselineMean: mean,
                baselineSigma: sigma,
                lastEventMs: input.event.ts,
              },
      },
    };
  },
};
