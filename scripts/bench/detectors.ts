// (6) Detection quality by Monte Carlo on standardized N(0,1) streams: ARL0 (mean run length to a
// false alarm in control) and ARL1 (mean delay after a +1σ / +2σ mean shift), for every detector in
// the registry (DETECTORS, lib/core/policy.ts) through the Detector interface, next to textbook
// reference charts implemented here and an always-fire / never-fire sanity pair.
import { DEDUP_DEPTH } from '../../lib/core/camera-state.js';
import type { Detector } from '../../lib/core/detectors/detector.js';
import type { MetricEvent, MetricKind } from '../../lib/core/metric-event.js';
import {
  DEFAULT_POLICY,
  DETECTORS,
  DetectorSpecSchema,
  detectorConfig,
  type DetectorSpec,
} from '../../lib/core/policy.js';
import { insertEntry, type WindowEntry } from '../../lib/core/stream-window.js';
import { mulberry32, normal } from '../../lib/sim/prng.js';

// biome-ignore lint/suspicious/noExplicitAny: each detector has its own config and state types
type AnyDetector = Detector<any, any>;

export interface Anchor {
  arl0: number;
  arl1_1sigma: number;
  arl1_2sigma: number;
  source: string;
}

export interface DetectorCase {
  name: string;
  detector: AnyDetector;
  config: unknown;
  metric: MetricKind;
  anchor?: Anchor;
  /** Why a case has no figures. */
  note?: string;
}

export interface DetectorRow {
  name: string;
  arl0: number;
  arl1_1sigma: number;
  arl1_2sigma: number;
}
export interface DetectorReport extends DetectorRow {
  /** Firings per 1,000 evaluations in continuous operation (chart restarted after each alarm). */
  falseAlarmsPer1k?: Record<InControlSeries, number>;
  /** Which figures are lower bounds because some runs reached the cap. */
  capped: { arl0: boolean; arl1_1sigma: boolean; arl1_2sigma: boolean };
  anchor?: Anchor;
  note?: string;
}

// --- textbook reference charts (two-sided, known in-control mean 0 and σ 1) -------------------------

interface CusumConfig {
  k: number;
  h: number;
}
const referenceCusum: Detector<CusumConfig, { hi: number; lo: number }> = {
  kind: 'reference-cusum',
  windowSize: () => 0,
  update(s, { event }, c) {
    const hi = Math.max(0, (s?.hi ?? 0) + event.value - c.k);
    const lo = Math.max(0, (s?.lo ?? 0) - event.value - c.k);
    const stat = Math.max(hi, lo);
    return {
      state: { hi, lo },
      evaluation: { breach: stat > c.h, clear: stat <= c.h, statistic: stat, threshold: c.h, n: 1 },
    };
  },
};

interface EwmaConfig {
  lambda: number;
  L: number;
}
const referenceEwma: Detector<EwmaConfig, { z: number }> = {
  kind: 'reference-ewma',
  windowSize: () => 0,
  update(s, { event }, c) {
    const z = c.lambda * event.value + (1 - c.lambda) * (s?.z ?? 0);
    const limit = c.L * Math.sqrt(c.lambda / (2 - c.lambda)); // asymptotic limits, as Lucas & Saccucci
    return {
      state: { z },
      evaluation: { breach: Math.abs(z) > limit, clear: Math.abs(z) <= limit, statistic: z, threshold: limit, n: 1 },
    };
  },
};

const referenceShewhart: Detector<{ L: number }, null> = {
  kind: 'reference-shewhart',
  windowSize: () => 0,
  update(_s, { event }, c) {
    return {
      state: null,
      evaluation: {
        breach: Math.abs(event.value) > c.L,
        clear: Math.abs(event.value) <= c.L,
        statistic: event.value,
        threshold: c.L,
        n: 1,
      },
    };
  },
};

const constant = (fire: boolean): Detector<null, null> => ({
  kind: fire ? 'always-fire' : 'never-fire',
  windowSize: () => 0,
  update: () => ({
    state: null,
    evaluation: { breach: fire, clear: !fire, statistic: fire ? 1 : 0, threshold: 0.5, n: 1 },
  }),
});

/**
 * How each shipped kind runs on a standardized stream (mean 0, σ 1): its schema defaults (what
 * `{ "kind": … }` gets), and the default policy's sequential detectors as they are configured, with
 * the settings that are in a metric's own units restated in σ units. A kind missing here still gets
 * a row, saying that it needs one. Labels show the configuration actually run.
 */
export const STANDARDIZED: Record<
  string,
  | { metric: MetricKind; overrides: Record<string, unknown>; label: (c: Record<string, unknown>) => string }
  | { skip: string }
> = {
  'window-mean': {
    metric: 'DriftScore',
    overrides: { threshold: 3 / Math.sqrt(10) },
    label: (c) => `window ${c.windowSize}, full window ${c.requireFullWindow}, threshold 3σ/√${c.windowSize}`,
  },
  cusum: {
    metric: 'DriftScore',
    overrides: { minShift: 0 },
    label: (c) => `k=${c.k} h=${c.h}, one-sided ${c.direction}, baseline from ${c.warmup} values; minShift gate off`,
  },
  ewma: {
    metric: 'DriftScore',
    overrides: { minShift: 0 },
    label: (c) =>
      `λ=${c.lambda} L=${c.L}, one-sided ${c.direction}, baseline from ${c.warmup} values; minShift gate off`,
  },
  'mean-shift': {
    metric: 'DriftScore',
    overrides: { minShift: 0 },
    label: (c) =>
      `budget ${c.falseAlarmsPer1k} per 1,000, k 0.5 + k 1 CUSUMs ${c.direction}, armed after ${c.warmup} values, first day ${c.firstDay}; minShift gate off`,
  },
  'latency-quantile': {
    metric: 'LatencyMs',
    overrides: { slaMs: 2.6 },
    label: (c) => `p${Number(c.quantile) * 100} of ${c.windowSize}, SLA at ${c.slaMs}σ`,
  },
  regression: { skip: 'works on labelled-sample proportions (sample_count), not on a N(0,1) stream' },
};

function standardizedConfig(
  kind: string,
  std: { metric: MetricKind; overrides: Record<string, unknown> },
  policySpec?: DetectorSpec,
): unknown {
  const spec =
    policySpec ??
    DetectorSpecSchema.parse({
      id: `bench-${kind}`,
      kind,
      metric: std.metric,
      action: 'RetrainingRequested',
      ...std.overrides,
    });
  return { ...detectorConfig({ ...spec, metric: std.metric } as DetectorSpec), ...std.overrides };
}

export function detectorCases(): DetectorCase[] {
  const cases: DetectorCase[] = [
    {
      name: 'textbook CUSUM k=0.5 h=5 (reference)',
      detector: referenceCusum,
      config: { k: 0.5, h: 5 },
      metric: 'DriftScore',
      anchor: { arl0: 465, arl1_1sigma: 10.4, arl1_2sigma: 4.01, source: 'Montgomery' },
    },
    {
      name: 'textbook EWMA λ=0.1 L=2.814 (reference)',
      detector: referenceEwma,
      config: { lambda: 0.1, L: 2.814 },
      metric: 'DriftScore',
      anchor: { arl0: 500, arl1_1sigma: 10.3, arl1_2sigma: 4.36, source: 'Lucas & Saccucci 1990' },
    },
    {
      name: 'textbook Shewhart 3σ (reference)',
      detector: referenceShewhart,
      config: { L: 3 },
      metric: 'DriftScore',
      anchor: { arl0: 370, arl1_1sigma: 43.9, arl1_2sigma: 6.3, source: 'Montgomery' },
    },
  ];
  for (const [kind, detector] of Object.entries(DETECTORS)) {
    const std = STANDARDIZED[kind];
    if (!std || 'skip' in std) {
      cases.push({
        name: `shipped ${kind}`,
        detector,
        config: undefined,
        metric: 'DriftScore',
        note: std
          ? `not measured: ${std.skip}`
          : 'no standardized config: add one to STANDARDIZED in scripts/bench/detectors.ts',
      });
      continue;
    }
    const config = standardizedConfig(kind, std) as Record<string, unknown>;
    cases.push({
      name: `shipped ${kind} (schema defaults: ${std.label(config)})`,
      detector,
      config,
      metric: std.metric,
    });
  }
  // The fleet default's own sequential decisions (tuned for the demo's daily cycle, gate off here).
  for (const spec of DEFAULT_POLICY.detectors) {
    const std = STANDARDIZED[spec.kind];
    if (!std || 'skip' in std || !['cusum', 'ewma', 'mean-shift'].includes(spec.kind)) continue;
    const config = standardizedConfig(spec.kind, std, spec) as Record<string, unknown>;
    cases.push({
      name: `default policy ${spec.id} (${std.label(config)}, adaptRate ${config.adaptRate})`,
      detector: DETECTORS[spec.kind],
      config,
      metric: std.metric,
    });
  }
  cases.push({
    name: 'always-fire (sanity)',
    detector: constant(true),
    config: null,
    metric: 'DriftScore',
    anchor: { arl0: 1, arl1_1sigma: 1, arl1_2sigma: 1, source: 'by definition' },
  });
  cases.push({ name: 'never-fire (sanity)', detector: constant(false), config: null, metric: 'DriftScore' });
  return cases;
}

const seedOf = (s: string) => {
  let h = 2166136261;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619);
  return h >>> 0;
};

/**
 * One run: feed N(0, 1) values until the detector has made `burnIn` in-control evaluations (a run
 * that alarms during them starts over), then N(shift, 1) until it breaches. Counted from the first
 * evaluation after burn-in (steps before any evaluation are warm-up). Returns `cap` if it never fired.
 */
function runLength(c: DetectorCase, shift: number, burnIn: number, gauss: () => number, cap: number): number {
  const capacity = Math.max(DEDUP_DEPTH, c.detector.windowSize(c.config));
  const event = {
    id: 'bench',
    timestamp: '',
    ts: 0,
    camera_id: 'bench',
    modality: 'Rgb',
    metric: c.metric,
    value: 0,
  } as MetricEvent;
  for (let attempt = 0; attempt < 1000; attempt++) {
    const window: WindowEntry[] = [];
    let state: unknown;
    let evaluated = 0;
    let restart = false;
    for (let step = 0; step < (cap + burnIn) * 10 && !restart; step++) {
      const shifted = evaluated >= burnIn && (burnIn > 0 || evaluated > 0 || step === 0);
      const value = (shifted ? shift : 0) + gauss();
      // One value every 5 minutes, as in the long-run rows: a day (the first-day rule, the daily
      // model) is 288 values.
      event.ts = step * LONG_RUN_STEP_MS;
      event.value = value;
      insertEntry(window, { ts: event.ts, tag: step & 0xffff, value: Math.fround(value) }, capacity);
      const r = c.detector.update(state, { event, outcome: 'newest', window, firing: false }, c.config);
      state = r.state;
      if (!r.evaluation) continue;
      evaluated++;
      if (evaluated <= burnIn) {
        restart = r.evaluation.breach;
        continue;
      }
      if (r.evaluation.breach) return evaluated - burnIn;
      if (evaluated - burnIn >= cap) return cap;
    }
    if (!restart) return cap;
  }
  return NaN; // alarms during every burn-in: no steady state to measure
}

export function arl(
  c: DetectorCase,
  shift: number,
  runs: number,
  cap: number,
  steadyState = 0,
): { mean: number; capped: boolean } {
  const gauss = normal(mulberry32(seedOf(`${c.detector.kind}|${shift}`))); // seeded by kind: labels may change
  // Textbook anchors are zero-state (shift from the first value); detectors that hold a window see
  // the shift once it is full of in-control values, the way they meet a change in service.
  const burnIn = shift === 0 || c.anchor ? 0 : Math.max(steadyState, c.detector.windowSize(c.config));
  let sum = 0,
    capped = false;
  for (let r = 0; r < runs; r++) {
    const n = runLength(c, shift, burnIn, gauss, cap);
    if (n >= cap) capped = true;
    sum += n;
  }
  return { mean: sum / runs, capped };
}

export function benchDetectors(opts: {
  runs: number;
  cap: number;
  longRun: { streams: number; n: number };
}): DetectorReport[] {
  return detectorCases().map((c) => {
    if (c.note !== undefined) {
      return {
        name: c.name,
        arl0: NaN,
        arl1_1sigma: NaN,
        arl1_2sigma: NaN,
        capped: { arl0: false, arl1_1sigma: false, arl1_2sigma: false },
        note: c.note,
      };
    }
    const a0 = arl(c, 0, opts.runs, opts.cap),
      a1 = arl(c, 1, opts.runs, opts.cap),
      a2 = arl(c, 2, opts.runs, opts.cap);
    return {
      name: c.name,
      arl0: a0.mean,
      arl1_1sigma: a1.mean,
      arl1_2sigma: a2.mean,
      capped: { arl0: a0.capped, arl1_1sigma: a1.capped, arl1_2sigma: a2.capped },
      anchor: c.anchor,
      ...(c.name.startsWith('shipped') || c.name.startsWith('textbook') || c.name.startsWith('default policy')
        ? {
            falseAlarmsPer1k: {
              iid: longRunFalseAlarms(c, 'iid', opts.longRun),
              ar1: longRunFalseAlarms(c, 'ar1', opts.longRun),
              daily: longRunFalseAlarms(c, 'daily', opts.longRun),
            },
          }
        : {}),
    };
  });
}

// --- long-run false-alarm rate in continuous operation ---------------------------------------------

export type InControlSeries = 'iid' | 'ar1' | 'daily';
/** One value every 5 minutes: 288 a day, so the daily series has a real day/night cycle. */
export const LONG_RUN_STEP_MS = 300_000;

/**
 * In-control values in σ units: i.i.d. N(0,1); AR(1) with φ = 0.5 and unit variance; a daily sine
 * of amplitude 3σ (day high, night low) plus N(0,1).
 */
export function inControlSeries(kind: InControlSeries, n: number, seed: number): Float64Array {
  const gauss = normal(mulberry32(seed));
  const out = new Float64Array(n);
  let prev = 0;
  for (let i = 0; i < n; i++) {
    if (kind === 'iid') out[i] = gauss();
    else if (kind === 'ar1') out[i] = prev = 0.5 * prev + Math.sqrt(1 - 0.25) * gauss();
    else out[i] = 3 * Math.sin((2 * Math.PI * i * LONG_RUN_STEP_MS) / 86_400_000) + gauss();
  }
  return out;
}

/**
 * After an alarm the chart starts again from its centre. The shipped charts keep their baseline (as
 * in production, where it is learnt from the stream); the reference charts know theirs, so they start afresh.
 */
function restartChart(state: unknown): unknown {
  if (!state || typeof state !== 'object') return state;
  const st = state as {
    s?: number;
    z?: number;
    cp?: number;
    a?: unknown;
    b?: unknown;
    u?: number[];
    d?: number[];
    f?: number;
    ro?: number;
  };
  if (st.a === undefined && st.b === undefined) return undefined;
  if (typeof st.s === 'number') st.s = 0;
  if (typeof st.z === 'number') st.z = 0;
  if (st.u) st.u = st.u.map(() => 0);
  if (st.d) st.d = st.d.map(() => 0);
  delete st.f;
  delete st.ro;
  delete st.cp;
  return st;
}

/**
 * Firings per 1,000 evaluations of one detector run continuously over `streams` series of `n` values
 * each (baseline learned from the stream itself, as in production; chart restarted after each alarm).
 */
export function longRunFalseAlarms(
  c: DetectorCase,
  kind: InControlSeries,
  opts: { streams: number; n: number },
): number {
  const capacity = Math.max(DEDUP_DEPTH, c.detector.windowSize(c.config));
  let firings = 0,
    evaluations = 0;
  for (let s = 0; s < opts.streams; s++) {
    const values = inControlSeries(kind, opts.n, seedOf(`${kind}|${s}`));
    const event = { id: 'lr', timestamp: '', ts: 0, camera_id: 'lr', modality: 'Rgb', metric: c.metric, value: 0 };
    const window: WindowEntry[] = [];
    let state: unknown;
    let breaching = false;
    for (let i = 0; i < values.length; i++) {
      event.ts = i * LONG_RUN_STEP_MS;
      event.value = values[i]!;
      insertEntry(window, { ts: event.ts, tag: i & 0xffff, value: Math.fround(event.value) }, capacity);
      const r = c.detector.update(
        state,
        { event: event as MetricEvent, outcome: 'newest', window, firing: false },
        c.config,
      );
      state = r.state;
      if (!r.evaluation) continue;
      evaluations++;
      // Window detectors have no chart to restart: a firing is the start of a breaching run.
      if (r.evaluation.breach && !breaching) {
        firings++;
        state = restartChart(state);
      }
      breaching = r.evaluation.breach && !(state && typeof state === 'object');
    }
  }
  return evaluations ? (1000 * firings) / evaluations : NaN;
}

// --- the shipped per-metric decision at its default budget -------------------------------------------

export interface DecisionReport {
  name: string;
  /** the default budget, false alarms per 1,000 evaluations */
  budgetPer1k: number;
  /** values before its first decision on a new stream */
  armedAfterValues: number;
  /** the same with a prior (a policy's or its cohort's) */
  armedAfterValuesWithPrior: number;
  /** mean evaluations to a false alarm from the first decision (self-starting stretch included) */
  decisionArl0: number;
  /** mean delay to a shift of that many σ starting after `steadyState` in-control evaluations */
  decisionArl1: Record<'0.5' | '1' | '2' | '3', number>;
  steadyState: number;
  capped: boolean;
}

/** The default `mean-shift` decision on DriftScore (one-sided, as the policy runs it). */
export function decisionCase(overrides: Record<string, unknown> = {}): DetectorCase {
  const std = STANDARDIZED['mean-shift'] as { metric: MetricKind; overrides: Record<string, unknown> };
  const config = { ...(standardizedConfig('mean-shift', std) as Record<string, unknown>), ...overrides };
  return { name: 'mean-shift decision', detector: DETECTORS['mean-shift'], config, metric: std.metric };
}

/** Values a detector takes before its first evaluation on an i.i.d. N(0,1) stream. */
export function armedAfterValues(c: DetectorCase): number {
  const gauss = normal(mulberry32(1));
  const event = { id: 'arm', timestamp: '', ts: 0, camera_id: 'arm', modality: 'Rgb', metric: c.metric, value: 0 };
  let state: unknown;
  for (let i = 0; i < 10_000; i++) {
    event.ts = i * LONG_RUN_STEP_MS;
    event.value = gauss();
    const r = c.detector.update(
      state,
      { event: event as MetricEvent, outcome: 'newest', window: [], firing: false },
      c.config,
    );
    state = r.state;
    if (r.evaluation) return i;
  }
  return Infinity;
}

export function benchDecision(opts: { runs: number; cap: number; steadyState: number }): DecisionReport {
  const c = decisionCase();
  const a0 = arl(c, 0, opts.runs, opts.cap);
  const shifts = ['0.5', '1', '2', '3'] as const;
  const a1 = shifts.map((k) => arl(c, Number(k), opts.runs, opts.cap, opts.steadyState));
  const config = c.config as { falseAlarmsPer1k: number };
  return {
    name: `default mean-shift decision on DriftScore (${(STANDARDIZED['mean-shift'] as { label: (c: Record<string, unknown>) => string }).label(c.config as Record<string, unknown>)})`,
    budgetPer1k: config.falseAlarmsPer1k,
    armedAfterValues: armedAfterValues(c),
    armedAfterValuesWithPrior: armedAfterValues(decisionCase({ prior: { mean: 0, sigma: 1, n: 50 } })),
    decisionArl0: a0.mean,
    decisionArl1: Object.fromEntries(shifts.map((k, i) => [k, a1[i]!.mean])) as DecisionReport['decisionArl1'],
    steadyState: opts.steadyState,
    capped: a0.capped || a1.some((a) => a.capped),
  };
}
