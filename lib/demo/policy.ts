// The policy the ingest handler runs with, seen from the demo: which actions it can publish (a
// scenario expecting another one is 'needs detector') and the detectors to draw in the report.
// Mirrors functions/wiring.ts: DEFAULT_POLICY from the environment, else the built-in default
// (the demo stores no policy in the table).
import { DEFAULT_POLICY, parsePolicy, type ActionType, type DetectorSpec, type Policy } from '../core/policy.js';
import { ENV } from '../resources.js';

export interface MonitorPolicy {
  policy: Policy;
  actions: ActionType[];
  detectors: DetectorSpec[];
}

export function monitorPolicy(env: NodeJS.ProcessEnv = process.env): MonitorPolicy {
  const json = env[ENV.defaultPolicy];
  const policy = json ? parsePolicy(json) : DEFAULT_POLICY;
  const actions = new Set<ActionType>();
  for (const d of policy.detectors) {
    actions.add(d.action);
    if (d.escalate) actions.add(d.escalate.action);
    if (d.kind === 'regression' && d.severeDrop !== undefined) actions.add(d.severeAction);
  }
  return { policy, actions: [...actions], detectors: policy.detectors };
}
