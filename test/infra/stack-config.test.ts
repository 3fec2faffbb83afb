// Covers lib/stack/stack-config.ts, the CDK context parser: defaults, values as `-c` passes them
// (strings) and as cdk.json holds them (JSON types), and a clear error naming each bad key.
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

  it('documents every key in docs/configuration.md', async () => {
    const { readFile } = await import('node:fs/promises');
    const section = await readFile(new URL('../../docs/configuration.md', import.meta.url), 'utf8');
    for (const key of CONTEXT_KEYS) expect(section, key).toContain(`\`${key}\``);
  });
});
