// Policies as data: which detectors watch which metric, and which action each one asks for.
// Pure: no AWS imports. (Scoped policies and validation grow in the detectors issue.)
import type { MetricKind } from './metric-event.js';
import type { Detector } from './detectors/detector.js';
import { windowMean, type WindowMeanConfig } from './detectors/window-mean.js';

export const ACTIONS = ['RetrainingRequested', 'HyperparameterTuningRequested', 'SlaBreached'] as const;
export type ActionType = (typeof ACTIONS)[number];

export interface DetectorSpec {
  /** Stable id within the policy: part of every triggerId, so renaming it starts new episodes. */
  id: string;
  kind: 'window-mean';
  metric: MetricKind;
  action: ActionType;
  config: WindowMeanConfig;
}

export interface Policy {
  id: string;
  detectors: DetectorSpec[];
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export const DETECTORS: Record<DetectorSpec['kind'], Detector<any, any>> = {
  'window-mean': windowMean,
};

/** Entries each metric's stream must hold, beyond the dedup depth. */
export function windowSizes(policy: Policy): Partial<Record<MetricKind, number>> {
  const out: Partial<Record<MetricKind, number>> = {};
  for (const d of policy.detectors) {
    const size = DETECTORS[d.kind].windowSize(d.config);
    out[d.metric] = Math.max(out[d.metric] ?? 0, size);
  }
  return out;
}

/** The original module's behaviour: window-mean drift detector asking for retraining. */
export function driftPolicy(windowSize: number, threshold: number): Policy {
  return {
    id: 'default',
    detectors: [
      { id: 'drift-window-mean', kind: 'window-mean', metric: 'DriftScore', action: 'RetrainingRequested', config: { windowSize, threshold } },
    ],
  };
}
