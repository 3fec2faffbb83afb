// cdk-nag 3's validateScope reports every finding; CDK filters acknowledgements only during synth.
// This applies the same rule for tests: a finding is acknowledged when its rule id (with or without
// the [finding] suffix) was acknowledged, with a non-empty reason, on the resource or an ancestor.
import type { App } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import type { IConstruct } from 'constructs';

const META = 'aws:cdk:acknowledged-rules';

export interface Finding {
  rule: string;
  path: string;
}

export function unacknowledgedFindings(app: App): Finding[] {
  const byPath = new Map<string, IConstruct>();
  for (const c of app.node.findAll()) byPath.set(c.node.path, c);
  const acks = (c: IConstruct | undefined): Record<string, string> => {
    const out: Record<string, string> = {};
    for (let x = c; x; x = x.node.scope) {
      for (const m of x.node.metadata) if (m.type === META) Object.assign(out, m.data as Record<string, string>);
    }
    return out;
  };
  const report = new AwsSolutionsChecks().validateScope(app);
  const open: Finding[] = [];
  for (const v of report.violations ?? []) {
    const base = v.ruleName.replace(/\[.*$/, '');
    for (const r of v.violatingResources) {
      const path = r.constructPath ?? '';
      const a = acks(byPath.get(path));
      const reason = a[`AwsSolutions::${v.ruleName}`] ?? a[`AwsSolutions::${base}`] ?? a[v.ruleName] ?? a[base];
      if (!reason || reason.trim().length < 10) open.push({ rule: v.ruleName, path });
    }
  }
  return open;
}

/** Every acknowledgement in the app with its reason (to check that each one says why). */
export function acknowledgements(app: App): { id: string; path: string; reason: string }[] {
  const out: { id: string; path: string; reason: string }[] = [];
  for (const c of app.node.findAll()) {
    for (const m of c.node.metadata) {
      if (m.type !== META) continue;
      for (const [id, reason] of Object.entries(m.data as Record<string, string>))
        out.push({ id, path: c.node.path, reason });
    }
  }
  return out;
}
