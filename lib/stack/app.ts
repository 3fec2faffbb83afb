// The CDK app's content, shared by bin/app.ts and the tests: config from context, the stack, and
// cdk-nag AwsSolutions as a synth-time validation (an unacknowledged finding fails the synth).
import { type App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { MonitorStack } from './monitor-stack.js';
import { parseStackConfig } from './stack-config.js';

/** Adds the monitor stack for the stage in context; throws StackConfigError on bad context. */
export function buildMonitorApp(app: App): MonitorStack {
  const config = parseStackConfig((key) => app.node.tryGetContext(key));
  const stack = new MonitorStack(app, `VisuTilityMonitor-${config.stage}`, { config });
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  return stack;
}
