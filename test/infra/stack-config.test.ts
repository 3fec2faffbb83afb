// Covers lib/stack/stack-config.ts, the CDK context parser: defaults, values as `-c` passes them
// (strings) and as cdk.json holds them (JSON types), and a clear error naming each bad key; the
// training-pipeline targets (ARNs, detail-type and scope filters) and the dataset-locator template.
import { describe, expect, it } from 'vitest';
import {
  CONTEXT_KEYS,
  DEFAULTS,
  defaultStackConfig,
  parseStackConfig,
  producerPrincipal,
  StackConfigError,
  type ContextKey,
} from '../../lib/stack/stack-config.js';
import { DEFAULT_POLICY, driftPolicy, parsePolicy } from '../../lib/core/policy.js';

const parse = (context: Partial<Record<ContextKey, unknown>>) => parseStackConfig((key) => context[key]);

/** The problems reported for a context, or [] when it parses. */
function problems(context: Partial<Record<ContextKey, unknown>>): string[] {
  try {
    parse(context);
    return [];
  } catch (err) {
    expect(err).toBeInstanceOf(StackConfigError);
    return (err as StackConfigError).problems;
  }
}

describe('stack config from CDK context', () => {
  it('gives sensible defaults without any context', () => {
    expect(defaultStackConfig()).toEqual({
      ...DEFAULTS,
      producerPrincipals: [],
      pipelineTargets: [],
    });
    expect(DEFAULTS.batchSize > 10 && DEFAULTS.batchingWindowSeconds >= 1).toBe(true);
    expect(JSON.parse(DEFAULTS.defaultPolicy)).toEqual(DEFAULT_POLICY);
  });

  it('reads strings from -c and JSON types from cdk.json alike', () => {
    const fromCli = parse({
      stage: 'prod',
      functionMemoryMb: '1024',
      batchSize: '500',
      batchingWindowSeconds: '5',
      maxConcurrency: '50',
      producerPrincipals: '123456789012, arn:aws:iam::210987654321:role/fleet',
      alarmEmail: 'oncall@example.com',
      logLevel: 'debug',
      logRetentionDays: '90',
      archiveRetentionDays: '0',
      oldestMessageAlarmSeconds: '600',
    });
    const fromJson = parse({
      stage: 'prod',
      functionMemoryMb: 1024,
      batchSize: 500,
      batchingWindowSeconds: 5,
      maxConcurrency: 50,
      producerPrincipals: ['123456789012', 'arn:aws:iam::210987654321:role/fleet'],
      alarmEmail: 'oncall@example.com',
      logLevel: 'DEBUG',
      logRetentionDays: 90,
      archiveRetentionDays: 0,
      oldestMessageAlarmSeconds: 600,
    });
    expect(fromCli).toEqual(fromJson);
    expect(fromCli).toMatchObject({
      stage: 'prod',
      functionMemoryMb: 1024,
      batchSize: 500,
      logLevel: 'DEBUG',
      archiveRetentionDays: 0,
      producerPrincipals: [
        { kind: 'account', accountId: '123456789012' },
        { kind: 'arn', arn: 'arn:aws:iam::210987654321:role/fleet' },
      ],
    });
  });

  it('names the key, the rule and the value for each bad setting, all at once', () => {
    expect(
      problems({
        functionMemoryMb: '64',
        batchSize: '2.5',
        maxConcurrency: 1,
        archiveRetentionDays: '-1',
        logLevel: 'verbose',
      }),
    ).toEqual([
      'functionMemoryMb: must be an integer from 128 to 10240 (MB), got "64"',
      'batchSize: must be an integer from 1 to 10000, got "2.5"',
      'maxConcurrency: must be an integer from 2 to 1000 (concurrent batches of the SQS event source), got number 1',
      'logLevel: must be one of DEBUG | INFO | WARN | ERROR, got "verbose"',
      'archiveRetentionDays: must be an integer from 0 to 36500 (0 keeps events forever), got "-1"',
    ]);
  });

  it('validates stage names, which are part of every resource name', () => {
    for (const ok of ['dev', 'prod-eu-1', 'a']) expect(parse({ stage: ok }).stage).toBe(ok);
    for (const bad of ['Prod', 'prod_eu', '-dev', 'dev-', '1dev', 'x'.repeat(25), 7])
      expect(problems({ stage: bad })[0], String(bad)).toMatch(/^stage: must be 1–24 lowercase/);
  });

  it('requires a batching window above 10 records per batch, as SQS event sources do', () => {
    expect(problems({ batchSize: '20', batchingWindowSeconds: '0' })).toEqual([
      'batchingWindowSeconds: must be at least 1 when batchSize is above 10 (an SQS event source rule), got 0 with batchSize 20',
    ]);
    expect(parse({ batchSize: '10', batchingWindowSeconds: '0' }).batchingWindowSeconds).toBe(0);
  });

  it('accepts only log retention periods CloudWatch Logs offers', () => {
    expect(parse({ logRetentionDays: '365' }).logRetentionDays).toBe(365);
    expect(problems({ logRetentionDays: '100' })[0]).toMatch(
      /^logRetentionDays: must be one of the periods CloudWatch Logs accepts \(1, 3, 5, .*\), got 100$/,
    );
  });

  it('takes the default policy as a JSON object or JSON text, validated and stored compact for DEFAULT_POLICY', () => {
    const policy = {
      id: 'fleet',
      detectors: [
        {
          id: 'drift',
          kind: 'window-mean',
          metric: 'DriftScore',
          action: 'RetrainingRequested',
          windowSize: 5,
          threshold: 0.6,
        },
      ],
    };
    const expected = JSON.stringify(parsePolicy(policy)); // defaults filled, as the functions will read it
    expect(parse({ defaultPolicy: policy }).defaultPolicy).toBe(expected);
    expect(parse({ defaultPolicy: JSON.stringify(policy, null, 2) }).defaultPolicy).toBe(expected);
    expect(JSON.parse(parse({ defaultPolicy: JSON.stringify(driftPolicy(3, 0.7)) }).defaultPolicy)).toEqual(
      driftPolicy(3, 0.7),
    );
  });

  it('refuses a default policy the functions would refuse, saying what is wrong in it', () => {
    expect(problems({ defaultPolicy: '{"id":' })[0]).toMatch(/^defaultPolicy: invalid policy: not valid JSON/);
    const [problem] = problems({
      defaultPolicy: {
        id: 'p',
        detectors: [
          {
            id: 'd',
            kind: 'window-mean',
            metric: 'DriftScore',
            action: 'RetrainingRequested',
            windowSize: 0,
            threshold: 0.7,
          },
        ],
      },
    });
    expect(problem).toMatch(/^defaultPolicy: invalid policy: detectors\[0\]\.windowSize: /);
    const detectors = (n: number) =>
      Array.from({ length: n }, (_, i) => ({
        id: `drift-${i}`,
        kind: 'window-mean',
        metric: 'DriftScore',
        action: 'RetrainingRequested',
        windowSize: 10,
        threshold: 0.7,
      }));
    expect(problems({ defaultPolicy: { id: 'big', detectors: detectors(40) } })).toEqual([
      'defaultPolicy: invalid policy: detectors: at most 20 detectors',
    ]);
    // Valid, but too large for the 4 KB Lambda environment.
    const tooBig = problems({ defaultPolicy: { id: 'big', detectors: detectors(20) } });
    expect(tooBig).toHaveLength(1);
    expect(tooBig[0]).toMatch(
      /^defaultPolicy: is \d{4} characters as JSON; at most 3000 fit in the function's environment \(put a larger policy in the state table/,
    );
  });

  it('accepts account ids, account root ARNs and role or user ARNs as producers, nothing wider', () => {
    expect(producerPrincipal('123456789012')).toEqual({ kind: 'account', accountId: '123456789012' });
    expect(producerPrincipal('arn:aws:iam::123456789012:root')).toEqual({ kind: 'account', accountId: '123456789012' });
    expect(producerPrincipal('arn:aws-us-gov:iam::123456789012:role/path/fleet')).toEqual({
      kind: 'arn',
      arn: 'arn:aws-us-gov:iam::123456789012:role/path/fleet',
    });
    expect(producerPrincipal('arn:aws:iam::123456789012:user/cam-uploader')).toBeDefined();
    for (const bad of [
      '*',
      '12345',
      'arn:aws:iam::123456789012:role/*',
      'arn:aws:sts::123456789012:assumed-role/r/s',
      'arn:aws:iam::*:root',
    ]) {
      expect(producerPrincipal(bad), bad).toBeUndefined();
    }
    expect(problems({ producerPrincipals: ['123456789012', '*'] })).toEqual([
      'producerPrincipals[1]: must be a 12-digit account id, an account root ARN or an IAM role/user ARN without wildcards, got "*"',
    ]);
    expect(problems({ producerPrincipals: { account: '123456789012' } })[0]).toMatch(
      /^producerPrincipals: must be a list/,
    );
  });

  it('takes one alarm e-mail address', () => {
    expect(parse({ alarmEmail: 'ops@example.com' }).alarmEmail).toBe('ops@example.com');
    expect(problems({ alarmEmail: 'a@example.com,b@example.com' })).toEqual([
      'alarmEmail: must be one e-mail address, got "a@example.com,b@example.com"',
    ]);
  });

  it('reads the pipeline targets: model-scope RetrainingRequested by default, filters per target', () => {
    const sageMakerPipelineArn = 'arn:aws:sagemaker:eu-west-1:123456789012:pipeline/retrain-Cam-2';
    const stateMachineArn = 'arn:aws-cn:states:cn-north-1:123456789012:stateMachine:retrain_camera';
    expect(parse({ sageMakerPipelineArn }).pipelineTargets).toEqual([
      { kind: 'sageMakerPipeline', arn: sageMakerPipelineArn, detailTypes: ['RetrainingRequested'], scopes: ['model'] },
    ]);
    const fromCli = parse({
      stateMachineArn,
      stateMachineDetailTypes: 'RetrainingRequested, HyperparameterTuningRequested',
      stateMachineScopes: 'camera,model',
    });
    const fromJson = parse({
      stateMachineArn,
      stateMachineDetailTypes: ['RetrainingRequested', 'HyperparameterTuningRequested'],
      stateMachineScopes: ['camera', 'model'],
    });
    expect(fromCli).toEqual(fromJson);
    expect(fromCli.pipelineTargets).toEqual([
      {
        kind: 'stateMachine',
        arn: stateMachineArn,
        detailTypes: ['RetrainingRequested', 'HyperparameterTuningRequested'],
        scopes: ['camera', 'model'],
      },
    ]);
  });

  it('refuses malformed target ARNs and filters, and filters without their target', () => {
    expect(
      problems({
        sageMakerPipelineArn: 'arn:aws:sagemaker:us-east-1:123456789012:pipeline/*',
        sageMakerPipelineScopes: 'fleet',
        stateMachineArn: 'arn:aws:states:us-east-1:123456789012:execution:retrain:1',
        stateMachineDetailTypes: 'RetrainingRequested,AlertResolved',
      }),
    ).toEqual([
      'sageMakerPipelineArn: must be an ARN like arn:aws:sagemaker:us-east-1:123456789012:pipeline/retrain-camera-model, got "arn:aws:sagemaker:us-east-1:123456789012:pipeline/*"',
      'sageMakerPipelineScopes: must list one or both of model | camera (comma-separated with -c), got "fleet"',
      'stateMachineArn: must be an ARN like arn:aws:states:us-east-1:123456789012:stateMachine:retrain, got "arn:aws:states:us-east-1:123456789012:execution:retrain:1"',
      'stateMachineDetailTypes: must list one or more of RetrainingRequested | HyperparameterTuningRequested | SlaBreached (comma-separated with -c), got "RetrainingRequested,AlertResolved"',
    ]);
    expect(problems({ stateMachineScopes: 'camera', sageMakerPipelineDetailTypes: 'SlaBreached' })).toEqual([
      'sageMakerPipelineDetailTypes: applies only with sageMakerPipelineArn, which is not set',
      'stateMachineScopes: applies only with stateMachineArn, which is not set',
    ]);
    expect(
      problems({ stateMachineArn: 'arn:aws:states:us-east-1:123456789012:stateMachine:m', stateMachineScopes: ',' }),
    ).toEqual(['stateMachineScopes: must list one or both of model | camera (comma-separated with -c), got ","']);
  });

  it('validates the dataset-locator template at synth: scheme, known placeholders, balanced braces', () => {
    const ok = 's3://my-bucket/frames/{modelVersion}/{cameraId}/{from}/{to}';
    expect(parse({ datasetLocatorTemplate: ok }).datasetLocatorTemplate).toBe(ok);
    expect(parse({}).datasetLocatorTemplate).toBeUndefined();
    expect(problems({ datasetLocatorTemplate: 's3://b/{modelVersion}/{camera}/{start}' })).toEqual([
      'datasetLocatorTemplate: unknown placeholder(s) {camera}, {start}; known: {modelVersion}, {modality}, {cameraId}, {scope}, {triggerId}, {from}, {to}, {referenceFrom}, {referenceTo}, got "s3://b/{modelVersion}/{camera}/{start}"',
    ]);
    expect(problems({ datasetLocatorTemplate: 'frames/{cameraId}' })[0]).toMatch(
      /^datasetLocatorTemplate: must be a URI with a scheme and no spaces/,
    );
    expect(problems({ datasetLocatorTemplate: 's3://b/{cameraId/{from}' })).toContain(
      'datasetLocatorTemplate: has an unbalanced { or }, got "s3://b/{cameraId/{from}"',
    );
    expect(problems({ datasetLocatorTemplate: `s3://b/${'x'.repeat(600)}` })[0]).toMatch(
      /^datasetLocatorTemplate: is 607 characters; at most 512/,
    );
  });

  it('documents every key in docs/configuration.md', async () => {
    const { readFile } = await import('node:fs/promises');
    const section = await readFile(new URL('../../docs/configuration.md', import.meta.url), 'utf8');
    for (const key of CONTEXT_KEYS) expect(section, key).toContain(`\`${key}\``);
  });
});
