// Covers the CDK app as `cdk synth` builds it (lib/stack/app.ts, the content of bin/app.ts; asset
// bundling skipped): the synthesized templates, with defaults and with every option set, pass
// cfn-lint from the project venv (an independent check of the template) and the synth-time cdk-nag
// validation; a bad context value fails with a message naming the key.
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { App } from 'aws-cdk-lib';
import { buildMonitorApp } from '../../lib/stack/app.js';
import { driftPolicy } from '../../lib/core/policy.js';

const root = resolve(import.meta.dirname, '../..');
const cfnLint = join(root, '.venv/bin/cfn-lint');
const outdir = mkdtempSync(join(tmpdir(), 'vmon-synth-'));

/** Synthesizes one app into outdir, as `cdk synth -c ...` would (context values as the CLI passes them: strings). */
function synth(context: Record<string, unknown>): void {
  const app = new App({ outdir, context: { 'aws:cdk:bundling-stacks': [], ...context } });
  buildMonitorApp(app);
  app.synth();
}

afterAll(() => rmSync(outdir, { recursive: true, force: true }));

describe('cdk synth', () => {
  it('synthesizes templates that pass cdk-nag and cfn-lint, with defaults and with every option set', async () => {
    synth({});
    synth({
      stage: 'prod',
      functionMemoryMb: '1024',
      batchSize: '500',
      batchingWindowSeconds: '5',
      maxConcurrency: '50',
      defaultPolicy: JSON.stringify(driftPolicy(20, 0.6)),
      producerPrincipals: '123456789012,arn:aws:iam::210987654321:role/camera-fleet',
      alarmEmail: 'oncall@example.com',
      logLevel: 'warn',
      logRetentionDays: '90',
      archiveRetentionDays: '0',
      oldestMessageAlarmSeconds: '600',
      sageMakerPipelineArn: 'arn:aws:sagemaker:us-east-1:123456789012:pipeline/retrain-camera-model',
      sageMakerPipelineDetailTypes: 'RetrainingRequested',
      sageMakerPipelineScopes: 'model,camera',
      stateMachineArn: 'arn:aws:states:us-east-1:123456789012:stateMachine:retrain',
      stateMachineDetailTypes: 'RetrainingRequested,HyperparameterTuningRequested',
      stateMachineScopes: 'model',
      datasetLocatorTemplate: 's3://frames-bucket/frames/{modelVersion}/{cameraId}/{from}/{to}',
      sdkTracing: 'true',
    });
    const templates = readdirSync(outdir)
      .filter((f) => f.endsWith('.template.json'))
      .sort();
    expect(templates).toEqual(['VisuTilityMonitor-dev.template.json', 'VisuTilityMonitor-prod.template.json']);

    expect(existsSync(cfnLint), `${cfnLint} missing: run npm run setup:py`).toBe(true);
    const lint = await new Promise<{ code: number; output: string }>((done) => {
      execFile(
        cfnLint,
        ['--format', 'parseable', ...templates.map((t) => join(outdir, t))],
        { timeout: 120_000 },
        (err, stdout, stderr) => {
          done({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, output: stdout + stderr });
        },
      );
    });
    expect(lint.output).toBe('');
    expect(lint.code).toBe(0);
  });

  it('fails on invalid context, naming every bad key and what it must be', () => {
    const app = new App({
      outdir,
      context: {
        stage: 'Prod',
        batchSize: 'lots',
        alarmEmail: 'ops at example',
        defaultPolicy: '[1,2]',
        datasetLocatorTemplate: 's3://b/{modelVersion}/{camera}',
      },
    });
    let message = '';
    try {
      buildMonitorApp(app);
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toContain('invalid CDK context');
    expect(message).toContain('stage: must be 1–24 lowercase letters');
    expect(message).toContain('batchSize: must be an integer from 1 to 10000, got "lots"');
    expect(message).toContain('alarmEmail: must be one e-mail address, got "ops at example"');
    expect(message).toContain('defaultPolicy: invalid policy: Invalid input: expected object, received array');
    expect(message).toContain('datasetLocatorTemplate: unknown placeholder(s) {camera}; known: {modelVersion}');
    expect(app.node.children).toHaveLength(0);
  });
});
