// Policies as data: which detectors watch which metric, what each asks for, and the alert
// lifecycle settings. Scoped fleet → modality → camera (most specific wins). Pure: no AWS imports.
import * as z from 'zod/mini';
import {
  formatCharacterProblem,
  METRICS,
  MODALITIES,
  QUALITY_METRICS,
  type MetricKind,
  type Modality,
} from './metric-event.js';
import type { Detector } from './detectors/detector.js';
import { windowMean } from './detectors/window-mean.js';
import { latencyQuantile } from './detectors/latency-quantile.js';
import { regression } from './detectors/regression.js';
import { cusum } from './detectors/cusum.js';
import { ewma } from './detectors/ewma.js';
import { meanShift } from './detectors/mean-shift.js';
import { DEFAULT_ALLOWED_LATENESS_MS } from './lateness.js';

export const ACTIONS = ['RetrainingRequested', 'HyperparameterTuningRequested', 'SlaBreached'] as const;
export type ActionType = (typeof ACTIONS)[number];
export const POLICY_SCHEMA_VERSION = 1;

const action = z.enum(ACTIONS, {
  error: (i) => `must be one of ${ACTIONS.join(' | ')}, got ${JSON.stringify(i.input)}`,
});
const metric = z.enum(METRICS, {
  error: (i) => `must be one of ${METRICS.join(' | ')}, got ${JSON.stringify(i.input)}`,
});
const direction = z.enum(['up', 'down'], { error: () => 'must be "up" or "down"' });
const num = () => z.number({ error: 'must be a number' });
const positive = () => num().check(z.positive({ message: 'must be > 0' }));
const nonNegative = () => num().check(z.minimum(0, { message: 'must be >= 0' }));
const count = (min: number, max: number) =>
  z
    .int({ error: 'must be an integer' })
    .check(z.minimum(min, { message: `must be >= ${min}` }), z.maximum(max, { message: `must be <= ${max}` }));
const fraction = (msg: string) => num().check(z.gt(0, { message: msg }), z.lt(1, { message: msg }));
const withDefault = <T extends z.ZodMiniType>(schema: T, value: z.output<T>) => z._default(schema, value as never);

const common = {
  id: z
    .string({ error: 'must be a string' })
    .check(z.regex(/^[a-z0-9][a-z0-9-]{0,47}$/, { message: 'must be 1-48 chars of a-z, 0-9 and "-"' })),
  metric,
  action,
  /** Restrict to some modalities (default: all). */
  modalities: z.optional(z.array(z.enum(MODALITIES)).check(z.minLength(1))),
  /** Ask for this action instead while any of these detectors fires on the same camera + modality. */
  escalate: z.optional(z.strictObject({ ifFiring: z.array(z.string()).check(z.minLength(1)), action })),
};

const sequential = {
  direction: z.optional(direction),
  warmup: withDefault(count(5, 10_000), 200),
  minSigma: z.optional(positive()),
  /** Practical-significance gate in the metric's units: the EW mean must have moved this far. */
  minShift: withDefault(nonNegative(), 0),
  /** "adaptive" follows what is normal (adaptive-baseline.ts); "frozen" is the original warm-up-then-freeze. */
  baseline: withDefault(z.enum(['adaptive', 'frozen'], { error: () => 'must be "adaptive" or "frozen"' }), 'adaptive'),
  /** EW rate of the adaptive baseline after the warm-up (memory ≈ 1 / adaptRate values). */
  adaptRate: withDefault(
    num().check(z.gt(0, { message: 'must be in (0, 0.5]' }), z.maximum(0.5, { message: 'must be in (0, 0.5]' })),
    0.0075,
  ),
  /** "daily": a per-hour-of-day baseline once 2 days of history explain the spread (adaptive only). */
  seasonality: withDefault(z.enum(['daily', 'none'], { error: () => 'must be "daily" or "none"' }), 'daily'),
  /** "prewhiten": remove the estimated lag-1 correlation before the chart (adaptive only). */
  autocorrelation: withDefault(
    z.enum(['prewhiten', 'ignore'], { error: () => 'must be "prewhiten" or "ignore"' }),
    'prewhiten',
  ),
  /** The cohort's (today: the modality's fleet) baseline: arms a new stream from its first value. */
  prior: z.optional(z.strictObject({ mean: num(), sigma: positive(), n: withDefault(count(1, 100_000), 50) })),
};

const WindowMeanSpec = z.strictObject({
  ...common,
  kind: z.literal('window-mean'),
  windowSize: withDefault(count(1, 120), 10),
  threshold: num(),
  hysteresis: withDefault(nonNegative(), 0.05),
  requireFullWindow: withDefault(z.boolean(), true),
});

const LatencyQuantileSpec = z.strictObject({
  ...common,
  kind: z.literal('latency-quantile'),
  windowSize: withDefault(count(5, 120), 20),
  quantile: withDefault(fraction('must be in (0, 1)'), 0.95),
  slaMs: positive(),
  hysteresis: withDefault(
    num().check(z.minimum(0, { message: 'must be in [0, 1)' }), z.lt(1, { message: 'must be in [0, 1)' })),
    0.1,
  ),
  minSamples: z.optional(count(1, 120)),
});

const RegressionSpec = z.strictObject({
  ...common,
  kind: z.literal('regression'),
  baselineSamples: withDefault(count(1, 1e9), 1000),
  minSamples: withDefault(count(1, 1e9), 300),
  drop: withDefault(positive().check(z.maximum(1, { message: 'must be <= 1' })), 0.05),
  z: withDefault(nonNegative(), 4),
  halfLifeSamples: withDefault(positive(), 500),
  hysteresis: withDefault(nonNegative(), 0.02),
  /** Most labelled samples one value counts for (default: a quarter of baselineSamples). */
  maxValueWeight: z.optional(positive()),
  /** A drop this large asks for `severeAction` (default RetrainingRequested) instead. */
  severeDrop: z.optional(positive().check(z.maximum(1, { message: 'must be <= 1' }))),
  severeAction: withDefault(action, 'RetrainingRequested'),
});

const CusumSpec = z.strictObject({
  ...common,
  kind: z.literal('cusum'),
  ...sequential,
  k: withDefault(nonNegative(), 0.5),
  h: withDefault(positive(), 4.5),
});
const EwmaSpec = z.strictObject({
  ...common,
  kind: z.literal('ewma'),
  ...sequential,
  lambda: withDefault(
    num().check(z.gt(0, { message: 'must be in (0, 1]' }), z.maximum(1, { message: 'must be in (0, 1]' })),
    0.15,
  ),
  L: withDefault(positive(), 2.75),
});

/**
 * A metric's change decision: two CUSUMs per watched direction (shifts near 1σ and larger ones) whose
 * thresholds come from the policy's false-alarm budget for the metric (detectors/mean-shift.ts).
 */
const MeanShiftSpec = z.strictObject({
  ...common,
  kind: z.literal('mean-shift'),
  ...sequential,
  direction: z.optional(z.enum(['up', 'down', 'both'], { error: () => 'must be "up", "down" or "both"' })),
  /** Values learnt before it decides (self-starting after them: the same false-alarm rate). */
  warmup: withDefault(count(5, 10_000), 50),
  /**
   * A breach in the stream's first day, before its daily question is settled (a day after its first
   * value): "hold" fires it then if the level has not come back (a daily cycle's first turn comes
   * back); "decide" fires at once.
   */
  firstDay: withDefault(z.enum(['hold', 'decide'], { error: () => 'must be "hold" or "decide"' }), 'hold'),
});

export const DetectorSpecSchema = z.discriminatedUnion(
  'kind',
  [WindowMeanSpec, LatencyQuantileSpec, RegressionSpec, CusumSpec, EwmaSpec, MeanShiftSpec],
  {
    error: (i) =>
      `kind must be one of window-mean | latency-quantile | regression | cusum | ewma | mean-shift, got ${JSON.stringify((i.input as { kind?: unknown })?.kind)}`,
  },
);

/** A budget in false alarms per 1,000 evaluations (ARL0 = 1,000 / budget). */
const budget = () =>
  num().check(
    z.gt(0, { message: 'must be in (0, 100] false alarms per 1,000 evaluations' }),
    z.maximum(100, { message: 'must be in (0, 100] false alarms per 1,000 evaluations' }),
  );
export const DEFAULT_FALSE_ALARMS_PER_1K = 0.5;
/**
 * False alarms a metric's `mean-shift` decisions may raise together on in-control data, per 1,000
 * evaluations of the metric (0.5: ARL0 2,000). Their thresholds derive from it; several decisions
 * on one metric split it.
 */
export const FalseAlarmBudgetSchema = z.strictObject({
  per1kEvaluations: withDefault(budget(), DEFAULT_FALSE_ALARMS_PER_1K),
  /** Per-metric budgets; a metric not named here has `per1kEvaluations`. */
  byMetric: z.optional(z.partialRecord(metric, budget())),
});

/** Thresholds of model-scope (cohort) decisions and of the lone-camera test (docs/fleet-decisions.md). */
export const CohortPolicySchema = z.strictObject({
  /** Share of a cohort's active cameras with drift/regression alerts that opens a model episode. */
  minShare: withDefault(fraction('must be in (0, 1)'), 0.2),
  /** …and at least this many cameras. */
  minCameras: withDefault(count(1, 1_000_000), 3),
  /** The episode ends when the share falls below minShare − hysteresis. */
  hysteresis: withDefault(
    num().check(z.minimum(0, { message: 'must be in [0, 1)' }), z.lt(1, { message: 'must be in [0, 1)' })),
    0.05,
  ),
  /** A lone camera needs at least this many healthy active peers to be called an anomaly. */
  minPeers: withDefault(count(1, 1_000_000), 5),
  /** A lone camera must stay affected this long (event time) before it is judged. */
  confirmSeconds: withDefault(nonNegative(), 1800),
  /** Robust z (0.6745·(x − median)/MAD) beyond which the camera sits apart from its peers. */
  outlierZ: withDefault(positive(), 3.5),
  /** Floor of the peers' MAD, in the statistic's units (identical peers would give MAD 0). */
  minMad: withDefault(positive(), 0.01),
  /** affectedCameras lists at most this many ids (affectedCameraCount gives all). */
  maxListedCameras: withDefault(count(1, 1000), 100),
});
export type CohortPolicy = z.output<typeof CohortPolicySchema>;
const RETRAIN_SCOPES = ['model', 'camera'] as const;

export const PolicySchema = z
  .strictObject({
    schemaVersion: withDefault(z.literal(POLICY_SCHEMA_VERSION), POLICY_SCHEMA_VERSION),
    id: z.string().check(
      z.regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, {
        message: 'must be 1-64 chars of letters, digits, ".", "_" and "-"',
      }),
    ),
    description: z.optional(z.string().check(z.maxLength(500))),
    detectors: z
      .array(DetectorSpecSchema)
      .check(
        z.minLength(1, { message: 'needs at least one detector' }),
        z.maxLength(20, { message: 'at most 20 detectors' }),
      ),
    /** After an action fires for a camera, the same action is held back this long (event time). */
    cooldownSeconds: withDefault(nonNegative(), 3600),
    /** A retrain that never reports completion stops suppressing new ones after this long. */
    inFlightTimeoutSeconds: withDefault(positive(), 86_400),
    /**
     * How far (ms) an event may be behind its stream's newest and still be applied exactly once (lateness.ts).
     * Default 3 h: an hourly upload retried once, after the next one, with an hour to spare.
     */
    allowedLatenessMs: withDefault(count(0, 7 * 86_400_000), DEFAULT_ALLOWED_LATENESS_MS),
    /**
     * "model": drift/regression on a camera with a known model version goes to its cohort, which decides
     * once per model (default). "camera": every camera decides for itself (per-camera fine-tuning).
     */
    retrainScope: withDefault(
      z.enum(RETRAIN_SCOPES, {
        error: (i) => `must be "model" or "camera", got ${JSON.stringify(i.input)}`,
      }),
      'model',
    ),
    cohort: withDefault(CohortPolicySchema, CohortPolicySchema.parse({})),
    falseAlarmBudget: withDefault(FalseAlarmBudgetSchema, FalseAlarmBudgetSchema.parse({})),
  })
  .check(
    z.superRefine((p, ctx) => {
      if (p.cohort.hysteresis >= p.cohort.minShare)
        ctx.addIssue({
          code: 'custom',
          path: ['cohort', 'hysteresis'],
          message: `must be < cohort.minShare (${p.cohort.minShare}), or an open model episode could never end`,
        });
      const ids = new Set<string>();
      p.detectors.forEach((d, i) => {
        if (ids.has(d.id))
          ctx.addIssue({ code: 'custom', path: ['detectors', i, 'id'], message: `duplicate detector id "${d.id}"` });
        ids.add(d.id);
        if (d.kind === 'regression' && !(QUALITY_METRICS as readonly string[]).includes(d.metric))
          ctx.addIssue({
            code: 'custom',
            path: ['detectors', i, 'metric'],
            message: `regression watches Accuracy | Precision | Recall, not ${d.metric}`,
          });
        if (d.kind === 'latency-quantile' && d.metric !== 'LatencyMs')
          ctx.addIssue({
            code: 'custom',
            path: ['detectors', i, 'metric'],
            message: `latency-quantile watches LatencyMs, not ${d.metric}`,
          });
      });
      p.detectors.forEach((d, i) => {
        for (const ref of d.escalate?.ifFiring ?? [])
          if (!ids.has(ref))
            ctx.addIssue({
              code: 'custom',
              path: ['detectors', i, 'escalate', 'ifFiring'],
              message: `unknown detector id "${ref}"`,
            });
      });
    }),
  );

export type DetectorSpec = z.output<typeof DetectorSpecSchema>;
export type Policy = z.output<typeof PolicySchema>;
export type PolicyInput = z.input<typeof PolicySchema>;

export class PolicyError extends Error {
  constructor(readonly issues: { path: string; message: string }[]) {
    super(`invalid policy: ${issues.map((i) => (i.path ? `${i.path}: ${i.message}` : i.message)).join('; ')}`);
    this.name = 'PolicyError';
  }
}

const pathText = (path: readonly PropertyKey[]) =>
  path.map((p, i) => (typeof p === 'number' ? `[${p}]` : `${i ? '.' : ''}${String(p)}`)).join('');

/** Validates a policy (parsed JSON or text) and fills defaults. Throws PolicyError naming each fault. */
export function parsePolicy(input: unknown): Policy {
  let value = input;
  if (typeof input === 'string') {
    try {
      value = JSON.parse(input);
    } catch (err) {
      throw new PolicyError([{ path: '', message: `not valid JSON: ${(err as Error).message}` }]);
    }
  }
  const r = PolicySchema.safeParse(value);
  if (!r.success) throw new PolicyError(r.error.issues.map((i) => ({ path: pathText(i.path), message: i.message })));
  shareBudget(r.data);
  return r.data;
}

/** Each spec's share of its metric's false-alarm budget (set by parsePolicy; default: a whole budget). */
const budgetShares = new WeakMap<DetectorSpec, number>();

/** The metric's budget, split evenly over the metric's `mean-shift` decisions. */
function shareBudget(p: Policy): void {
  for (const d of p.detectors) {
    if (d.kind !== 'mean-shift') continue;
    const peers = p.detectors.filter((o) => o.kind === 'mean-shift' && o.metric === d.metric).length;
    const metricBudget = p.falseAlarmBudget.byMetric?.[d.metric] ?? p.falseAlarmBudget.per1kEvaluations;
    budgetShares.set(d, metricBudget / peers);
  }
}

// biome-ignore lint/suspicious/noExplicitAny: each detector has its own config and state types
export const DETECTORS: Record<DetectorSpec['kind'], Detector<any, any>> = {
  'window-mean': windowMean,
  'latency-quantile': latencyQuantile,
  regression,
  cusum,
  ewma,
  'mean-shift': meanShift,
};

/** Sequential detectors default to the direction that hurts: quality drops, drift and latency rise. */
export const harmfulDirection = (m: MetricKind): 'up' | 'down' =>
  (QUALITY_METRICS as readonly string[]).includes(m) ? 'down' : 'up';
const defaultMinSigma = (m: MetricKind) => (m === 'LatencyMs' ? 1 : 0.005);

// Parsed policies are never mutated, so per-spec and per-policy derivations are computed once:
// applyEvents asks for them on every event (the ingest bench measured them at ~7% of the path).
const configs = new WeakMap<DetectorSpec, Record<string, unknown>>();
const sizesOf = new WeakMap<Policy, Partial<Record<MetricKind, number>>>();

/** The configuration a detector's code receives: the spec with metric-dependent defaults filled. */
export function detectorConfig(spec: DetectorSpec): Record<string, unknown> {
  let config = configs.get(spec);
  if (!config) configs.set(spec, (config = buildDetectorConfig(spec)));
  return config;
}

function buildDetectorConfig(spec: DetectorSpec): Record<string, unknown> {
  switch (spec.kind) {
    case 'cusum':
    case 'ewma':
      return {
        ...spec,
        direction: spec.direction ?? harmfulDirection(spec.metric),
        minSigma: spec.minSigma ?? defaultMinSigma(spec.metric),
      };
    case 'mean-shift':
      return {
        ...spec,
        direction: spec.direction ?? harmfulDirection(spec.metric),
        minSigma: spec.minSigma ?? defaultMinSigma(spec.metric),
        falseAlarmsPer1k: budgetShares.get(spec) ?? DEFAULT_FALSE_ALARMS_PER_1K,
        priorLevel: 'own',
      };
    case 'latency-quantile':
      return { ...spec, minSamples: spec.minSamples ?? spec.windowSize };
    default:
      return spec;
  }
}

export const appliesTo = (spec: DetectorSpec, modality: Modality) =>
  !spec.modalities || spec.modalities.includes(modality);

/** Entries each metric's stream must hold for the policy's window detectors. */
export function windowSizes(policy: Policy): Partial<Record<MetricKind, number>> {
  let out = sizesOf.get(policy);
  if (out) return out;
  out = {};
  for (const d of policy.detectors) out[d.metric] = Math.max(out[d.metric] ?? 0, DETECTORS[d.kind].windowSize(d));
  sizesOf.set(policy, out);
  return out;
}

/** The original module's behaviour alone: window-mean drift detector asking for retraining. */
export function driftPolicy(windowSize: number, threshold: number): Policy {
  return parsePolicy({
    id: 'drift-only',
    detectors: [
      {
        id: 'drift-window-mean',
        kind: 'window-mean',
        metric: 'DriftScore',
        action: 'RetrainingRequested',
        windowSize,
        threshold,
        hysteresis: 0,
      },
    ],
    cooldownSeconds: 0,
    retrainScope: 'camera',
  });
}

/**
 * Fleet default. Drift → retrain (window mean for any level over 0.7, plus the metric's mean-shift
 * decision at the policy's false-alarm budget, gated on a 0.12 practical shift, for a fast change from
 * the camera's own normal);
 * a moderate accuracy drop without drift → tuning, escalated to retrain with drift or when severe;
 * p95 latency over 250 ms → SLA.
 */
export const DEFAULT_POLICY_INPUT: PolicyInput = {
  id: 'default',
  description:
    'Fleet default: drift → retrain; accuracy drop → tuning (retrain with drift or when severe); p95 latency → SLA.',
  detectors: [
    {
      id: 'drift-window-mean',
      kind: 'window-mean',
      metric: 'DriftScore',
      action: 'RetrainingRequested',
      windowSize: 10,
      threshold: 0.7,
      hysteresis: 0.05,
    },
    {
      id: 'drift-mean-shift',
      kind: 'mean-shift',
      metric: 'DriftScore',
      action: 'RetrainingRequested',
      // The metric's decision at the policy's false-alarm budget, armed after 50 values (100 minutes of
      // 2-minute summaries). Its level follows the evening within about 50 values (adaptRate 0.02) and
      // it acts on a practical shift of 0.12 only: healthy cameras stay quiet through their first
      // night, before the hourly model has its day (npm run demo). A camera's first day is decided at
      // once (firstDay "decide"): a new camera that drifts must not wait a day.
      adaptRate: 0.02,
      minShift: 0.12,
      firstDay: 'decide',
    },
    {
      id: 'accuracy-regression',
      kind: 'regression',
      metric: 'Accuracy',
      action: 'HyperparameterTuningRequested',
      baselineSamples: 1000,
      minSamples: 300,
      drop: 0.05,
      z: 4,
      severeDrop: 0.15,
      escalate: { ifFiring: ['drift-window-mean', 'drift-mean-shift'], action: 'RetrainingRequested' },
    },
    {
      id: 'latency-p95',
      kind: 'latency-quantile',
      metric: 'LatencyMs',
      action: 'SlaBreached',
      windowSize: 20,
      quantile: 0.95,
      slaMs: 250,
    },
  ],
  cooldownSeconds: 3600,
  inFlightTimeoutSeconds: 86_400,
};
export const DEFAULT_POLICY: Policy = parsePolicy(DEFAULT_POLICY_INPUT);

// ---- scopes -------------------------------------------------------------------------------

export type PolicyScope = 'fleet' | `modality:${Modality}` | `camera:${string}`;

export function parseScope(text: string): PolicyScope {
  if (text === 'fleet') return 'fleet';
  const [kind, ...rest] = text.split(':');
  const value = rest.join(':');
  if (kind === 'modality' && (MODALITIES as readonly string[]).includes(value)) return text as PolicyScope;
  if (kind === 'camera' && value.length > 0 && value.length <= 128) {
    // No event can carry such a camera id (metric-event.ts), so a policy for it would never apply.
    const problem = formatCharacterProblem('scope camera id', value);
    if (problem) throw new PolicyError([{ path: 'scope', message: problem }]);
    return text as PolicyScope;
  }
  throw new PolicyError([
    {
      path: 'scope',
      message: `scope must be "fleet", "modality:<${MODALITIES.join('|')}>" or "camera:<camera_id>", got ${JSON.stringify(text)}`,
    },
  ]);
}

/** Most specific wins: camera, then modality, then fleet, then the built-in fallback. */
export function resolvePolicy(
  policies: ReadonlyMap<string, Policy>,
  cameraId: string,
  modality: Modality,
  fallback: Policy,
): Policy {
  return (
    policies.get(`camera:${cameraId}`) ?? policies.get(`modality:${modality}`) ?? policies.get('fleet') ?? fallback
  );
}
