#!/usr/bin/env node
// CDK app: `npx cdk synth` / `npx cdk deploy`. Context: stage, driftWindowSize, driftThreshold.
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { MonitorStack } from '../lib/stack/monitor-stack.js';

const app = new App();
const stage = String(app.node.tryGetContext('stage') ?? 'dev');
const num = (key: string) => {
  const v = app.node.tryGetContext(key);
  return v === undefined ? undefined : Number(v);
};
new MonitorStack(app, `VisuTilityMonitor-${stage}`, {
  stage,
  driftWindowSize: num('driftWindowSize'),
  driftThreshold: num('driftThreshold'),
});
Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
