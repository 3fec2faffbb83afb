// The distributed replay's state machine (docs/history-replay.md), as ASL built by one pure function
// for the stack and the local stack alike. A Distributed Map reads the run's manifest (one item per
// shard of cameras) from S3, runs the replay engine's shard step on each (a camera's events must all
// reach one worker, so an item is a shard, not an S3 object: ItemBatcher, which groups items by count,
// cannot keep a camera's objects together), writes the Map's results with ResultWriter, then the merge
// step makes the cohort decisions; when cohort priors changed, it names the shards to run again and
// the machine loops (the engine's rounds), all in Step Functions.
// Only the task resource differs: the worker Lambda deployed, an SQS callback (.waitForTaskToken)
// locally, because moto runs Lambda tasks in Docker only; a local loop serves that queue by calling the
// same step function (lib/replay-cloud/steps.ts).
import { HISTORY } from '../resources.js';

/** Who runs a step: the worker Lambda, or a queue whose consumer calls back with the task token. */
export type ReplayTaskTarget = { kind: 'lambda'; functionArn: string } | { kind: 'sqs-callback'; queueUrl: string };

export interface ReplayDefinitionOptions {
  task: ReplayTaskTarget;
  /** The history bucket: manifests, shard results and the result document live under HISTORY.replayPrefix. */
  bucket: string;
  /** Child workflows at once (Distributed Map allows up to 10,000). */
  maxConcurrency?: number;
}

export const REPLAY_STATES = { shards: 'Replay shards', shard: 'Replay shard', merge: 'Merge', done: 'Done?' } as const;
export const DEFAULT_REPLAY_CONCURRENCY = 1000;
/** A shard step's time limit (Lambda's own limit is 900 s). */
export const SHARD_TIMEOUT_SECONDS = 900;

/** The input each step gets: which step, and its input. */
export type ReplayStep = 'shard' | 'merge';

const TRANSIENT = [
  'Lambda.ServiceException',
  'Lambda.AWSLambdaException',
  'Lambda.SdkClientException',
  'Lambda.TooManyRequestsException',
  'States.Timeout',
];

function task(target: ReplayTaskTarget, step: ReplayStep, extra: Record<string, unknown>): Record<string, unknown> {
  const base = {
    Type: 'Task',
    TimeoutSeconds: SHARD_TIMEOUT_SECONDS,
    Retry: [{ ErrorEquals: TRANSIENT, IntervalSeconds: 2, MaxAttempts: 3, BackoffRate: 2 }],
    ...extra,
  };
  if (target.kind === 'lambda') return { ...base, Resource: target.functionArn, Parameters: { step, 'input.$': '$' } };
  return {
    ...base,
    Resource: 'arn:aws:states:::sqs:sendMessage.waitForTaskToken',
    Parameters: { QueueUrl: target.queueUrl, MessageBody: { step, 'input.$': '$', 'taskToken.$': '$$.Task.Token' } },
  };
}

/**
 * The state machine. Execution input: `{ runKey, manifestKey, round: 1 }` (lib/replay-cloud/run.ts writes
 * the run document and manifest first). Output: the merge's `{ done: true, resultKey, … }`.
 */
export function replayDefinition(o: ReplayDefinitionOptions): Record<string, unknown> {
  return {
    Comment: 'VisuTility Monitor: replay the metric history through the production decision code, sharded by camera',
    StartAt: REPLAY_STATES.shards,
    States: {
      [REPLAY_STATES.shards]: {
        Type: 'Map',
        ItemReader: {
          Resource: 'arn:aws:states:::s3:getObject',
          ReaderConfig: { InputType: 'JSON' },
          Parameters: { Bucket: o.bucket, 'Key.$': '$.manifestKey' },
        },
        ItemSelector: { 'runKey.$': '$.runKey', 'round.$': '$.round', 'shard.$': '$$.Map.Item.Value' },
        ItemProcessor: {
          ProcessorConfig: { Mode: 'DISTRIBUTED', ExecutionType: 'STANDARD' },
          StartAt: REPLAY_STATES.shard,
          States: { [REPLAY_STATES.shard]: task(o.task, 'shard', { End: true }) },
        },
        MaxConcurrency: o.maxConcurrency ?? DEFAULT_REPLAY_CONCURRENCY,
        // A shard that fails after its retries fails the replay: a result without some cameras would mislead.
        ToleratedFailureCount: 0,
        ResultWriter: {
          Resource: 'arn:aws:states:::s3:putObject',
          Parameters: { Bucket: o.bucket, Prefix: `${HISTORY.replayPrefix}map-results` },
        },
        ResultPath: '$.mapRun',
        Next: REPLAY_STATES.merge,
      },
      [REPLAY_STATES.merge]: task(o.task, 'merge', { Next: REPLAY_STATES.done }),
      [REPLAY_STATES.done]: {
        Type: 'Choice',
        Choices: [{ Variable: '$.done', BooleanEquals: true, Next: 'Replayed' }],
        // Cohort priors changed: run the shards the merge named again (the engine's rounds).
        Default: REPLAY_STATES.shards,
      },
      Replayed: { Type: 'Succeed' },
    },
  };
}
