// Creates the stack's resources on a local emulator from the same definitions the CDK stack uses.
import { CreateTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  CreateEventBusCommand,
  EventBridgeClient,
  PutRuleCommand,
  PutTargetsCommand,
} from '@aws-sdk/client-eventbridge';
import { CreateQueueCommand, GetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { CreateDeliveryStreamCommand, FirehoseClient } from '@aws-sdk/client-firehose';
import { CreateStateMachineCommand, SFNClient } from '@aws-sdk/client-sfn';
import { replayDefinition } from '../replay-cloud/definition.js';
import {
  ENV,
  HISTORY,
  INGEST,
  localHistoryBucket,
  LIFECYCLE_PATTERN,
  RETRAINING_PATTERN,
  sageMakerExecutionPattern,
  sageMakerModelPackagePattern,
  STATE_TABLE,
  TAP_PATTERN,
  resourceNames,
} from '../resources.js';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from './moto-server.js';

export interface LocalStack {
  endpoint: string;
  region: string;
  ingestQueueUrl: string;
  deadLetterQueueUrl: string;
  tableName: string;
  eventBusName: string;
  retrainingQueueUrl: string;
  tapQueueUrl: string;
  lifecycleQueueUrl: string;
  lifecycleDeadLetterQueueUrl: string;
  /** The metric history (absent with `history: false`): bucket and Firehose stream. */
  historyBucket?: string;
  historyStreamName?: string;
  /** The distributed replay (with the history): its state machine and the queue its tasks arrive on. */
  replayStateMachineArn?: string;
  replayTaskQueueUrl?: string;
}

export function localClientConfig(endpoint: string) {
  return { endpoint, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS };
}

export interface LocalStackOptions {
  stage?: string;
  /** Local visibility timeout (s): shorter than the deployed one so redeliveries show up quickly. */
  visibilityTimeoutSeconds?: number;
  maxReceiveCount?: number;
  /** As the stack's sageMakerPipelineArn: rules on the default bus bring its results to the lifecycle queue. */
  sageMakerPipelineArn?: string;
  /** Keep a metric history (moto S3 + Firehose, lib/local/history-delivery.ts); default true, as deployed. */
  history?: boolean;
}

async function queueArn(sqs: SQSClient, url: string): Promise<string> {
  const r = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['QueueArn'] }));
  return r.Attributes!.QueueArn!;
}

export async function createLocalStack(endpoint: string, opts: LocalStackOptions = {}): Promise<LocalStack> {
  const names = resourceNames(opts.stage ?? 'local');
  const cfg = localClientConfig(endpoint);
  const sqs = new SQSClient(cfg);
  const ddb = new DynamoDBClient(cfg);
  const eb = new EventBridgeClient(cfg);
  const s3 = new S3Client({ ...cfg, forcePathStyle: true });
  const firehose = new FirehoseClient(cfg);
  const sfn = new SFNClient(cfg);
  try {
    const dlq = await sqs.send(
      new CreateQueueCommand({
        QueueName: names.deadLetterQueue,
        Attributes: { MessageRetentionPeriod: String(INGEST.deadLetterRetentionDays * 86400) },
      }),
    );
    const dlqArn = await queueArn(sqs, dlq.QueueUrl!);
    const ingest = await sqs.send(
      new CreateQueueCommand({
        QueueName: names.ingestQueue,
        Attributes: {
          VisibilityTimeout: String(opts.visibilityTimeoutSeconds ?? INGEST.visibilityTimeoutSeconds),
          MessageRetentionPeriod: String(INGEST.retentionDays * 86400),
          RedrivePolicy: JSON.stringify({
            deadLetterTargetArn: dlqArn,
            maxReceiveCount: opts.maxReceiveCount ?? INGEST.maxReceiveCount,
          }),
        },
      }),
    );
    const retraining = await sqs.send(new CreateQueueCommand({ QueueName: names.retrainingQueue }));
    const tap = await sqs.send(new CreateQueueCommand({ QueueName: names.tapQueue }));
    const lifecycleDlq = await sqs.send(new CreateQueueCommand({ QueueName: names.lifecycleDeadLetterQueue }));
    const lifecycle = await sqs.send(
      new CreateQueueCommand({
        QueueName: names.lifecycleQueue,
        Attributes: {
          VisibilityTimeout: String(opts.visibilityTimeoutSeconds ?? INGEST.visibilityTimeoutSeconds),
          RedrivePolicy: JSON.stringify({
            deadLetterTargetArn: await queueArn(sqs, lifecycleDlq.QueueUrl!),
            maxReceiveCount: opts.maxReceiveCount ?? INGEST.maxReceiveCount,
          }),
        },
      }),
    );

    const ix = STATE_TABLE.pendingOutboxIndex;
    await ddb.send(
      new CreateTableCommand({
        TableName: names.stateTable,
        KeySchema: [{ AttributeName: STATE_TABLE.partitionKey.name, KeyType: 'HASH' }],
        AttributeDefinitions: [
          { AttributeName: STATE_TABLE.partitionKey.name, AttributeType: STATE_TABLE.partitionKey.type },
          { AttributeName: ix.partitionKey.name, AttributeType: ix.partitionKey.type },
          { AttributeName: ix.sortKey.name, AttributeType: ix.sortKey.type },
        ],
        GlobalSecondaryIndexes: [
          {
            IndexName: ix.name,
            KeySchema: [
              { AttributeName: ix.partitionKey.name, KeyType: 'HASH' },
              { AttributeName: ix.sortKey.name, KeyType: 'RANGE' },
            ],
            Projection: { ProjectionType: 'KEYS_ONLY' },
          },
        ],
        BillingMode: 'PAY_PER_REQUEST',
      }),
    );

    await eb.send(new CreateEventBusCommand({ Name: names.eventBus }));
    const routes: [string, object, string, string][] = [
      [names.retrainingRule, RETRAINING_PATTERN, retraining.QueueUrl!, names.eventBus],
      [names.tapRule, TAP_PATTERN, tap.QueueUrl!, names.eventBus],
      [names.lifecycleRule, LIFECYCLE_PATTERN, lifecycle.QueueUrl!, names.eventBus],
    ];
    if (opts.sageMakerPipelineArn) {
      // SageMaker publishes on the default bus.
      routes.push(
        [
          names.sageMakerExecutionRule,
          sageMakerExecutionPattern(opts.sageMakerPipelineArn),
          lifecycle.QueueUrl!,
          'default',
        ],
        [
          names.sageMakerModelPackageRule,
          sageMakerModelPackagePattern(opts.sageMakerPipelineArn),
          lifecycle.QueueUrl!,
          'default',
        ],
      );
    }
    for (const [rule, pattern, url, bus] of routes) {
      await eb.send(
        new PutRuleCommand({ Name: rule, EventBusName: bus, EventPattern: JSON.stringify(pattern), State: 'ENABLED' }),
      );
      const arn = await queueArn(sqs, url);
      await eb.send(new PutTargetsCommand({ Rule: rule, EventBusName: bus, Targets: [{ Id: 'queue', Arn: arn }] }));
    }
    let history:
      | { historyBucket: string; historyStreamName: string; replayStateMachineArn: string; replayTaskQueueUrl: string }
      | undefined;
    if (opts.history ?? true) {
      const bucket = localHistoryBucket(opts.stage ?? 'local');
      await s3.send(new CreateBucketCommand({ Bucket: bucket }));
      // moto delivers each PutRecordBatch as one object under the prefix, unconverted: the local delivery takes it from there.
      await firehose.send(
        new CreateDeliveryStreamCommand({
          DeliveryStreamName: names.historyStream,
          DeliveryStreamType: 'DirectPut',
          ExtendedS3DestinationConfiguration: {
            BucketARN: `arn:aws:s3:::${bucket}`,
            RoleARN: 'arn:aws:iam::123456789012:role/local-history-delivery',
            Prefix: HISTORY.incomingPrefix,
          },
        }),
      );
      // The replay state machine runs on moto's interpreter, its tasks as SQS callbacks (lib/replay-cloud/definition.ts).
      await enableStateMachineExecution(endpoint);
      const tasks = await sqs.send(new CreateQueueCommand({ QueueName: `${names.replayStateMachine}-tasks` }));
      const machine = await sfn.send(
        new CreateStateMachineCommand({
          name: names.replayStateMachine,
          roleArn: 'arn:aws:iam::123456789012:role/local-replay',
          definition: JSON.stringify(
            replayDefinition({ task: { kind: 'sqs-callback', queueUrl: tasks.QueueUrl! }, bucket }),
          ),
        }),
      );
      history = {
        historyBucket: bucket,
        historyStreamName: names.historyStream,
        replayStateMachineArn: machine.stateMachineArn!,
        replayTaskQueueUrl: tasks.QueueUrl!,
      };
    }
    return {
      ...history,
      endpoint,
      region: LOCAL_REGION,
      ingestQueueUrl: ingest.QueueUrl!,
      deadLetterQueueUrl: dlq.QueueUrl!,
      tableName: names.stateTable,
      eventBusName: names.eventBus,
      retrainingQueueUrl: retraining.QueueUrl!,
      tapQueueUrl: tap.QueueUrl!,
      lifecycleQueueUrl: lifecycle.QueueUrl!,
      lifecycleDeadLetterQueueUrl: lifecycleDlq.QueueUrl!,
    };
  } finally {
    sqs.destroy();
    ddb.destroy();
    eb.destroy();
    s3.destroy();
    firehose.destroy();
    sfn.destroy();
  }
}

/** moto runs state machines only when told to (its Step Functions otherwise only records executions). */
export async function enableStateMachineExecution(endpoint: string): Promise<void> {
  const r = await fetch(`${endpoint}/moto-api/config`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ stepfunctions: { execute_state_machine: true } }),
  });
  if (!r.ok) throw new Error(`moto refused its Step Functions configuration: HTTP ${r.status}`);
}

/** Environment the ingest function reads, pointing at a local stack. */
export function functionEnv(stack: LocalStack): Record<string, string> {
  return {
    AWS_ENDPOINT_URL: stack.endpoint,
    AWS_REGION: stack.region,
    AWS_ACCESS_KEY_ID: LOCAL_CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: LOCAL_CREDENTIALS.secretAccessKey,
    STATE_TABLE_NAME: stack.tableName,
    EVENT_BUS_NAME: stack.eventBusName,
    DEAD_LETTER_QUEUE_URL: stack.deadLetterQueueUrl,
    LIFECYCLE_DEAD_LETTER_QUEUE_URL: stack.lifecycleDeadLetterQueueUrl,
    ...(stack.historyStreamName ? { [ENV.historyStreamName]: stack.historyStreamName } : {}),
  };
}
