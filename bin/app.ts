#!/usr/bin/env node
// CDK app: `npx cdk synth` / `npx cdk deploy`. Context: stage, defaultPolicy (JSON).
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { MonitorStack } from '../lib/stack/monitor-stack.js';

const app = new App();
const stage = String(app.node.tryGetContext('stage') ?? 'dev');
new MonitorStack(app, `VisuTilityMonitor-${stage}`, {
  stage,
  defaultPolicy: app.node.tryGetContext('defaultPolicy'),
});
Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
