// (4) Cold start: functions/ingest.ts bundled as the stack bundles it (FUNCTION_BUNDLING: esbuild,
// ESM, minified, node24, the AWS SDK left to the runtime's copy, SDK tracing as the stack's default), its size, and its module-init time
// in fresh Node processes (the SDK loaded from node_modules, as the runtime loads its own) next to an
// empty handler bundled the same way. Wall time and CPU time both: on a loaded shared machine the
// wall time of a 200 ms import swings by 2× between runs, its CPU time by a few per cent.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { build, type BuildOptions } from 'esbuild';
import { PROJECT_ROOT } from '../../lib/local/moto-server.js';
import { ENV, FUNCTION_BUNDLING } from '../../lib/resources.js';
import { DEFAULTS as STACK_DEFAULTS } from '../../lib/stack/stack-config.js';

/** The stack's bundling options (lib/resources.ts FUNCTION_BUNDLING), as esbuild options. */
const STACK_BUNDLING: BuildOptions = {
  bundle: true,
  platform: 'node',
  format: FUNCTION_BUNDLING.format,
  minify: FUNCTION_BUNDLING.minify,
  sourcemap: FUNCTION_BUNDLING.sourceMap,
  target: FUNCTION_BUNDLING.target,
  external: [...FUNCTION_BUNDLING.externalModules],
  banner: { js: FUNCTION_BUNDLING.banner },
  define: FUNCTION_BUNDLING.define(STACK_DEFAULTS.sdkTracing),
};

export interface ColdStartResult {
  bundleBytes: number;
  emptyBundleBytes: number;
  sdkOnlyBundleBytes: number;
  coldInitMs: number;
  emptyInitMs: number;
  /** A handler that only creates the SDK clients the ingest creates: how much of the init is the SDK's. */
  sdkOnlyInitMs: number;
  /** CPU time (user + system) of the same imports, medians: steadier than wall time under load. */
  coldInitCpuMs: number;
  sdkOnlyInitCpuMs: number;
  runs: number;
}

/** The SDK clients the ingest function creates with the stack's defaults (history on: Firehose too). */
const SDK_ONLY = `import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { FirehoseClient } from '@aws-sdk/client-firehose';
import { SQSClient } from '@aws-sdk/client-sqs';
export const clients = { dynamodb: new DynamoDBClient({}), eventBridge: new EventBridgeClient({}), sqs: new SQSClient({}), firehose: new FirehoseClient({}) };
export const handler = async () => ({ batchItemFailures: [] });
`;

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
};

/** Import time of a module in a fresh Node process, measured inside that process: wall and CPU ms. */
function initMs(file: string, env: Record<string, string>): { wall: number; cpu: number } {
  const script = `const c=process.cpuUsage(),t=performance.now();await import(${JSON.stringify(file)});const w=performance.now()-t,d=process.cpuUsage(c);process.stdout.write(JSON.stringify({wall:w,cpu:(d.user+d.system)/1000}));`;
  const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], {
    env: { ...process.env, ...env },
    encoding: 'utf8',
  });
  return JSON.parse(out) as { wall: number; cpu: number };
}

export async function benchColdStart(runs: number): Promise<ColdStartResult> {
  // Inside the project, so the external SDK resolves from node_modules.
  mkdirSync(join(PROJECT_ROOT, 'node_modules/.cache'), { recursive: true });
  const dir = mkdtempSync(join(PROJECT_ROOT, 'node_modules/.cache/vmon-bench-'));
  try {
    const ingest = join(dir, 'ingest.mjs'),
      empty = join(dir, 'empty.mjs'),
      sdkOnly = join(dir, 'sdk-only.mjs');
    const emptySrc = join(dir, 'empty.ts'),
      sdkOnlySrc = join(PROJECT_ROOT, 'functions', `.bench-sdk-only-${process.pid}.ts`);
    writeFileSync(emptySrc, 'export const handler = async () => ({ batchItemFailures: [] });\n');
    writeFileSync(sdkOnlySrc, SDK_ONLY); // inside the project, so the SDK resolves from node_modules
    try {
      await build({ ...STACK_BUNDLING, entryPoints: [sdkOnlySrc], outfile: sdkOnly, logLevel: 'error' });
    } finally {
      rmSync(sdkOnlySrc, { force: true });
    }
    await build({
      ...STACK_BUNDLING,
      entryPoints: [join(PROJECT_ROOT, 'functions/ingest.ts')],
      outfile: ingest,
      logLevel: 'error',
    });
    await build({ ...STACK_BUNDLING, entryPoints: [emptySrc], outfile: empty, logLevel: 'error' });
    // Module init reads its configuration; the values only need to be present (no call is made).
    // The default policy and the history stream are what the stack sets by default (read at init).
    const env = {
      [ENV.defaultPolicy]: STACK_DEFAULTS.defaultPolicy,
      ...(STACK_DEFAULTS.history ? { [ENV.historyStreamName]: 'bench' } : {}),
      [ENV.tableName]: 'bench',
      [ENV.eventBusName]: 'bench',
      [ENV.deadLetterQueueUrl]: 'http://127.0.0.1:1/000000000000/bench',
      AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: 'testing',
      AWS_SECRET_ACCESS_KEY: 'testing',
    };
    const cold: { wall: number; cpu: number }[] = [],
      base: { wall: number; cpu: number }[] = [],
      sdk: { wall: number; cpu: number }[] = [];
    for (let i = 0; i < runs; i++) {
      // interleaved, so machine load hits all alike
      cold.push(initMs(ingest, env));
      base.push(initMs(empty, env));
      sdk.push(initMs(sdkOnly, env));
    }
    return {
      bundleBytes: statSync(ingest).size,
      emptyBundleBytes: statSync(empty).size,
      sdkOnlyBundleBytes: statSync(sdkOnly).size,
      coldInitMs: median(cold.map((r) => r.wall)),
      emptyInitMs: median(base.map((r) => r.wall)),
      sdkOnlyInitMs: median(sdk.map((r) => r.wall)),
      coldInitCpuMs: median(cold.map((r) => r.cpu)),
      sdkOnlyInitCpuMs: median(sdk.map((r) => r.cpu)),
      runs,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
