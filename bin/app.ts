#!/usr/bin/env node
// CDK app: `npx cdk synth` / `npx cdk deploy`. Every setting comes from CDK context, validated by
// lib/stack/stack-config.ts (docs/configuration.md); a bad value stops synth with the key named.
import { App } from 'aws-cdk-lib';
import { buildMonitorApp } from '../lib/stack/app.js';
import { StackConfigError } from '../lib/stack/stack-config.js';

try {
  buildMonitorApp(new App());
} catch (err) {
  if (!(err instanceof StackConfigError)) throw err;
  console.error(err.message);
  process.exit(1);
}
