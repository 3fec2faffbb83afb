// CDK context (`-c key=value` or cdk.json "context") → a validated stack configuration.
// Every key is documented in docs/configuration.md; a bad value fails `cdk synth` naming the key.
// No CDK imports: the parser is plain data in, data out, so it is unit-tested without synthesis.
import { ACTIONS, DEFAULT_POLICY, parsePolicy, PolicyError } from '../core/policy.js';
import { datasetLocatorProblems, TRIGGER_SCOPES, type TriggerScope } from '../core/trigger.js';
import { HISTORY, INGEST, PIPELINE_TARGET_DEFAULTS } from '../resources.js';

export type ProducerPrincipal = { kind: 'account'; accountId: string } | { kind: 'arn'; arn: string };
export type LogLevel = 'DEBUG' | 'INFO' | 'WARN' | 'ERROR';

/** A training pipeline EventBridge starts directly from the monitor bus. */
export interface PipelineTarget {
  kind: 'sageMakerPipeline' | 'stateMachine';
  arn: string;
  /** Which trigger types start it. */
  detailTypes: string[];
  /** Which trigger scopes start it. */
  scopes: TriggerScope[];
}

export interface StackConfig {
  stage: string;
  functionMemoryMb: number;
  batchSize: number;
  batchingWindowSeconds: number;
  maxConcurrency: number;
  /** The validated default detector policy (defaults filled) as compact JSON: the functions' DEFAULT_POLICY. */
  defaultPolicy: string;
  producerPrincipals: ProducerPrincipal[];
  alarmEmail?: string;
  logLevel: LogLevel;
  logRetentionDays: number;
  archiveRetentionDays: number;
  oldestMessageAlarmSeconds: number;
  /** SageMaker pipeline and/or Step Functions state machine targets (none by default: the retraining queue only). */
  pipelineTargets: PipelineTarget[];
  /** Template of each trigger's datasetLocator, e.g. s3://bucket/frames/{modelVersion}/{cameraId}/{from}/{to}. */
  datasetLocatorTemplate?: string;
  /** The metric history (docs/history-replay.md): Firehose → Parquet in S3, Glue table, Athena workgroup, replay state machine. */
  history: boolean;
  /** Days history objects are kept (0: forever). */
  historyRetentionDays: number;
  /** Days before history objects move to S3 Glacier Instant Retrieval (0: never). */
  historyColdAfterDays: number;
  /**
   * X-Ray subsegments for every SDK call (the Powertools Tracer in the functions). Off: Lambda active
   * tracing still records each invocation, and the X-Ray SDK is left out of the function bundles.
   */
  sdkTracing: boolean;
}

/** CloudWatch Logs retention periods (days) AWS accepts. */
export const LOG_RETENTION_DAYS = [
  1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653,
] as const;
const LOG_LEVELS: readonly LogLevel[] = ['DEBUG', 'INFO', 'WARN', 'ERROR'];

export const DEFAULTS = {
  stage: 'dev',
  functionMemoryMb: 512,
  batchSize: INGEST.batchSize,
  batchingWindowSeconds: INGEST.maxBatchingWindowSeconds,
  maxConcurrency: 10,
  defaultPolicy: JSON.stringify(DEFAULT_POLICY),
  logLevel: 'INFO' as LogLevel,
  logRetentionDays: 30,
  archiveRetentionDays: 30,
  oldestMessageAlarmSeconds: 300,
  history: true,
  historyRetentionDays: HISTORY.retentionDays,
  historyColdAfterDays: HISTORY.coldAfterDays,
  sdkTracing: false,
} satisfies Partial<StackConfig>;

/** Every context key the stack reads. */
export const CONTEXT_KEYS = [
  'stage',
  'functionMemoryMb',
  'batchSize',
  'batchingWindowSeconds',
  'maxConcurrency',
  'defaultPolicy',
  'producerPrincipals',
  'alarmEmail',
  'logLevel',
  'logRetentionDays',
  'archiveRetentionDays',
  'oldestMessageAlarmSeconds',
  'sageMakerPipelineArn',
  'sageMakerPipelineDetailTypes',
  'sageMakerPipelineScopes',
  'stateMachineArn',
  'stateMachineDetailTypes',
  'stateMachineScopes',
  'datasetLocatorTemplate',
  'history',
  'historyRetentionDays',
  'historyColdAfterDays',
  'sdkTracing',
] as const;
export type ContextKey = (typeof CONTEXT_KEYS)[number];

// Lambda's environment holds at most 4 KB in total; leave room for the other variables.
const MAX_POLICY_CHARS = 3000;

export class StackConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(
      `invalid CDK context (set with -c key=value or in cdk.json "context"):\n${problems.map((p) => `  - ${p}`).join('\n')}`,
    );
    this.name = 'StackConfigError';
  }
}

const show = (v: unknown) => (typeof v === 'string' ? JSON.stringify(v) : `${typeof v} ${JSON.stringify(v)}`);

/**
 * Reads and validates every key through `get` (e.g. `key => app.node.tryGetContext(key)`).
 * Values from `-c` arrive as strings, values from cdk.json keep their JSON type: both are accepted.
 * All problems are reported at once.
 */
export function parseStackConfig(get: (key: ContextKey) => unknown): StackConfig {
  const problems: string[] = [];
  const given = (key: ContextKey) => {
    const v = get(key);
    return v === undefined || v === null || v === '' ? undefined : v;
  };

  const int = (key: ContextKey, fallback: number, min: number, max: number, why = ''): number => {
    const v = given(key);
    if (v === undefined) return fallback;
    const n = typeof v === 'number' ? v : typeof v === 'string' && /^\s*-?\d+\s*$/.test(v) ? Number(v) : NaN;
    if (!Number.isInteger(n) || n < min || n > max) {
      problems.push(`${key}: must be an integer from ${min} to ${max}${why}, got ${show(v)}`);
      return fallback;
    }
    return n;
  };
  let stage = DEFAULTS.stage;
  const rawStage = given('stage');
  if (rawStage !== undefined) {
    if (typeof rawStage === 'string' && /^[a-z][a-z0-9-]{0,22}[a-z0-9]$|^[a-z]$/.test(rawStage)) stage = rawStage;
    else
      problems.push(
        `stage: must be 1–24 lowercase letters, digits or '-', starting with a letter and not ending with '-' (it is part of every resource name), got ${show(rawStage)}`,
      );
  }

  const functionMemoryMb = int('functionMemoryMb', DEFAULTS.functionMemoryMb, 128, 10240, ' (MB)');
  const batchSize = int('batchSize', DEFAULTS.batchSize, 1, 10000);
  const batchingWindowSeconds = int('batchingWindowSeconds', DEFAULTS.batchingWindowSeconds, 0, 300);
  if (batchSize > 10 && batchingWindowSeconds < 1) {
    problems.push(
      `batchingWindowSeconds: must be at least 1 when batchSize is above 10 (an SQS event source rule), got ${batchingWindowSeconds} with batchSize ${batchSize}`,
    );
  }
  const maxConcurrency = int(
    'maxConcurrency',
    DEFAULTS.maxConcurrency,
    2,
    1000,
    ' (concurrent batches of the SQS event source)',
  );

  let defaultPolicy = DEFAULTS.defaultPolicy;
  const rawPolicy = given('defaultPolicy');
  if (rawPolicy !== undefined) {
    // The rules the functions apply (lib/core/policy.ts), so a bad policy never deploys.
    try {
      const json = JSON.stringify(parsePolicy(rawPolicy));
      if (json.length > MAX_POLICY_CHARS)
        problems.push(
          `defaultPolicy: is ${json.length} characters as JSON; at most ${MAX_POLICY_CHARS} fit in the function's environment (put a larger policy in the state table as the fleet policy instead)`,
        );
      else defaultPolicy = json;
    } catch (err) {
      if (!(err instanceof PolicyError)) throw err;
      problems.push(`defaultPolicy: ${err.message}`);
    }
  }

  const producerPrincipals: ProducerPrincipal[] = [];
  const rawProducers = given('producerPrincipals');
  if (rawProducers !== undefined) {
    const list =
      typeof rawProducers === 'string'
        ? rawProducers
            .split(',')
            .map((s) => s.trim())
            .filter(Boolean)
        : rawProducers;
    if (!Array.isArray(list)) {
      problems.push(
        `producerPrincipals: must be a list (JSON array in cdk.json, or comma-separated with -c) of account ids or IAM role/user ARNs, got ${show(rawProducers)}`,
      );
    } else {
      list.forEach((p, i) => {
        const principal = typeof p === 'string' ? producerPrincipal(p.trim()) : undefined;
        if (principal) producerPrincipals.push(principal);
        else
          problems.push(
            `producerPrincipals[${i}]: must be a 12-digit account id, an account root ARN or an IAM role/user ARN without wildcards, got ${show(p)}`,
          );
      });
    }
  }

  let alarmEmail: string | undefined;
  const rawEmail = given('alarmEmail');
  if (rawEmail !== undefined) {
    if (typeof rawEmail === 'string' && /^[^\s@,;]+@[^\s@,;]+\.[^\s@,;]+$/.test(rawEmail)) alarmEmail = rawEmail;
    else problems.push(`alarmEmail: must be one e-mail address, got ${show(rawEmail)}`);
  }

  let logLevel = DEFAULTS.logLevel;
  const rawLevel = given('logLevel');
  if (rawLevel !== undefined) {
    const up = typeof rawLevel === 'string' ? rawLevel.toUpperCase() : '';
    if ((LOG_LEVELS as string[]).includes(up)) logLevel = up as LogLevel;
    else problems.push(`logLevel: must be one of ${LOG_LEVELS.join(' | ')}, got ${show(rawLevel)}`);
  }

  const logRetentionDays = int('logRetentionDays', DEFAULTS.logRetentionDays, 1, 3653);
  if (!(LOG_RETENTION_DAYS as readonly number[]).includes(logRetentionDays)) {
    problems.push(
      `logRetentionDays: must be one of the periods CloudWatch Logs accepts (${LOG_RETENTION_DAYS.join(', ')}), got ${logRetentionDays}`,
    );
  }
  const archiveRetentionDays = int(
    'archiveRetentionDays',
    DEFAULTS.archiveRetentionDays,
    0,
    36500,
    ' (0 keeps events forever)',
  );
  const oldestMessageAlarmSeconds = int(
    'oldestMessageAlarmSeconds',
    DEFAULTS.oldestMessageAlarmSeconds,
    60,
    INGEST.retentionDays * 86400,
    ' (below the ingest queue retention)',
  );

  const list = (key: ContextKey): unknown[] | undefined => {
    const v = given(key);
    if (v === undefined) return undefined;
    if (typeof v === 'string')
      return v
        .split(',')
        .map((x) => x.trim())
        .filter(Boolean);
    return Array.isArray(v) ? v : [v];
  };
  const pipelineTargets: PipelineTarget[] = [];
  const target = (
    kind: PipelineTarget['kind'],
    arnKey: ContextKey,
    typesKey: ContextKey,
    scopesKey: ContextKey,
    arnRe: RegExp,
    arnExample: string,
  ) => {
    const arn = given(arnKey);
    const types = list(typesKey);
    const scopes = list(scopesKey);
    if (arn === undefined) {
      for (const [key, v] of [
        [typesKey, types],
        [scopesKey, scopes],
      ] as const)
        if (v !== undefined) problems.push(`${key}: applies only with ${arnKey}, which is not set`);
      return;
    }
    let ok = true;
    if (typeof arn !== 'string' || !arnRe.test(arn)) {
      problems.push(`${arnKey}: must be an ARN like ${arnExample}, got ${show(arn)}`);
      ok = false;
    }
    const badType = (types ?? []).filter((t) => !(ACTIONS as readonly unknown[]).includes(t));
    if (types?.length === 0 || badType.length) {
      problems.push(
        `${typesKey}: must list one or more of ${ACTIONS.join(' | ')} (comma-separated with -c), got ${show(given(typesKey))}`,
      );
      ok = false;
    }
    const badScope = (scopes ?? []).filter((t) => !(TRIGGER_SCOPES as readonly unknown[]).includes(t));
    if (scopes?.length === 0 || badScope.length) {
      problems.push(
        `${scopesKey}: must list one or both of ${TRIGGER_SCOPES.join(' | ')} (comma-separated with -c), got ${show(given(scopesKey))}`,
      );
      ok = false;
    }
    if (ok)
      pipelineTargets.push({
        kind,
        arn: arn as string,
        detailTypes: [...new Set((types as string[] | undefined) ?? PIPELINE_TARGET_DEFAULTS.detailTypes)],
        scopes: [...new Set((scopes as TriggerScope[] | undefined) ?? PIPELINE_TARGET_DEFAULTS.scopes)],
      });
  };
  target(
    'sageMakerPipeline',
    'sageMakerPipelineArn',
    'sageMakerPipelineDetailTypes',
    'sageMakerPipelineScopes',
    /^arn:aws(?:-[a-z]+)*:sagemaker:[a-z]{2}(?:-[a-z]+)+-\d:\d{12}:pipeline\/[a-zA-Z0-9](?:-*[a-zA-Z0-9]){0,255}$/,
    'arn:aws:sagemaker:us-east-1:123456789012:pipeline/retrain-camera-model',
  );
  target(
    'stateMachine',
    'stateMachineArn',
    'stateMachineDetailTypes',
    'stateMachineScopes',
    /^arn:aws(?:-[a-z]+)*:states:[a-z]{2}(?:-[a-z]+)+-\d:\d{12}:stateMachine:[\w-]{1,80}$/,
    'arn:aws:states:us-east-1:123456789012:stateMachine:retrain',
  );

  let datasetLocatorTemplate: string | undefined;
  const rawTemplate = given('datasetLocatorTemplate');
  if (rawTemplate !== undefined) {
    const bad = typeof rawTemplate === 'string' ? datasetLocatorProblems(rawTemplate) : ['must be a string'];
    if (bad.length) problems.push(...bad.map((b) => `datasetLocatorTemplate: ${b}, got ${show(rawTemplate)}`));
    else datasetLocatorTemplate = rawTemplate as string;
  }

  const bool = (key: ContextKey, fallback: boolean): boolean => {
    const v = given(key);
    if (v === undefined) return fallback;
    if (v === true || v === 'true') return true;
    if (v === false || v === 'false') return false;
    problems.push(`${key}: must be true or false, got ${show(v)}`);
    return fallback;
  };
  const history = bool('history', DEFAULTS.history);
  const historyRetentionDays = int(
    'historyRetentionDays',
    DEFAULTS.historyRetentionDays,
    0,
    36500,
    ' (0 keeps the history forever)',
  );
  const historyColdAfterDays = int(
    'historyColdAfterDays',
    DEFAULTS.historyColdAfterDays,
    0,
    36500,
    ' (0 keeps the history in S3 Standard)',
  );
  if (historyColdAfterDays > 0 && historyRetentionDays > 0 && historyColdAfterDays >= historyRetentionDays)
    problems.push(
      `historyColdAfterDays: must be below historyRetentionDays (${historyRetentionDays}) or 0, got ${historyColdAfterDays}`,
    );
  if (!history)
    for (const key of ['historyRetentionDays', 'historyColdAfterDays'] as const)
      if (given(key) !== undefined) problems.push(`${key}: applies only with history=true`);
  const sdkTracing = bool('sdkTracing', DEFAULTS.sdkTracing);

  if (problems.length > 0) throw new StackConfigError(problems);
  return {
    stage,
    functionMemoryMb,
    batchSize,
    batchingWindowSeconds,
    maxConcurrency,
    defaultPolicy,
    producerPrincipals,
    ...(alarmEmail !== undefined ? { alarmEmail } : {}),
    logLevel,
    logRetentionDays,
    archiveRetentionDays,
    oldestMessageAlarmSeconds,
    pipelineTargets,
    ...(datasetLocatorTemplate !== undefined ? { datasetLocatorTemplate } : {}),
    history,
    historyRetentionDays,
    historyColdAfterDays,
    sdkTracing,
  };
}

/** An account id / account root ARN, or an IAM role or user ARN; undefined when it is neither. */
export function producerPrincipal(s: string): ProducerPrincipal | undefined {
  if (/^\d{12}$/.test(s)) return { kind: 'account', accountId: s };
  const root = /^arn:aws(?:-[a-z]+)*:iam::(\d{12}):root$/.exec(s);
  if (root) return { kind: 'account', accountId: root[1]! };
  if (/^arn:aws(?:-[a-z]+)*:iam::\d{12}:(?:role|user)\/[\w+=,.@/-]+$/.test(s)) return { kind: 'arn', arn: s };
  return undefined;
}

/** Every config value set to its default (what a synth without context gives). */
export const defaultStackConfig = (): StackConfig => parseStackConfig(() => undefined);
