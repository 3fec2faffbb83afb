// The whole monitor as one CDK stack. Names, key schema, patterns and redrive come from resources.ts;
// per-environment settings come from the validated StackConfig (stack-config.ts).
import { CfnOutput, Duration, RemovalPolicy, Stack, type StackProps, Validations } from 'aws-cdk-lib';
import { AttributeType, Billing, ProjectionType, TableV2, type ITableV2 } from 'aws-cdk-lib/aws-dynamodb';
import { GraphWidget, MathExpression } from 'aws-cdk-lib/aws-cloudwatch';
import { Archive, EventBus, Rule, Schedule, type IEventBus } from 'aws-cdk-lib/aws-events';
import { LambdaFunction, SqsQueue } from 'aws-cdk-lib/aws-events-targets';
import {
  AccountPrincipal,
  AnyPrincipal,
  ArnPrincipal,
  Effect,
  PolicyStatement,
  type IPrincipal,
} from 'aws-cdk-lib/aws-iam';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import { Queue, QueueEncryption, type IQueue } from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import {
  COHORT,
  ENV,
  EVENT_SOURCE,
  INGEST,
  LIFECYCLE_PATTERN,
  OUTBOX_SWEEP,
  POLICY_CACHE_SECONDS,
  RETRAINING_PATTERN,
  STATE_TABLE,
  resourceNames,
} from '../resources.js';
import { METRIC, SERVICE } from '../telemetry.js';
import { MetricHistory } from './history.js';
import { MonitorFunction } from './monitor-function.js';
import { MonitorOperations } from './operations.js';
import { PipelineTargets, sageMakerLoopRules } from './pipeline-targets.js';
import type { ProducerPrincipal, StackConfig } from './stack-config.js';

export interface MonitorStackProps extends StackProps {
  config: StackConfig;
}

/** How long EventBridge keeps retrying delivery to a rule target before dead-lettering the event. */
export const RULE_TARGET_RETRY = { attempts: 185, maxEventAgeHours: 24 };
const HANDOFF_RETENTION_DAYS = 14;

export class MonitorStack extends Stack {
  constructor(scope: Construct, id: string, props: MonitorStackProps) {
    super(scope, id, props);
    const config = props.config;
    const names = resourceNames(config.stage);

    // --- Ingest: queue (producers only), dead-letter queue ---
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
    for (const statement of producerStatements(ingestQueue.queueArn, config.producerPrincipals))
      ingestQueue.addToResourcePolicy(statement);

    // --- State ---
    const table = new TableV2(this, 'StateTable', {
      tableName: names.stateTable,
      partitionKey: { name: STATE_TABLE.partitionKey.name, type: AttributeType.STRING },
      billing: Billing.onDemand(),
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      deletionProtection: true,
      removalPolicy: RemovalPolicy.RETAIN,
      // Sparse: only camera items with unpublished triggers carry its key, so it costs a write only then.
      globalSecondaryIndexes: [
        {
          indexName: STATE_TABLE.pendingOutboxIndex.name,
          partitionKey: { name: STATE_TABLE.pendingOutboxIndex.partitionKey.name, type: AttributeType.STRING },
          sortKey: { name: STATE_TABLE.pendingOutboxIndex.sortKey.name, type: AttributeType.NUMBER },
          projectionType: ProjectionType.KEYS_ONLY,
        },
      ],
    });

    // --- Triggers: bus, archive, retraining rule with retries and a dead-letter queue ---
    const bus = new EventBus(this, 'MonitorBus', { eventBusName: names.eventBus });
    const archive = new Archive(this, 'MonitorEventsArchive', {
      sourceEventBus: bus,
      archiveName: names.eventArchive,
      description: `Every ${EVENT_SOURCE} event, for replay`,
      eventPattern: { source: [EVENT_SOURCE] },
      // 0 keeps events forever (EventBridge's own meaning).
      ...(config.archiveRetentionDays > 0 ? { retention: Duration.days(config.archiveRetentionDays) } : {}),
    });

    const retrainingQueue = new Queue(this, 'RetrainingRequestsQueue', {
      queueName: names.retrainingQueue,
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(HANDOFF_RETENTION_DAYS),
    });
    // Events a rule could not deliver within its retries, with EventBridge's ERROR_CODE attributes.
    const ruleDeadLetterQueue = new Queue(this, 'RuleDeadLetterQueue', {
      queueName: names.ruleDeadLetterQueue,
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(HANDOFF_RETENTION_DAYS),
    });
    const ruleTarget = (queue: IQueue) =>
      new SqsQueue(queue, {
        retryAttempts: RULE_TARGET_RETRY.attempts,
        maxEventAge: Duration.hours(RULE_TARGET_RETRY.maxEventAgeHours),
        deadLetterQueue: ruleDeadLetterQueue,
      });
    new Rule(this, 'RetrainingRequestedRule', {
      ruleName: names.retrainingRule,
      eventBus: bus,
      eventPattern: { source: RETRAINING_PATTERN.source, detailType: RETRAINING_PATTERN['detail-type'] },
      targets: [ruleTarget(retrainingQueue)],
    });

    // --- Closed loop: the training pipeline's RetrainingCompleted / ModelDeployed back to the monitor ---
    const lifecycleDeadLetterQueue = new Queue(this, 'LifecycleDeadLetterQueue', {
      queueName: names.lifecycleDeadLetterQueue,
      retentionPeriod: Duration.days(INGEST.deadLetterRetentionDays),
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
    });
    const lifecycleQueue = new Queue(this, 'LifecycleQueue', {
      queueName: names.lifecycleQueue,
      visibilityTimeout: Duration.seconds(INGEST.visibilityTimeoutSeconds),
      retentionPeriod: Duration.days(INGEST.retentionDays),
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      deadLetterQueue: { queue: lifecycleDeadLetterQueue, maxReceiveCount: INGEST.maxReceiveCount },
    });
    new Rule(this, 'LifecycleRule', {
      ruleName: names.lifecycleRule,
      eventBus: bus,
      eventPattern: { detailType: LIFECYCLE_PATTERN['detail-type'] },
      targets: [ruleTarget(lifecycleQueue)],
    });
    const sageMakerPipeline = config.pipelineTargets.find((t) => t.kind === 'sageMakerPipeline');
    if (sageMakerPipeline) sageMakerLoopRules(this, names, sageMakerPipeline.arn, lifecycleQueue, ruleDeadLetterQueue);

    // --- Metric history (context history=false: none, and the function writes none) ---
    const history = config.history
      ? new MetricHistory(this, 'History', {
          names,
          retentionDays: config.historyRetentionDays,
          coldAfterDays: config.historyColdAfterDays,
          stage: config.stage,
          logLevel: config.logLevel,
          logRetentionDays: config.logRetentionDays,
        })
      : undefined;

    // --- Ingest function ---
    const functionDefaults = {
      stage: config.stage,
      memorySize: config.functionMemoryMb,
      timeout: Duration.seconds(INGEST.functionTimeoutSeconds),
      logLevel: config.logLevel,
      logRetentionDays: config.logRetentionDays,
      sdkTracing: config.sdkTracing,
    };
    const eventSource = (queue: IQueue) =>
      new SqsEventSource(queue, {
        batchSize: config.batchSize,
        maxBatchingWindow: Duration.seconds(config.batchingWindowSeconds),
        maxConcurrency: config.maxConcurrency,
        reportBatchItemFailures: true,
      });
    const ingest = new MonitorFunction(this, 'Ingest', {
      ...functionDefaults,
      entry: 'ingest',
      serviceName: SERVICE.ingest,
      description: 'VisuTility Monitor ingest: metric events to per-camera state and triggers',
      environment: {
        ...monitorEnvironment(table, bus, config.defaultPolicy, config.datasetLocatorTemplate),
        [ENV.deadLetterQueueUrl]: deadLetterQueue.queueUrl,
        ...(history ? { [ENV.historyStreamName]: names.historyStream } : {}),
      },
      permissions: [...monitorPermissions(table, bus, deadLetterQueue), ...(history ? [history.putPermission()] : [])],
    });
    ingest.function.addEventSource(eventSource(ingestQueue));

    const lifecycle = new MonitorFunction(this, 'Lifecycle', {
      ...functionDefaults,
      entry: 'model-lifecycle',
      serviceName: SERVICE.lifecycle,
      description: 'VisuTility Monitor model lifecycle: retraining results and deployments reset camera baselines',
      environment: {
        ...monitorEnvironment(table, bus, config.defaultPolicy, config.datasetLocatorTemplate),
        [ENV.lifecycleDeadLetterQueueUrl]: lifecycleDeadLetterQueue.queueUrl,
      },
      permissions: [
        ...monitorPermissions(table, bus, lifecycleDeadLetterQueue),
        // Which camera or cohort a SageMaker result is for: the parameters the trigger started it with.
        ...(sageMakerPipeline
          ? [
              new PolicyStatement({
                actions: ['sagemaker:ListPipelineParametersForExecution'],
                resources: [`${sageMakerPipeline.arn}/execution/*`],
              }),
            ]
          : []),
      ],
    });
    lifecycle.function.addEventSource(eventSource(lifecycleQueue));

    // Publishes triggers a committed write decided but no invocation published (died after the write).
    const sweeper = new MonitorFunction(this, 'OutboxSweep', {
      ...functionDefaults,
      entry: 'outbox-sweep',
      serviceName: SERVICE.outboxSweep,
      description: 'VisuTility Monitor outbox sweep: publishes triggers left in camera outboxes',
      environment: monitorEnvironment(table, bus, config.defaultPolicy, config.datasetLocatorTemplate),
      permissions: [
        ...monitorPermissions(table, bus),
        new PolicyStatement({
          actions: ['dynamodb:Query'],
          resources: [`${table.tableArn}/index/${STATE_TABLE.pendingOutboxIndex.name}`],
        }),
      ],
    });
    new Rule(this, 'OutboxSweepSchedule', {
      ruleName: names.outboxSweepRule,
      description: `Runs the outbox sweep every ${OUTBOX_SWEEP.everyMinutes} minutes`,
      schedule: Schedule.rate(Duration.minutes(OUTBOX_SWEEP.everyMinutes)),
      targets: [new LambdaFunction(sweeper.function, { retryAttempts: 2, deadLetterQueue: ruleDeadLetterQueue })],
    });

    // --- Alarms and dashboard ---
    const ops = new MonitorOperations(this, 'Operations', {
      names,
      stage: config.stage,
      ...(config.alarmEmail ? { alarmEmail: config.alarmEmail } : {}),
    });
    const m = (name: string) => ops.metric(SERVICE.ingest, name);
    ops.addRow(
      new GraphWidget({
        title: 'Events per minute',
        left: [
          m(METRIC.eventsProcessed),
          m(METRIC.eventsRejected),
          m(METRIC.eventsDuplicate),
          m(METRIC.eventsLate),
          m(METRIC.eventsTooLate),
        ],
        width: 12,
      }),
      new GraphWidget({ title: 'Triggers per minute, by type', left: [ops.triggersByType()], width: 12 }),
    );
    ops.addRow(
      new GraphWidget({
        title: 'Ingest queue: oldest message (s)',
        left: [ingestQueue.metricApproximateAgeOfOldestMessage({ period: Duration.minutes(1), statistic: 'Maximum' })],
        right: [
          ingestQueue.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(1), statistic: 'Maximum' }),
        ],
        width: 8,
      }),
      new GraphWidget({
        title: 'Dead-letter queues: visible messages',
        left: [deadLetterQueue, ruleDeadLetterQueue, lifecycleDeadLetterQueue].map((q) =>
          q.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(1), statistic: 'Maximum' }),
        ),
        width: 8,
      }),
      new GraphWidget({
        title: 'State conflicts, publish and camera failures',
        left: [m(METRIC.stateConflicts), m(METRIC.publishFailures), m(METRIC.cameraFailures), m(METRIC.detectorErrors)],
        width: 8,
      }),
    );
    ops.watchDeadLetterQueue(
      'IngestDeadLetterAlarm',
      deadLetterQueue,
      'ingest-dlq-visible',
      `Messages in ${names.deadLetterQueue}: rejected input (reason in the vmon-reason attribute) or records that failed ${INGEST.maxReceiveCount} receives. Inspect, fix, then redrive.`,
    );
    ops.watchDeadLetterQueue(
      'RuleDeadLetterAlarm',
      ruleDeadLetterQueue,
      'rule-dlq-visible',
      `Messages in ${names.ruleDeadLetterQueue}: EventBridge could not deliver events to a rule target within ${RULE_TARGET_RETRY.maxEventAgeHours} h of retries. The ERROR_CODE and RULE_ARN message attributes say why and which rule; replay from the archive once fixed.`,
    );
    ops.watchDeadLetterQueue(
      'LifecycleDeadLetterAlarm',
      lifecycleDeadLetterQueue,
      'lifecycle-dlq-visible',
      `Messages in ${names.lifecycleDeadLetterQueue}: rejected RetrainingCompleted / ModelDeployed events (reason in vmon-reason) or records that failed ${INGEST.maxReceiveCount} receives.`,
    );
    ops.watchQueueAge(
      'IngestQueueAgeAlarm',
      ingestQueue,
      names.ingestQueue,
      'ingest-oldest-message-age',
      config.oldestMessageAlarmSeconds,
    );
    ops.watchFunction(ingest);
    ops.watchFunction(lifecycle);
    ops.watchFunction(sweeper);
    ops.alarm('PublishFailuresAlarm', {
      name: 'trigger-publish-failures',
      description:
        'Triggers could not be put on the bus after retries; they stay in the camera outbox and are republished when the records are redelivered.',
      metric: new MathExpression({
        expression: 'FILL(ingest, 0) + FILL(lifecycle, 0) + FILL(sweep, 0)',
        usingMetrics: {
          ingest: m(METRIC.publishFailures),
          lifecycle: ops.metric(SERVICE.lifecycle, METRIC.publishFailures),
          sweep: ops.metric(SERVICE.outboxSweep, METRIC.publishFailures),
        },
        label: 'Trigger publish failures',
        period: Duration.minutes(1),
      }),
      threshold: 0,
    });
    history?.addAlarms(ops, names.historyStream);
    const pipelineTargets = new PipelineTargets(this, 'PipelineTargets', {
      names,
      bus,
      targets: config.pipelineTargets,
      withDatasetLocator: config.datasetLocatorTemplate !== undefined,
      ops,
    });
    ops.addAlarmStatus();

    // --- cdk-nag acknowledgements, each with its reason ---
    for (const fn of [ingest, lifecycle, sweeper]) {
      Validations.of(fn.role).acknowledge({
        id: 'AwsSolutions-IAM5[Resource::*]',
        reason:
          'Only xray:PutTraceSegments and xray:PutTelemetryRecords (active tracing) use Resource "*": X-Ray has no resource-level permissions.',
      });
    }
    if (sageMakerPipeline)
      Validations.of(lifecycle.role).acknowledge({
        id: `AwsSolutions-IAM5[Resource::${sageMakerPipeline.arn}/execution/*]`,
        reason:
          'Executions of the one configured pipeline: their ids are not known in advance, and only ListPipelineParametersForExecution is allowed on them.',
      });
    Validations.of(ruleDeadLetterQueue).acknowledge({
      id: 'AwsSolutions-SQS3',
      reason: "This queue is itself the dead-letter queue of the bus rules' targets (EventBridge DeadLetterConfig).",
    });
    Validations.of(retrainingQueue).acknowledge({
      id: 'AwsSolutions-SQS3',
      reason: 'Hand-off queue for the training pipeline; its consumer owns redrive.',
    });

    new CfnOutput(this, 'IngestQueueUrl', { value: ingestQueue.queueUrl });
    new CfnOutput(this, 'DeadLetterQueueUrl', { value: deadLetterQueue.queueUrl });
    new CfnOutput(this, 'StateTableName', { value: table.tableName });
    new CfnOutput(this, 'EventBusName', { value: bus.eventBusName });
    new CfnOutput(this, 'EventArchiveArn', { value: archive.archiveArn });
    new CfnOutput(this, 'RetrainingQueueUrl', { value: retrainingQueue.queueUrl });
    new CfnOutput(this, 'RuleDeadLetterQueueUrl', { value: ruleDeadLetterQueue.queueUrl });
    new CfnOutput(this, 'LifecycleDeadLetterQueueUrl', { value: lifecycleDeadLetterQueue.queueUrl });
    new CfnOutput(this, 'LifecycleFunctionName', { value: lifecycle.function.functionName });
    new CfnOutput(this, 'OutboxSweepFunctionName', { value: sweeper.function.functionName });
    new CfnOutput(this, 'IngestFunctionName', { value: ingest.function.functionName });
    new CfnOutput(this, 'IngestLogGroupName', { value: ingest.logGroup.logGroupName });
    new CfnOutput(this, 'AlarmTopicArn', { value: ops.topic.topicArn });
    new CfnOutput(this, 'DashboardName', { value: names.dashboard });
    for (const [i, q] of pipelineTargets.deadLetterQueues.entries())
      new CfnOutput(this, `PipelineTargetDeadLetterQueueUrl${i}`, { value: q.queueUrl });
  }
}

/** Environment every monitor function reads (functions/wiring.ts). */
function monitorEnvironment(
  table: ITableV2,
  bus: IEventBus,
  defaultPolicy: string,
  datasetLocatorTemplate?: string,
): Record<string, string> {
  return {
    [ENV.tableName]: table.tableName,
    [ENV.eventBusName]: bus.eventBusName,
    [ENV.defaultPolicy]: defaultPolicy,
    [ENV.policyCacheSeconds]: String(POLICY_CACHE_SECONDS),
    ...(datasetLocatorTemplate ? { [ENV.datasetLocatorTemplate]: datasetLocatorTemplate } : {}),
  };
}

/**
 * Exactly the calls the adapters make: GetItem on camera items, the policies item and cohort items,
 * UpdateItem / BatchGetItem on cohort items only, PutItem on
 * camera items only (policies are changed by operators, not by the functions), PutEvents on the
 * monitor bus, SendMessage(Batch) to the function's own dead-letter queue.
 */
function monitorPermissions(table: ITableV2, bus: IEventBus, deadLetters?: IQueue): PolicyStatement[] {
  const cameraItems = STATE_TABLE.cameraKey('*');
  const cohortItems = [`${COHORT.headPrefix}*`, `${COHORT.shardPrefix}*`];
  return [
    new PolicyStatement({
      actions: ['dynamodb:GetItem'],
      resources: [table.tableArn],
      conditions: {
        'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': [cameraItems, STATE_TABLE.policiesKey, ...cohortItems] },
      },
    }),
    // Fleet decisions (docs/fleet-decisions.md): conditional updates of cohort heads and shards, shard reads.
    new PolicyStatement({
      actions: ['dynamodb:UpdateItem', 'dynamodb:BatchGetItem'],
      resources: [table.tableArn],
      conditions: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': cohortItems } },
    }),
    new PolicyStatement({
      actions: ['dynamodb:PutItem'],
      resources: [table.tableArn],
      conditions: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': [cameraItems] } },
    }),
    new PolicyStatement({ actions: ['events:PutEvents'], resources: [bus.eventBusArn] }),
    ...(deadLetters ? [new PolicyStatement({ actions: ['sqs:SendMessage'], resources: [deadLetters.queueArn] })] : []),
  ];
}

/**
 * The ingest queue's resource policy for named producers: they may send; nobody else may, whatever
 * their IAM policies say (a Deny for any other principal). Without producers, only IAM principals of
 * this account that are granted sqs:SendMessage can send (the SQS default).
 */
export function producerStatements(queueArn: string, producers: readonly ProducerPrincipal[]): PolicyStatement[] {
  if (producers.length === 0) return [];
  const accounts = producers.flatMap((p) => (p.kind === 'account' ? [p.accountId] : []));
  const arns = producers.flatMap((p) => (p.kind === 'arn' ? [p.arn] : []));
  const principals: IPrincipal[] = [
    ...accounts.map((a) => new AccountPrincipal(a)),
    ...arns.map((a) => new ArnPrincipal(a)),
  ];
  // Both keys in one operator are ANDed: deny unless the caller's account OR its ARN is listed.
  const notListed: Record<string, string[]> = {};
  if (accounts.length) notListed['aws:PrincipalAccount'] = accounts;
  if (arns.length) notListed['aws:PrincipalArn'] = arns;
  return [
    new PolicyStatement({
      sid: 'ProducersMaySend',
      principals,
      actions: ['sqs:SendMessage', 'sqs:GetQueueAttributes', 'sqs:GetQueueUrl'],
      resources: [queueArn],
    }),
    new PolicyStatement({
      sid: 'OnlyProducersMaySend',
      effect: Effect.DENY,
      principals: [new AnyPrincipal()],
      actions: ['sqs:SendMessage'],
      resources: [queueArn],
      conditions: { StringNotEquals: notListed },
    }),
  ];
}
