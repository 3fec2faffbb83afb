// The whole monitor as one CDK stack. Names, key schema, patterns and redrive come from resources.ts.
import { fileURLToPath } from 'node:url';
import { CfnOutput, Duration, RemovalPolicy, Stack, type StackProps, Validations } from 'aws-cdk-lib';
import { AttributeType, Billing, TableV2 } from 'aws-cdk-lib/aws-dynamodb';
import { EventBus, Rule } from 'aws-cdk-lib/aws-events';
import { SqsQueue } from 'aws-cdk-lib/aws-events-targets';
import { Architecture, Runtime } from 'aws-cdk-lib/aws-lambda';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import { NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import { DEFAULT_POLICY, parsePolicy, type Policy } from '../core/policy.js';
import { ENV, POLICY_CACHE_SECONDS, INGEST, RETRAINING_PATTERN, STATE_TABLE, resourceNames } from '../resources.js';

export interface MonitorStackProps extends StackProps {
  stage: string;
  /** Policy used when the table holds no fleet policy; validated at synth. */
  defaultPolicy?: unknown;
}

const fn = (name: string) => fileURLToPath(new URL(`../../functions/${name}.ts`, import.meta.url));

export class MonitorStack extends Stack {
  constructor(scope: Construct, id: string, props: MonitorStackProps) {
    super(scope, id, props);
    const names = resourceNames(props.stage);
    const defaultPolicy: Policy = props.defaultPolicy === undefined ? DEFAULT_POLICY : parsePolicy(props.defaultPolicy);

    const deadLetterQueue = new Queue(this, 'IngestDeadLetterQueue', {
      queueName: names.deadLetterQueue,
      retentionPeriod: Duration.days(INGEST.deadLetterRetentionDays),
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
    });
    const ingestQueue = new Queue(this, 'IngestQueue', {
      queueName: names.ingestQueue,
      visibilityTimeout: Duration.seconds(INGEST.visibilityTimeoutSeconds),
      retentionPeriod: Duration.days(INGEST.retentionDays),
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      deadLetterQueue: { queue: deadLetterQueue, maxReceiveCount: INGEST.maxReceiveCount },
    });

    const table = new TableV2(this, 'StateTable', {
      tableName: names.stateTable,
      partitionKey: { name: STATE_TABLE.partitionKey.name, type: AttributeType.STRING },
      billing: Billing.onDemand(),
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      deletionProtection: true,
      removalPolicy: RemovalPolicy.RETAIN,
    });

    const bus = new EventBus(this, 'MonitorBus', { eventBusName: names.eventBus });

    const retrainingQueue = new Queue(this, 'RetrainingRequestsQueue', {
      queueName: names.retrainingQueue,
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    new Rule(this, 'RetrainingRequestedRule', {
      ruleName: names.retrainingRule,
      eventBus: bus,
      eventPattern: { source: RETRAINING_PATTERN.source, detailType: RETRAINING_PATTERN['detail-type'] },
      targets: [new SqsQueue(retrainingQueue)],
    });

    const logGroup = new LogGroup(this, 'IngestLogs', { retention: RetentionDays.ONE_MONTH, removalPolicy: RemovalPolicy.DESTROY });
    const ingest = new NodejsFunction(this, 'IngestFunction', {
      entry: fn('ingest'),
      handler: 'handler',
      runtime: Runtime.NODEJS_24_X,
      architecture: Architecture.ARM_64,
      memorySize: 512,
      timeout: Duration.seconds(INGEST.functionTimeoutSeconds),
      logGroup,
      environment: {
        [ENV.tableName]: table.tableName,
        [ENV.eventBusName]: bus.eventBusName,
        [ENV.deadLetterQueueUrl]: deadLetterQueue.queueUrl,
        [ENV.defaultPolicy]: JSON.stringify(defaultPolicy),
        [ENV.policyCacheSeconds]: String(POLICY_CACHE_SECONDS),
      },
      bundling: { format: OutputFormat.ESM, minify: true, sourceMap: false, target: 'node24',
        banner: "import { createRequire } from 'module';const require = createRequire(import.meta.url);" },
    });
    table.grantReadWriteData(ingest);
    bus.grantPutEventsTo(ingest);
    deadLetterQueue.grantSendMessages(ingest);
    ingest.addEventSource(new SqsEventSource(ingestQueue, {
      batchSize: INGEST.batchSize,
      maxBatchingWindow: Duration.seconds(INGEST.maxBatchingWindowSeconds),
      reportBatchItemFailures: true,
    }));

    Validations.of(ingest).acknowledge(
      { id: 'AwsSolutions::AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]', reason: 'AWSLambdaBasicExecutionRole only allows writing this function\'s own CloudWatch logs.' },
      { id: 'AwsSolutions-IAM5', reason: 'The wildcards are the CDK grants\' index/* on the state table and the log streams of the function\'s own log group.' },
    );
    Validations.of(deadLetterQueue).acknowledge({ id: 'AwsSolutions-SQS3', reason: 'This queue is itself the dead-letter queue of the ingest queue.' });
    Validations.of(retrainingQueue).acknowledge({ id: 'AwsSolutions-SQS3', reason: 'Hand-off queue for the training pipeline; its consumer owns redrive.' });

    new CfnOutput(this, 'IngestQueueUrl', { value: ingestQueue.queueUrl });
    new CfnOutput(this, 'DeadLetterQueueUrl', { value: deadLetterQueue.queueUrl });
    new CfnOutput(this, 'StateTableName', { value: table.tableName });
    new CfnOutput(this, 'EventBusName', { value: bus.eventBusName });
    new CfnOutput(this, 'RetrainingQueueUrl', { value: retrainingQueue.queueUrl });
  }
}
