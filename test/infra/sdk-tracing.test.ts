// Covers the stack's `sdkTracing` context (docs/deploy.md#tracing): off by default, with Lambda
// active tracing still on for every monitor function, no VMON_SDK_TRACING in their environment, and a
// function bundle built without the X-Ray SDK (the real esbuild bundling of lib/stack/monitor-function.ts);
// on, the variable is set and the bundle carries the Powertools Tracer and the X-Ray SDK. A bad value
// fails synthesis naming the key.
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { App, Duration, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { MonitorStack } from '../../lib/stack/monitor-stack.js';
import { MonitorFunction } from '../../lib/stack/monitor-function.js';
import { defaultStackConfig, parseStackConfig, StackConfigError } from '../../lib/stack/stack-config.js';
import { ENV } from '../../lib/resources.js';

const noBundling = { 'aws:cdk:bundling-stacks': [] };

/** Each Lambda function of a synthesized monitor stack: its environment and tracing mode. */
function functions(sdkTracing: boolean) {
  const app = new App({ context: noBundling });
  const stack = new MonitorStack(app, `T${sdkTracing}`, { config: { ...defaultStackConfig(), sdkTracing } });
  const fns = Template.fromStack(stack).findResources('AWS::Lambda::Function');
  return Object.entries(fns)
    .filter(([id]) => /^(Ingest|Lifecycle|OutboxSweep)/.test(id))
    .map(([id, r]) => ({
      id,
      env: (r.Properties.Environment?.Variables ?? {}) as Record<string, unknown>,
      tracing: r.Properties.TracingConfig,
    }));
}

const outdirs: string[] = [];
afterAll(() => {
  for (const d of outdirs) rmSync(d, { recursive: true, force: true });
});

/** The ingest function as MonitorFunction bundles it (esbuild, really run), as text. */
function ingestBundle(sdkTracing: boolean): string {
  const outdir = mkdtempSync(join(tmpdir(), 'vmon-bundle-'));
  outdirs.push(outdir);
  const app = new App({ outdir });
  const stack = new Stack(app, 'Bundle');
  new MonitorFunction(stack, 'Ingest', {
    entry: 'ingest',
    serviceName: 'ingest',
    stage: 'test',
    description: 'bundle probe',
    memorySize: 512,
    timeout: Duration.seconds(30),
    logLevel: 'INFO',
    logRetentionDays: 30,
    sdkTracing,
  });
  app.synth();
  const asset = readdirSync(outdir).find((f) => f.startsWith('asset.'));
  expect(asset, 'the bundled function asset').toBeDefined();
  return readFileSync(join(outdir, asset!, 'index.mjs'), 'utf8');
}

// Strings the X-Ray SDK and the Powertools Tracer carry in any build, minified or not.
const XRAY_MARKERS = ['AWS_XRAY_CONTEXT_MISSING', 'POWERTOOLS_TRACE_ENABLED'];

describe('sdkTracing context', () => {
  it('is off by default, accepts true/false as the CLI or cdk.json give them, and names the key when bad', () => {
    expect(defaultStackConfig().sdkTracing).toBe(false);
    expect(parseStackConfig((k) => (k === 'sdkTracing' ? 'true' : undefined)).sdkTracing).toBe(true);
    expect(parseStackConfig((k) => (k === 'sdkTracing' ? true : undefined)).sdkTracing).toBe(true);
    expect(parseStackConfig((k) => (k === 'sdkTracing' ? 'false' : undefined)).sdkTracing).toBe(false);
    expect(() => parseStackConfig((k) => (k === 'sdkTracing' ? 'yes' : undefined))).toThrow(StackConfigError);
    expect(() => parseStackConfig((k) => (k === 'sdkTracing' ? 'yes' : undefined))).toThrow(
      /sdkTracing: must be true or false, got "yes"/,
    );
  });

  it('default stack: Lambda active tracing on, the in-function tracer off', () => {
    const fns = functions(false);
    expect(fns.map((f) => f.id.replace(/[A-F0-9]{8}$/, '')).sort()).toEqual([
      'IngestFunction',
      'LifecycleFunction',
      'OutboxSweepFunction',
    ]);
    for (const f of fns) {
      expect(f.tracing).toEqual({ Mode: 'Active' });
      expect(f.env).not.toHaveProperty(ENV.sdkTracing);
      expect(f.env).not.toHaveProperty('POWERTOOLS_TRACER_CAPTURE_RESPONSE');
    }
  });

  it('sdkTracing=true: every monitor function gets the tracer, without response payloads in traces', () => {
    for (const f of functions(true)) {
      expect(f.tracing).toEqual({ Mode: 'Active' });
      expect(f.env).toMatchObject({ [ENV.sdkTracing]: 'true', POWERTOOLS_TRACER_CAPTURE_RESPONSE: 'false' });
    }
  });

  it('the default bundle leaves the X-Ray SDK out; the sdkTracing bundle carries it', () => {
    const off = ingestBundle(false);
    const on = ingestBundle(true);
    for (const marker of XRAY_MARKERS) {
      expect(off.includes(marker), `${marker} in the default bundle`).toBe(false);
      expect(on.includes(marker), `${marker} in the sdkTracing bundle`).toBe(true);
    }
    expect(off.length).toBeLessThan(on.length * 0.75);
  });
});
