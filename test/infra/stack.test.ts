// Covers the CDK stack: template assertions on every resource of the pipeline (queues, table, bus,
// rule, function), each alarm and its action, the dashboard, the event archive, the rule target's
// retries and DLQ, least-privilege IAM, queue and topic policies, encryption, PITR and deletion
// protection (cdk-nag does not check TableV2), log retention, the function environment per config,
// and cdk-nag 3 AwsSolutions with zero unacknowledged findings.
import { describe, expect, it } from 'vitest';
import { App } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { MonitorStack, RULE_TARGET_RETRY } from '../../lib/stack/monitor-stack.js';
import { defaultStackConfig, DEFAULTS, type StackConfig } from '../../lib/stack/stack-config.js';
import { driftPolicy } from '../../lib/core/policy.js';
import { acknowledgements, unacknowledgedFindings } from '../support/nag.js';
import {
  ENV,
  EVENT_SOURCE,
  INGEST,
  LIFECYCLE_PATTERN,
  OUTBOX_SWEEP,
  POLICY_CACHE_SECONDS,
  RETRAINING_PATTERN,
  resourceNames,
} from '../../lib/resources.js';
import { METRIC, METRICS_NAMESPACE, SERVICE } from '../../lib/telemetry.js';

// Skip bundling: assertions don't need the asset, and tests stay fast.
const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
const stack = new MonitorStack(app, 'Test', { config: { ...defaultStackConfig(), stage: 'test' } });
const names = resourceNames('test');

// A second stage with every option set, in the same app (nag covers both).
const configured: StackConfig = {
  ...defaultStackConfig(),
  stage: 'prod',
  functionMemoryMb: 1024,
  batchSize: 500,
  batchingWindowSeconds: 5,
  maxConcurrency: 50,
  producerPrincipals: [
    { kind: 'account', accountId: '123456789012' },
    { kind: 'arn', arn: 'arn:aws:iam::210987654321:role/camera-fleet' },
  ],
  alarmEmail: 'oncall@example.com',
  logLevel: 'WARN',
  logRetentionDays: 90,
  archiveRetentionDays: 0,
  oldestMessageAlarmSeconds: 600,
  defaultPolicy: JSON.stringify(driftPolicy(20, 0.6)),
};
const prodStack = new MonitorStack(app, 'Prod', { config: configured });
const template = Template.fromStack(stack);
const prod = Template.fromStack(prodStack);
const prodNames = resourceNames('prod');

type Statement = {
  Effect: string;
  Action: string | string[];
  Resource?: unknown;
  Principal?: unknown;
  Condition?: unknown;
  Sid?: string;
};
const actionsOf = (s: Statement) => (Array.isArray(s.Action) ? s.Action : [s.Action]);
function statements(t: Template, type: string, key = 'PolicyDocument'): Statement[] {
  return Object.values(t.findResources(type)).flatMap((r) => r.Properties[key].Statement as Statement[]);
}
/** Properties of the function whose logical id starts with `prefix` (Ingest or Lifecycle). */
const fnProps = (t: Template, prefix = 'Ingest') => {
  const found = Object.entries(t.findResources('AWS::Lambda::Function')).filter(([id]) =>
    id.startsWith(`${prefix}Function`),
  );
  expect(found, prefix).toHaveLength(1);
  return found[0]![1].Properties;
};
const ingestFunction = (t: Template) => fnProps(t, 'Ingest');
/** Statements of the resource policy of the queue with this logical id (or id prefix). */
const queuePolicyOf = (t: Template, queueId: string): Statement[] => {
  const policy = Object.values(t.findResources('AWS::SQS::QueuePolicy')).find((r) =>
    (r.Properties.Queues as { Ref: string }[]).some((q) => q.Ref.startsWith(queueId)),
  );
  expect(policy, `queue policy of ${queueId}`).toBeDefined();
  return policy!.Properties.PolicyDocument.Statement as Statement[];
};
/** The dashboard body as JSON, with CloudFormation references replaced by "REF". */
const dashboardBody = (t: Template) => {
  const [dashboard] = Object.values(t.findResources('AWS::CloudWatch::Dashboard'));
  const parts = dashboard!.Properties.DashboardBody['Fn::Join'][1] as unknown[];
  return JSON.parse(parts.map((p) => (typeof p === 'string' ? p : 'REF')).join('')) as {
    widgets: { type: string; properties: Record<string, unknown> }[];
  };
};

describe('monitor stack', () => {
  it('has the ingest queue with redrive to its DLQ from the shared definitions', () => {
    template.hasResourceProperties('AWS::SQS::Queue', {
      QueueName: names.ingestQueue,
      VisibilityTimeout: INGEST.visibilityTimeoutSeconds,
      RedrivePolicy: { deadLetterTargetArn: Match.anyValue(), maxReceiveCount: INGEST.maxReceiveCount },
    });
    template.hasResourceProperties('AWS::SQS::Queue', { QueueName: names.deadLetterQueue });
  });

  it('has the state table keyed by pk', () => {
    template.hasResourceProperties('AWS::DynamoDB::GlobalTable', {
      TableName: names.stateTable,
      KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
      BillingMode: 'PAY_PER_REQUEST',
    });
  });

  it('routes RetrainingRequested from the custom bus to the retraining-requests queue', () => {
    template.hasResourceProperties('AWS::Events::EventBus', { Name: names.eventBus });
    template.hasResourceProperties('AWS::Events::Rule', {
      Name: names.retrainingRule,
      EventPattern: { source: RETRAINING_PATTERN.source, 'detail-type': RETRAINING_PATTERN['detail-type'] },
      Targets: [
        Match.objectLike({ Arn: { 'Fn::GetAtt': [Match.stringLikeRegexp('RetrainingRequestsQueue'), 'Arn'] } }),
      ],
    });
  });

  it('runs the ingest function on nodejs24.x with partial batch responses', () => {
    template.hasResourceProperties('AWS::Lambda::Function', { Runtime: 'nodejs24.x', Architectures: ['arm64'] });
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      BatchSize: INGEST.batchSize,
      MaximumBatchingWindowInSeconds: INGEST.maxBatchingWindowSeconds,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
    });
  });

  it('passes cdk-nag AwsSolutions with every finding acknowledged with a reason', () => {
    expect(unacknowledgedFindings(app)).toEqual([]);
    const acks = acknowledgements(app);
    expect(acks.length).toBeGreaterThan(0);
    for (const a of acks) expect(a.reason.length, `${a.id} at ${a.path}`).toBeGreaterThan(20);
  });
});

describe('alarms and dashboard', () => {
  const alarm = (name: string) => {
    const found = Object.values(
      template.findResources('AWS::CloudWatch::Alarm', { Properties: { AlarmName: `${names.alarmPrefix}${name}` } }),
    );
    expect(found, name).toHaveLength(1);
    return found[0]!.Properties;
  };
  const topicRef = () => ({ Ref: Object.keys(template.findResources('AWS::SNS::Topic'))[0] });

  it('alarms on a visible message in either dead-letter queue', () => {
    for (const [name, queue] of [
      ['ingest-dlq-visible', 'IngestDeadLetterQueue'],
      ['rule-dlq-visible', 'RuleDeadLetterQueue'],
      ['lifecycle-dlq-visible', 'LifecycleDeadLetterQueue'],
    ] as const) {
      expect(alarm(name)).toMatchObject({
        Namespace: 'AWS/SQS',
        MetricName: 'ApproximateNumberOfMessagesVisible',
        Statistic: 'Maximum',
        Threshold: 0,
        ComparisonOperator: 'GreaterThanThreshold',
        Dimensions: [
          { Name: 'QueueName', Value: { 'Fn::GetAtt': [expect.stringMatching(new RegExp(`^${queue}`)), 'QueueName'] } },
        ],
      });
    }
  });

  it('alarms on the age of the oldest ingest message, at the configured threshold', () => {
    expect(alarm('ingest-oldest-message-age')).toMatchObject({
      Namespace: 'AWS/SQS',
      MetricName: 'ApproximateAgeOfOldestMessage',
      Threshold: DEFAULTS.oldestMessageAlarmSeconds,
      EvaluationPeriods: 3,
      Dimensions: [
        { Name: 'QueueName', Value: { 'Fn::GetAtt': [expect.stringMatching(/^IngestQueue/), 'QueueName'] } },
      ],
    });
    prod.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: `${prodNames.alarmPrefix}ingest-oldest-message-age`,
      Threshold: 600,
    });
  });

  it('alarms on errors and throttles of each function', () => {
    for (const [svc, fn] of [
      [SERVICE.ingest, 'Ingest'],
      [SERVICE.lifecycle, 'Lifecycle'],
    ] as const) {
      for (const metric of ['Errors', 'Throttles']) {
        expect(alarm(`${svc}-${metric.toLowerCase()}`)).toMatchObject({
          Namespace: 'AWS/Lambda',
          MetricName: metric,
          Statistic: 'Sum',
          Threshold: 0,
          Dimensions: [{ Name: 'FunctionName', Value: { Ref: expect.stringMatching(new RegExp(`^${fn}Function`)) } }],
        });
      }
    }
  });

  it('alarms on trigger publish failures of either function, on the metric they emit (no camera dimension)', () => {
    const a = alarm('trigger-publish-failures');
    expect(a).toMatchObject({ Threshold: 0, ComparisonOperator: 'GreaterThanThreshold' });
    const queries = a.Metrics as {
      Id: string;
      Expression?: string;
      MetricStat?: { Metric: { Namespace: string; MetricName: string; Dimensions: unknown[] }; Stat: string };
    }[];
    expect(queries.find((q) => q.Expression)!.Expression).toBe('FILL(ingest, 0) + FILL(lifecycle, 0) + FILL(sweep, 0)');
    for (const svc of [SERVICE.ingest, SERVICE.lifecycle, SERVICE.outboxSweep]) {
      expect(queries.map((q) => q.MetricStat)).toContainEqual(
        expect.objectContaining({
          Metric: {
            Namespace: METRICS_NAMESPACE,
            MetricName: METRIC.publishFailures,
            Dimensions: [
              { Name: 'service', Value: svc },
              { Name: 'stage', Value: 'test' },
            ],
          },
          Stat: 'Sum',
        }),
      );
    }
  });

  it('sends every alarm, firing and recovering, to the alarm topic; e-mail only when configured', () => {
    const alarms = Object.values(template.findResources('AWS::CloudWatch::Alarm'));
    // 3 DLQs, queue age, errors + throttles of 3 functions, publish failures, history dropped + delivery behind
    expect(alarms).toHaveLength(13);
    for (const a of alarms) {
      expect(a.Properties.AlarmActions).toEqual([topicRef()]);
      expect(a.Properties.OKActions).toEqual([topicRef()]);
      expect(a.Properties.TreatMissingData).toBe('notBreaching');
    }
    template.resourceCountIs('AWS::SNS::Subscription', 0);
    prod.hasResourceProperties('AWS::SNS::Subscription', { Protocol: 'email', Endpoint: 'oncall@example.com' });
  });

  it('has a dashboard with events per minute, triggers by type, queues, failures and alarm status', () => {
    template.hasResourceProperties('AWS::CloudWatch::Dashboard', { DashboardName: names.dashboard });
    const widgets = dashboardBody(template).widgets;
    const graph = (title: string) => {
      const w = widgets.find((x) => x.properties.title === title);
      expect(w, title).toBeDefined();
      return JSON.stringify(w!.properties.metrics);
    };
    const events = graph('Events per minute');
    for (const m of [METRIC.eventsProcessed, METRIC.eventsRejected, METRIC.eventsDuplicate]) {
      expect(events).toContain(
        `"${METRICS_NAMESPACE}","${m}","service","${SERVICE.ingest}","stage","test",{"period":60,"stat":"Sum"}`,
      );
    }
    // One series per function and trigger type, found by SEARCH on the TriggerType dimension.
    expect(graph('Triggers per minute, by type')).toContain(
      `SEARCH('{${METRICS_NAMESPACE},service,stage,TriggerType} MetricName=\\"${METRIC.triggers}\\" stage=\\"test\\"', 'Sum', 60)`,
    );
    expect(graph('Ingest queue: oldest message (s)')).toContain('ApproximateAgeOfOldestMessage');
    expect(graph('Dead-letter queues: visible messages').match(/ApproximateNumberOfMessagesVisible/g)).toHaveLength(3);
    expect(graph('State conflicts, publish and camera failures')).toContain(METRIC.publishFailures);
    expect(graph('ingest: errors and throttles')).toContain('Throttles');
    const status = widgets.find((w) => w.type === 'alarm')!;
    expect(status.properties.alarms).toHaveLength(13);
    // Custom metrics carry bounded dimensions only (a camera id never is one).
    const custom = widgets
      .flatMap((w) => (w.properties.metrics as unknown[][] | undefined) ?? [])
      .filter((m) => m[0] === METRICS_NAMESPACE);
    expect(custom.length).toBeGreaterThan(5);
    for (const m of custom) {
      const dims = m.slice(2).filter((_, i) => i % 2 === 0 && typeof m[i + 2] === 'string');
      expect(dims).toEqual(['service', 'stage']);
    }
  });
});

describe('events: archive, retries, dead-letter queue', () => {
  it('archives every monitor event with the configured retention (0 = forever)', () => {
    template.hasResourceProperties('AWS::Events::Archive', {
      ArchiveName: names.eventArchive,
      EventPattern: { source: [EVENT_SOURCE] },
      RetentionDays: DEFAULTS.archiveRetentionDays,
      SourceArn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^MonitorBus'), 'Arn'] },
    });
    const [archive] = Object.values(prod.findResources('AWS::Events::Archive'));
    expect(archive!.Properties.RetentionDays ?? 0).toBe(0);
  });

  it('retries every rule target and dead-letters what it cannot deliver', () => {
    const rules = template.findResources('AWS::Events::Rule');
    expect(
      Object.values(rules)
        .map((r) => r.Properties.Name)
        .sort(),
    ).toEqual([names.lifecycleRule, names.outboxSweepRule, names.retrainingRule].sort());
    for (const rule of Object.values(rules).filter((r) => r.Properties.Name !== names.outboxSweepRule)) {
      expect(rule.Properties.Targets).toEqual([
        expect.objectContaining({
          RetryPolicy: {
            MaximumRetryAttempts: RULE_TARGET_RETRY.attempts,
            MaximumEventAgeInSeconds: RULE_TARGET_RETRY.maxEventAgeHours * 3600,
          },
          DeadLetterConfig: { Arn: { 'Fn::GetAtt': [expect.stringMatching(/^RuleDeadLetterQueue/), 'Arn'] } },
        }),
      ]);
    }
    // EventBridge may write to that queue, only on behalf of these rules (the sweep schedule's too).
    const allows = queuePolicyOf(template, 'RuleDeadLetterQueue').filter((s) => s.Effect === 'Allow');
    expect(allows).toHaveLength(3);
    for (const allow of allows) {
      expect(allow).toMatchObject({
        Principal: { Service: 'events.amazonaws.com' },
        Action: 'sqs:SendMessage',
        Condition: { ArnEquals: { 'aws:SourceArn': expect.anything() } },
      });
    }
  });

  it('runs the outbox sweep on a schedule, with the sparse pending-outbox index and only the calls it makes', () => {
    template.hasResourceProperties('AWS::DynamoDB::GlobalTable', {
      GlobalSecondaryIndexes: [
        {
          IndexName: 'pending-outbox',
          KeySchema: [
            { AttributeName: 'ob', KeyType: 'HASH' },
            { AttributeName: 'u', KeyType: 'RANGE' },
          ],
          Projection: { ProjectionType: 'KEYS_ONLY' },
        },
      ],
    });
    template.hasResourceProperties('AWS::Events::Rule', {
      Name: names.outboxSweepRule,
      ScheduleExpression: `rate(${OUTBOX_SWEEP.everyMinutes} minutes)`,
      Targets: [Match.objectLike({ Arn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^OutboxSweepFunction'), 'Arn'] } })],
    });
    const [roleId] = Object.keys(template.findResources('AWS::IAM::Role')).filter((id) => id.startsWith('OutboxSweep'));
    const [policy] = Object.values(template.findResources('AWS::IAM::Policy')).filter(
      (p) => (p.Properties.Roles as { Ref: string }[])[0]!.Ref === roleId,
    );
    const actions = (policy!.Properties.PolicyDocument.Statement as Statement[]).flatMap(actionsOf).sort();
    expect(actions).toEqual([
      'dynamodb:BatchGetItem',
      'dynamodb:GetItem',
      'dynamodb:PutItem',
      'dynamodb:Query',
      'dynamodb:UpdateItem',
      'events:PutEvents',
      'logs:CreateLogStream',
      'logs:PutLogEvents',
      'xray:PutTelemetryRecords',
      'xray:PutTraceSegments',
    ]);
  });

  it("routes the training pipeline's lifecycle events to the model-lifecycle function", () => {
    template.hasResourceProperties('AWS::Events::Rule', {
      Name: names.lifecycleRule,
      EventPattern: { 'detail-type': LIFECYCLE_PATTERN['detail-type'] },
      Targets: [Match.objectLike({ Arn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^LifecycleQueue'), 'Arn'] } })],
    });
    template.hasResourceProperties('AWS::SQS::Queue', {
      QueueName: names.lifecycleQueue,
      RedrivePolicy: {
        deadLetterTargetArn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^LifecycleDeadLetterQueue'), 'Arn'] },
        maxReceiveCount: INGEST.maxReceiveCount,
      },
    });
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      EventSourceArn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^LifecycleQueue'), 'Arn'] },
      FunctionName: { Ref: Match.stringLikeRegexp('^LifecycleFunction') },
      FunctionResponseTypes: ['ReportBatchItemFailures'],
    });
    expect(fnProps(template, 'Lifecycle').Environment.Variables).toMatchObject({
      [ENV.lifecycleDeadLetterQueueUrl]: { Ref: expect.stringMatching(/^LifecycleDeadLetterQueue/) },
      POWERTOOLS_SERVICE_NAME: SERVICE.lifecycle,
    });
  });
});

describe('security', () => {
  it('grants no "*" action and scopes every resource, except X-Ray which has no resource-level permissions', () => {
    for (const t of [template, prod]) {
      const allows = [
        ...statements(t, 'AWS::IAM::Policy'),
        ...statements(t, 'AWS::SQS::QueuePolicy'),
        ...statements(t, 'AWS::SNS::TopicPolicy'),
      ].filter((s) => s.Effect === 'Allow');
      expect(allows.length).toBeGreaterThan(5);
      for (const s of allows) {
        for (const a of actionsOf(s)) expect(a, JSON.stringify(s)).not.toContain('*');
        if (s.Resource === '*') for (const a of actionsOf(s)) expect(a, JSON.stringify(s)).toMatch(/^xray:/);
      }
    }
  });

  it('gives each function role exactly the calls the adapters make, and no managed policy', () => {
    // The functions' roles (the history's Firehose role is checked in history-stack.test.ts).
    const roles = Object.fromEntries(
      Object.entries(template.findResources('AWS::IAM::Role')).filter(([id]) => !id.startsWith('History')),
    );
    expect(Object.keys(roles)).toHaveLength(3);
    for (const [roleId, role] of Object.entries(roles).filter(([id]) => !id.startsWith('OutboxSweep'))) {
      expect(role.Properties.ManagedPolicyArns, roleId).toBeUndefined();
      const fn = roleId.startsWith('Ingest') ? 'Ingest' : 'Lifecycle';
      const [policy] = Object.values(template.findResources('AWS::IAM::Policy')).filter(
        (p) => (p.Properties.Roles as { Ref: string }[])[0]!.Ref === roleId,
      );
      const stmts = policy!.Properties.PolicyDocument.Statement as Statement[];
      const byAction = new Map(stmts.flatMap((st) => actionsOf(st).map((a) => [a, st] as const)));
      expect([...byAction.keys()].sort(), roleId).toEqual(
        [
          ...(fn === 'Ingest' ? ['firehose:PutRecordBatch'] : []),
          'dynamodb:BatchGetItem',
          'dynamodb:GetItem',
          'dynamodb:PutItem',
          'dynamodb:UpdateItem',
          'events:PutEvents',
          'logs:CreateLogStream',
          'logs:PutLogEvents',
          'sqs:ChangeMessageVisibility',
          'sqs:DeleteMessage',
          'sqs:GetQueueAttributes',
          'sqs:GetQueueUrl',
          'sqs:ReceiveMessage',
          'sqs:SendMessage',
          'xray:PutTelemetryRecords',
          'xray:PutTraceSegments',
        ].sort(),
      );
      const arn = (prefix: string) => ({ 'Fn::GetAtt': [expect.stringMatching(new RegExp(`^${prefix}`)), 'Arn'] });
      // Camera items to read and write; the policies item to read only; cohort items to read and update.
      expect(byAction.get('dynamodb:GetItem')).toMatchObject({
        Resource: arn('StateTable'),
        Condition: {
          'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['camera#*', 'policies', 'cohort#*', 'cohort-shard#*'] },
        },
      });
      expect(byAction.get('dynamodb:UpdateItem')).toMatchObject({
        Resource: arn('StateTable'),
        Condition: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['cohort#*', 'cohort-shard#*'] } },
      });
      expect(byAction.get('dynamodb:PutItem')).toMatchObject({
        Resource: arn('StateTable'),
        Condition: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['camera#*'] } },
      });
      expect(byAction.get('events:PutEvents')!.Resource).toEqual(arn('MonitorBus'));
      expect(byAction.get('sqs:SendMessage')!.Resource).toEqual(
        arn(fn === 'Ingest' ? 'IngestDeadLetterQueue' : 'LifecycleDeadLetterQueue'),
      );
      expect(byAction.get('sqs:ReceiveMessage')!.Resource).toEqual(
        arn(fn === 'Ingest' ? 'IngestQueue' : 'LifecycleQueue'),
      );
      expect(byAction.get('logs:PutLogEvents')!.Resource).toEqual(arn(`${fn}Logs`));
    }
  });

  it('encrypts every queue and denies it to non-TLS requests', () => {
    const queues = template.findResources('AWS::SQS::Queue');
    expect(Object.keys(queues)).toHaveLength(6);
    for (const [id, q] of Object.entries(queues)) {
      expect(q.Properties.SqsManagedSseEnabled, id).toBe(true);
      const tlsDeny = queuePolicyOf(template, id).find(
        (s) => s.Effect === 'Deny' && JSON.stringify(s.Condition) === '{"Bool":{"aws:SecureTransport":"false"}}',
      );
      expect(tlsDeny, id).toBeDefined();
    }
  });

  it('encrypts the alarm topic with a rotating key CloudWatch may use, and requires TLS on it', () => {
    const [topic] = Object.values(template.findResources('AWS::SNS::Topic'));
    expect(topic!.Properties.KmsMasterKeyId).toEqual({ 'Fn::GetAtt': [expect.stringMatching(/AlarmTopicKey/), 'Arn'] });
    template.hasResourceProperties('AWS::KMS::Key', {
      EnableKeyRotation: true,
      KeyPolicy: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Principal: { Service: 'cloudwatch.amazonaws.com' },
            Action: ['kms:Decrypt', 'kms:GenerateDataKey'],
          }),
        ]),
      },
    });
    const topicStatements = statements(template, 'AWS::SNS::TopicPolicy');
    expect(
      topicStatements.some(
        (s) => s.Effect === 'Deny' && JSON.stringify(s.Condition).includes('"aws:SecureTransport":"false"'),
      ),
    ).toBe(true);
  });

  it('keeps the state table: point-in-time recovery, deletion protection, retained on stack deletion', () => {
    const [table] = Object.values(template.findResources('AWS::DynamoDB::GlobalTable'));
    expect(table!.DeletionPolicy).toBe('Retain');
    expect(table!.UpdateReplacePolicy).toBe('Retain');
    expect(table!.Properties.Replicas).toEqual([
      expect.objectContaining({
        PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
        DeletionProtectionEnabled: true,
      }),
    ]);
  });

  it("sets log retention on each function's own log group, from config", () => {
    for (const [t, days] of [
      [template, DEFAULTS.logRetentionDays],
      [prod, 90],
    ] as const) {
      const groups = Object.entries(t.findResources('AWS::Logs::LogGroup'))
        .filter(([id]) => !id.startsWith('History')) // Firehose's delivery log group: history-stack.test.ts
        .map(([, g]) => g);
      expect(groups).toHaveLength(3);
      for (const g of groups) expect(g.Properties.RetentionInDays).toBe(days);
    }
    expect(fnProps(template, 'Ingest').LoggingConfig.LogGroup).toEqual({ Ref: expect.stringMatching(/^IngestLogs/) });
    expect(fnProps(template, 'Lifecycle').LoggingConfig.LogGroup).toEqual({
      Ref: expect.stringMatching(/^LifecycleLogs/),
    });
  });

  it('leaves the ingest queue to IAM when no producers are named', () => {
    const policy = queuePolicyOf(template, 'IngestQueue');
    expect(policy).toHaveLength(1); // the TLS deny only
  });

  it('admits only the named producers to the ingest queue', () => {
    const policy = queuePolicyOf(prod, 'IngestQueue');
    const allow = policy.find((s) => s.Sid === 'ProducersMaySend')!;
    expect(JSON.stringify(allow.Principal)).toContain(':iam::123456789012:root');
    expect(JSON.stringify(allow.Principal)).toContain('arn:aws:iam::210987654321:role/camera-fleet');
    expect(actionsOf(allow).sort()).toEqual(['sqs:GetQueueAttributes', 'sqs:GetQueueUrl', 'sqs:SendMessage']);
    const deny = policy.find((s) => s.Sid === 'OnlyProducersMaySend')!;
    expect(deny).toMatchObject({
      Effect: 'Deny',
      Principal: { AWS: '*' },
      Action: 'sqs:SendMessage',
      Condition: {
        StringNotEquals: {
          'aws:PrincipalAccount': ['123456789012'],
          'aws:PrincipalArn': ['arn:aws:iam::210987654321:role/camera-fleet'],
        },
      },
    });
  });

  it('puts no secret-looking value in the function environment', () => {
    for (const [t, fn] of [
      [template, 'Ingest'],
      [prod, 'Ingest'],
      [template, 'Lifecycle'],
    ] as const) {
      const env = fnProps(t, fn).Environment.Variables as Record<string, unknown>;
      for (const key of Object.keys(env)) expect(key).not.toMatch(/SECRET|PASSWORD|TOKEN|ACCESS_KEY|CREDENTIAL/i);
      expect(JSON.stringify(env)).not.toMatch(/AKIA[0-9A-Z]{16}/);
    }
  });
});

describe('configuration per stage', () => {
  it('applies memory, batch size, batching window and max concurrency from config', () => {
    template.hasResourceProperties('AWS::Lambda::Function', {
      MemorySize: DEFAULTS.functionMemoryMb,
      TracingConfig: { Mode: 'Active' },
    });
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      BatchSize: DEFAULTS.batchSize,
      ScalingConfig: { MaximumConcurrency: DEFAULTS.maxConcurrency },
    });
    prod.hasResourceProperties('AWS::Lambda::Function', { MemorySize: 1024 });
    prod.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      BatchSize: 500,
      MaximumBatchingWindowInSeconds: 5,
      ScalingConfig: { MaximumConcurrency: 50 },
    });
  });

  it('configures Powertools and the detector policy through the environment', () => {
    expect(ingestFunction(template).Environment.Variables).toMatchObject({
      POWERTOOLS_SERVICE_NAME: SERVICE.ingest,
      POWERTOOLS_METRICS_NAMESPACE: METRICS_NAMESPACE,
      POWERTOOLS_LOG_LEVEL: 'INFO',
      VMON_STAGE: 'test',
      [ENV.defaultPolicy]: DEFAULTS.defaultPolicy,
      [ENV.policyCacheSeconds]: String(POLICY_CACHE_SECONDS),
    });
    for (const fn of ['Ingest', 'Lifecycle']) {
      expect(fnProps(prod, fn).Environment.Variables).toMatchObject({
        POWERTOOLS_LOG_LEVEL: 'WARN',
        VMON_STAGE: 'prod',
        [ENV.defaultPolicy]: configured.defaultPolicy,
      });
    }
  });
});
