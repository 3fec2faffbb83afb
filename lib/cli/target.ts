// Where vmon's commands point: a deployed stack (resource names from its CloudFormation outputs,
// credentials and region from the standard chain) or the local stack that `npm run local` runs.
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SQSClient } from '@aws-sdk/client-sqs';
import { LOCAL_CREDENTIALS } from '../local/moto-server.js';
import { CliError, EXIT, usageError } from './errors.js';

export const DEFAULT_STACK_NAME = 'VisuTilityMonitor-dev';
export const DEFAULT_STACK_FILE = '.local/stack.json';

export interface TargetOptions {
  local?: boolean;
  /** Path of a local stack file; implies local. */
  stackFile?: string;
  stack?: string;
  region?: string;
}

export interface Target {
  kind: 'local' | 'aws';
  /** For messages: where the command is pointed. */
  description: string;
  clientConfig: { region?: string; endpoint?: string; credentials?: { accessKeyId: string; secretAccessKey: string } };
  ingestQueueUrl: string;
  deadLetterQueueUrl: string;
  tableName: string;
  eventBusName: string;
  retrainingQueueUrl: string;
  tapQueueUrl?: string;
  /** The metric history's bucket and the replay state machine (absent when the stack keeps no history). */
  historyBucket?: string;
  replayStateMachineArn?: string;
}

const LOCAL_KEYS = [
  'endpoint',
  'region',
  'ingestQueueUrl',
  'deadLetterQueueUrl',
  'tableName',
  'eventBusName',
  'retrainingQueueUrl',
] as const;
const noLocalStack = (endpoint: string) =>
  new CliError(`no local stack running at ${endpoint} — start it with npm run local`, EXIT.unreachable);

export async function resolveTarget(opts: TargetOptions): Promise<Target> {
  if (opts.local || opts.stackFile) return localTarget(opts.stackFile ?? DEFAULT_STACK_FILE);
  return awsTarget(opts.stack ?? DEFAULT_STACK_NAME, opts.region);
}

async function localTarget(file: string): Promise<Target> {
  const path = resolve(file);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch {
    throw new CliError(
      `no local stack: ${file} not found — start it with npm run local (or pass --stack-file <path>)`,
      EXIT.unreachable,
    );
  }
  let data: Record<string, unknown>;
  try {
    data = JSON.parse(text) as Record<string, unknown>;
  } catch (err) {
    throw usageError(`${file} is not valid JSON: ${(err as Error).message}`);
  }
  for (const k of LOCAL_KEYS) {
    if (typeof data[k] !== 'string' || data[k] === '')
      throw usageError(`${file} has no "${k}" (expected keys: ${LOCAL_KEYS.join(', ')}, tapQueueUrl)`);
  }
  const endpoint = data.endpoint as string;
  try {
    // Any HTTP answer will do: this only tells "nothing listening" apart from "something there".
    await fetch(endpoint, { signal: AbortSignal.timeout(3000) });
  } catch {
    throw noLocalStack(endpoint);
  }
  return {
    kind: 'local',
    description: `local stack at ${endpoint}`,
    clientConfig: { endpoint, region: data.region as string, credentials: LOCAL_CREDENTIALS },
    ingestQueueUrl: data.ingestQueueUrl as string,
    deadLetterQueueUrl: data.deadLetterQueueUrl as string,
    tableName: data.tableName as string,
    eventBusName: data.eventBusName as string,
    retrainingQueueUrl: data.retrainingQueueUrl as string,
    ...(typeof data.tapQueueUrl === 'string' ? { tapQueueUrl: data.tapQueueUrl } : {}),
    ...(typeof data.historyBucket === 'string' ? { historyBucket: data.historyBucket } : {}),
    ...(typeof data.replayStateMachineArn === 'string' ? { replayStateMachineArn: data.replayStateMachineArn } : {}),
  };
}

async function awsTarget(stackName: string, region: string | undefined): Promise<Target> {
  // Loaded only when aiming at AWS: local use needs nothing from CloudFormation.
  const { CloudFormationClient, DescribeStacksCommand } = await import('@aws-sdk/client-cloudformation');
  const cfn = new CloudFormationClient(region ? { region } : {});
  try {
    const r = await cfn.send(new DescribeStacksCommand({ StackName: stackName }));
    const outputs = Object.fromEntries((r.Stacks?.[0]?.Outputs ?? []).map((o) => [o.OutputKey, o.OutputValue]));
    const need = ['IngestQueueUrl', 'DeadLetterQueueUrl', 'StateTableName', 'EventBusName', 'RetrainingQueueUrl'];
    const missing = need.filter((k) => !outputs[k]);
    if (missing.length)
      throw new CliError(
        `stack ${stackName} has no output(s) ${missing.join(', ')}: is it a VisuTility Monitor stack?`,
        EXIT.unreachable,
      );
    const resolvedRegion = await cfn.config.region();
    return {
      kind: 'aws',
      description: `stack ${stackName} in ${resolvedRegion}`,
      clientConfig: region ? { region } : {},
      ingestQueueUrl: outputs.IngestQueueUrl!,
      deadLetterQueueUrl: outputs.DeadLetterQueueUrl!,
      tableName: outputs.StateTableName!,
      eventBusName: outputs.EventBusName!,
      retrainingQueueUrl: outputs.RetrainingQueueUrl!,
      ...(outputs.TapQueueUrl ? { tapQueueUrl: outputs.TapQueueUrl } : {}),
      ...(outputs.HistoryBucketName ? { historyBucket: outputs.HistoryBucketName } : {}),
      ...(outputs.ReplayStateMachineArn ? { replayStateMachineArn: outputs.ReplayStateMachineArn } : {}),
    };
  } catch (err) {
    if (err instanceof CliError) throw err;
    const e = err as Error;
    if (e.name === 'ValidationError' && /does not exist/.test(e.message))
      throw new CliError(
        `stack ${stackName} not found (${e.message}); pass --stack <name>, or --local for the local stack`,
        EXIT.unreachable,
      );
    throw awsError(err, { kind: 'aws' });
  } finally {
    cfn.destroy();
  }
}

/** Maps an AWS SDK error to a CliError with a message a person can act on. */
export function awsError(
  err: unknown,
  target: Pick<Target, 'kind'> & { clientConfig?: Target['clientConfig'] },
): CliError {
  if (err instanceof CliError) return err;
  const e = err as Error & { code?: string; cause?: { code?: string } };
  const code = e.code ?? e.cause?.code ?? '';
  if (e.name === 'CredentialsProviderError' || /Could not load credentials/i.test(e.message))
    return new CliError(
      'no AWS credentials found in the standard chain (environment, ~/.aws profiles, SSO, instance role): configure them, or use --local',
      EXIT.unreachable,
    );
  if (/Region is missing/i.test(e.message))
    return new CliError('no AWS region: set AWS_REGION or pass --region <region>', EXIT.unreachable);
  if (
    ['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'ECONNRESET', 'ETIMEDOUT'].includes(code) ||
    e.name === 'TimeoutError'
  ) {
    if (target.kind === 'local' && target.clientConfig?.endpoint) return noLocalStack(target.clientConfig.endpoint);
    return new CliError(`AWS is unreachable (${code || e.name}): ${e.message}`, EXIT.unreachable);
  }
  return new CliError(`${e.name}: ${e.message}`, EXIT.failure);
}

/** SDK clients for a target, created on first use. */
export class TargetClients {
  private sqsClient?: SQSClient;
  private ddbClient?: DynamoDBClient;
  constructor(readonly target: Target) {}
  get sqs(): SQSClient {
    return (this.sqsClient ??= new SQSClient(this.target.clientConfig));
  }
  get ddb(): DynamoDBClient {
    return (this.ddbClient ??= new DynamoDBClient(this.target.clientConfig));
  }
  destroy(): void {
    this.sqsClient?.destroy();
    this.ddbClient?.destroy();
  }
}
