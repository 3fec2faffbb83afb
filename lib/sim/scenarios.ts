// What can happen to a simulated camera, and what the monitor is expected to do about it.
// Data, not code paths: the demo's expected-vs-detected table is computed from this list, so a
// new detector gets a new row here.
import type { ActionType } from '../core/policy.js';

export const SCENARIO_IDS = [
  'healthy',
  'drift',
  'drift-recovers',
  'accuracy-regression',
  'latency-regression',
  'model-rollout',
  'malformed',
  'flaky-storage',
  'poison-storage',
] as const;
export type ScenarioId = (typeof SCENARIO_IDS)[number];

export interface Scenario {
  id: ScenarioId;
  /** One line, shown in the summary and the report. */
  description: string;
  /** The event each camera of this scenario must cause after its onset; null: no trigger at all. */
  expectedAction: ActionType | null;
  /** The alert must also resolve (AlertResolved) once the condition clears. */
  expectResolved?: boolean;
  /** Fraction of the fleet, with at least `min` cameras (the healthy rest takes what is left). */
  share: number;
  min: number;
  /** Whether the camera changes at an onset time (drawn between these fractions of the run). */
  onset: [number, number] | null;
  /** Fault injected on the handler's own DynamoDB client (SDK middleware) for this camera's writes. */
  storageFault?: 'transient' | 'permanent';
}

export const SCENARIOS: readonly Scenario[] = [
  {
    id: 'healthy',
    share: 0,
    min: 0,
    onset: null,
    expectedAction: null,
    description: 'stable model, realistic noise, low-sample intervals and latency spikes: must stay quiet',
  },
  {
    id: 'drift',
    share: 0.05,
    min: 1,
    onset: [0.25, 0.55],
    expectedAction: 'RetrainingRequested',
    description: 'input distribution shifts: DriftScore ramps up over ~40 min',
  },
  {
    id: 'drift-recovers',
    share: 0.02,
    min: 1,
    onset: [0.2, 0.35],
    expectedAction: 'RetrainingRequested',
    expectResolved: true,
    description: 'DriftScore rises for ~90 min, then the scene returns to normal: retrain, then AlertResolved',
  },
  {
    id: 'accuracy-regression',
    share: 0.05,
    min: 1,
    onset: [0.25, 0.55],
    expectedAction: 'HyperparameterTuningRequested',
    description: 'Accuracy/Precision/Recall drop 7-12 points without drift, same model_version',
  },
  {
    id: 'latency-regression',
    share: 0.05,
    min: 1,
    onset: [0.25, 0.55],
    expectedAction: 'SlaBreached',
    description: 'inference gets slow: LatencyMs climbs to 330-480 ms over ~20 min',
  },
  {
    id: 'model-rollout',
    share: 0.03,
    min: 1,
    onset: [0.3, 0.6],
    expectedAction: null,
    description: 'a new model_version rolls out, Accuracy -6..+3 points: the baseline is relearned, no trigger',
  },
  {
    id: 'malformed',
    share: 0.02,
    min: 1,
    onset: null,
    expectedAction: null,
    description: 'some bad array elements and truncated bodies among valid events: bad parts to the DLQ with reasons',
  },
  {
    id: 'flaky-storage',
    share: 0.01,
    min: 1,
    onset: null,
    expectedAction: null,
    storageFault: 'transient',
    description:
      'injected: its first state write fails, so that message is retried (partial batch failure), then applied',
  },
  {
    id: 'poison-storage',
    share: 0.005,
    min: 1,
    onset: null,
    expectedAction: null,
    storageFault: 'permanent',
    description: 'injected: every state write fails, so SQS redrives its messages to the DLQ after maxReceiveCount',
  },
];

export function scenario(id: ScenarioId): Scenario {
  const s = SCENARIOS.find((x) => x.id === id);
  if (!s) throw new Error(`unknown scenario ${id}`);
  return s;
}

/** How many cameras each scenario gets in a fleet of `cameras`; healthy takes the rest. */
export function scenarioCounts(cameras: number): Record<ScenarioId, number> {
  const counts = Object.fromEntries(SCENARIO_IDS.map((id) => [id, 0])) as Record<ScenarioId, number>;
  let assigned = 0;
  for (const s of SCENARIOS) {
    if (s.id === 'healthy') continue;
    counts[s.id] = Math.max(s.min, Math.round(s.share * cameras));
    assigned += counts[s.id];
  }
  if (assigned >= cameras)
    throw new Error(`a fleet of ${cameras} cameras is too small for every scenario (needs more than ${assigned})`);
  counts.healthy = cameras - assigned;
  return counts;
}
