// The policy the ingest handler runs with, seen from the demo: which actions it can publish (a
// scenario expecting another one is 'needs detector') and the detectors to draw in the report.
import { numberEnv } from '../adapters/env.js';
import { driftPolicy, type ActionType, type DetectorSpec, type Policy } from '../core/policy.js';
import { DEFAULT_DRIFT, ENV } from '../resources.js';

export interface MonitorPolicy {
  policy: Policy;
  actions: ActionType[];
  detectors: DetectorSpec[];
}

/** Built the way functions/ingest.ts builds it, from the same environment. */
export async function monitorPolicy(): Promise<MonitorPolicy> {
  const policy = driftPolicy(numberEnv(ENV.windowSize, DEFAULT_DRIFT.windowSize), numberEnv(ENV.threshold, DEFAULT_DRIFT.threshold));
  return { policy, actions: [...new Set(policy.detectors.map((d) => d.action))], detectors: policy.detectors };
}
