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
import { acknowledgements, unacknowledgedFindings } from '../support/nag.js';
import { ENV, EVENT_SOURCE, INGEST, RETRAINING_PATTERN, resourceNames } from '../../lib/resources.js';
import { METRIC, METRICS_NAMESPACE, SERVICE } from '../../lib/telemetry.js';

// Skip bundling: assertions don't need the asset, and tests stay fast.
const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
const stack = new MonitorStack(app, 'Test', { config: { ...defaultStackConfig(), stage: 'test' } });
const names = resourceNames('test');

// A second stage with every option set, in the same app (nag covers both).
const configured: StackConfig = {
  ...defaultStackConfig(), stage: 'prod', functionMemoryMb: 1024, batchSize: 500, batchingWindowSeconds: 5, maxConcurrency: 50,
  producerPrincipals: [{ kind: 'account', accountId: '123456789012' }, { kind: 'arn', arn: 'arn:aws:iam::210987654321:role/camera-fleet' }],
  alarmEmail: 'oncall@example.com', logLevel: 'WARN', logRetentionDays: 90, archiveRetentionDays: 0, oldestMessageAlarmSeconds: 600,
  defaultPolicy: '{"id":"fleet","detectors":[]}',
};
const prodStack = new MonitorStack(app, 'Prod', { config: configured });
const template = Template.fromStack(stack);
const prod = Template.fromStack(prodStack);
const prodNames = resourceNames('prod');

type Statement = { Effect: string; Action: string | string[]; Resource?: unknown; Principal?: unknown; Condition?: unknown; Sid?: string };
const actionsOf = (s: Statement) => (Array.isArray(s.Action) ? s.Action : [s.Action]);
function statements(t: Template, type: string, key = 'PolicyDocument'): Statement[] {
  return Object.values(t.findResources(type)).flatMap((r) => (r.Properties[key].Statement as Statement[]));
}
const ingestFunction = (t: Template) => Object.values(t.findResources('AWS::Lambda::Function'))[0]!.Properties;
/** Statements of the resource policy of the queue with this logical id (or id prefix). */
const queuePolicyOf = (t: Template, queueId: string): Statement[] => {
  const policy = Object.values(t.findResources('AWS::SQS::QueuePolicy'))
    .find((r) => (r.Properties.Queues as { Ref: string }[]).some((q) => q.Ref.startsWith(queueId)));
  expect(policy, `queue policy of ${queueId}`).toBeDefined();
  return policy!.Properties.PolicyDocument.Statement as Statement[];
};
/** The dashboard body as JSON, with CloudFormation references replaced by "REF". */
const dashboardBody = (t: Template) => {
  const [dashboard] = Object.values(t.findResources('AWS::CloudWatch::Dashboard'));
  const parts = dashboard!.Properties.DashboardBody['Fn::Join'][1] as unknown[];
  return JSON.parse(parts.map((p) => (typeof p === 'string' ? p : 'REF')).join('')) as { widgets: { type: string; properties: Record<string, unknown> }[] };
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
      Targets: [Match.objectLike({ Arn: { 'Fn::GetAtt': [Match.stringLikeRegexp('RetrainingRequestsQueue'), 'Arn'] } })],
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
    const found = Object.values(template.findResources('AWS::CloudWatch::Alarm', { Properties: { AlarmName: `${names.alarmPrefix}${name}` } }));
    expect(found, name).toHaveLength(1);
    return found[0]!.Properties;
  };
  const topicRef = () => ({ Ref: Object.keys(template.findResources('AWS::SNS::Topic'))[0] });

  it('alarms on a visible message in either dead-letter queue', () => {
    for (const [name, queue] of [['ingest-dlq-visible', 'IngestDeadLetterQueue'], ['retraining-rule-dlq-visible', 'RetrainingRuleDeadLetterQueue']] as const) {
      expect(alarm(name)).toMatchObject({
        Namespace: 'AWS/SQS', MetricName: 'ApproximateNumberOfMessagesVisible', Statistic: 'Maximum',
        Threshold: 0, ComparisonOperator: 'GreaterThanThreshold',
        Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [expect.stringMatching(new RegExp(`^${queue}`)), 'QueueName'] } }],
      });
    }
  });

  it('alarms on the age of the oldest ingest message, at the configured threshold', () => {
    expect(alarm('ingest-oldest-message-age')).toMatchObject({
      Namespace: 'AWS/SQS', MetricName: 'ApproximateAgeOfOldestMessage', Threshold: DEFAULTS.oldestMessageAlarmSeconds, EvaluationPeriods: 3,
      Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [expect.stringMatching(/^IngestQueue/), 'QueueName'] } }],
    });
    prod.hasResourceProperties('AWS::CloudWatch::Alarm', { AlarmName: `${prodNames.alarmPrefix}ingest-oldest-message-age`, Threshold: 600 });
  });

  it('alarms on function errors and throttles', () => {
    for (const [name, metric] of [['ingest-errors', 'Errors'], ['ingest-throttles', 'Throttles']] as const) {
      expect(alarm(name)).toMatchObject({
        Namespace: 'AWS/Lambda', MetricName: metric, Statistic: 'Sum', Threshold: 0,
        Dimensions: [{ Name: 'FunctionName', Value: { Ref: expect.stringMatching(/^IngestFunction/) } }],
      });
    }
  });

  it('alarms on trigger publish failures, on the metric the function emits (no camera dimension)', () => {
    expect(alarm('trigger-publish-failures')).toMatchObject({
      Namespace: METRICS_NAMESPACE, MetricName: METRIC.publishFailures, Statistic: 'Sum', Threshold: 0,
      Dimensions: [{ Name: 'service', Value: SERVICE.ingest }, { Name: 'stage', Value: 'test' }],
    });
  });

  it('sends every alarm, firing and recovering, to the alarm topic; e-mail only when configured', () => {
    const alarms = Object.values(template.findResources('AWS::CloudWatch::Alarm'));
    expect(alarms).toHaveLength(6);
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
      expect(events).toContain(`"${METRICS_NAMESPACE}","${m}","service","${SERVICE.ingest}","stage","test",{"period":60,"stat":"Sum"}`);
    }
    // One series per trigger type, found by SEARCH on the TriggerType dimension.
    expect(graph('Triggers per minute, by type')).toContain(`SEARCH('{${METRICS_NAMESPACE},service,stage,TriggerType} MetricName=\\"${METRIC.triggers}\\" service=\\"ingest\\" stage=\\"test\\"', 'Sum', 60)`);
    expect(graph('Ingest queue: oldest message (s)')).toContain('ApproximateAgeOfOldestMessage');
    expect(graph('Dead-letter queues: visible messages').match(/ApproximateNumberOfMessagesVisible/g)).toHaveLength(2);
    expect(graph('State conflicts, publish and camera failures')).toContain(METRIC.publishFailures);
    expect(graph('ingest: errors and throttles')).toContain('Throttles');
    const status = widgets.find((w) => w.type === 'alarm')!;
    expect(status.properties.alarms).toHaveLength(6);
    // Custom metrics carry bounded dimensions only (a camera id never is one).
    const custom = widgets.flatMap((w) => (w.properties.metrics as unknown[][] | undefined) ?? []).filter((m) => m[0] === METRICS_NAMESPACE);
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

  it('retries the retraining target and dead-letters what it cannot deliver', () => {
    template.hasResourceProperties('AWS::Events::Rule', {
      Name: names.retrainingRule,
      Targets: [Match.objectLike({
        RetryPolicy: { MaximumRetryAttempts: RULE_TARGET_RETRY.attempts, MaximumEventAgeInSeconds: RULE_TARGET_RETRY.maxEventAgeHours * 3600 },
        DeadLetterConfig: { Arn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^RetrainingRuleDeadLetterQueue'), 'Arn'] } },
      })],
    });
    // EventBridge may write to that queue, only for this rule.
    const allow = queuePolicyOf(template, 'RetrainingRuleDeadLetterQueue').find((s) => s.Effect === 'Allow')!;
    expect(allow).toMatchObject({ Principal: { Service: 'events.amazonaws.com' }, Action: 'sqs:SendMessage', Condition: { ArnEquals: { 'aws:SourceArn': expect.anything() } } });
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
        if (s.Resource === '*') expect(actionsOf(s).sort()).toEqual(['xray:PutTelemetryRecords', 'xray:PutTraceSegments']);
      }
    }
  });

  it('gives the ingest role exactly the calls the adapters make, and no managed policy', () => {
    const [role] = Object.values(template.findResources('AWS::IAM::Role'));
    expect(role!.Properties.ManagedPolicyArns).toBeUndefined();
    const byAction = new Map(statements(template, 'AWS::IAM::Policy').flatMap((s) => actionsOf(s).map((a) => [a, s.Resource] as const)));
    expect([...byAction.keys()].sort()).toEqual([
      'dynamodb:GetItem', 'dynamodb:PutItem', 'events:PutEvents', 'logs:CreateLogStream', 'logs:PutLogEvents',
      'sqs:ChangeMessageVisibility', 'sqs:DeleteMessage', 'sqs:GetQueueAttributes', 'sqs:GetQueueUrl', 'sqs:ReceiveMessage',
      'sqs:SendMessage', 'xray:PutTelemetryRecords', 'xray:PutTraceSegments',
    ]);
    expect(byAction.get('dynamodb:PutItem')).toEqual({ 'Fn::GetAtt': [expect.stringMatching(/^StateTable/), 'Arn'] });
    expect(byAction.get('events:PutEvents')).toEqual({ 'Fn::GetAtt': [expect.stringMatching(/^MonitorBus/), 'Arn'] });
    expect(byAction.get('sqs:SendMessage')).toEqual({ 'Fn::GetAtt': [expect.stringMatching(/^IngestDeadLetterQueue/), 'Arn'] });
    expect(byAction.get('sqs:ReceiveMessage')).toEqual({ 'Fn::GetAtt': [expect.stringMatching(/^IngestQueue/), 'Arn'] });
    expect(byAction.get('logs:PutLogEvents')).toEqual({ 'Fn::GetAtt': [expect.stringMatching(/^IngestLogs/), 'Arn'] });
  });

  it('encrypts every queue and denies it to non-TLS requests', () => {
    const queues = template.findResources('AWS::SQS::Queue');
    expect(Object.keys(queues)).toHaveLength(4);
    for (const [id, q] of Object.entries(queues)) {
      expect(q.Properties.SqsManagedSseEnabled, id).toBe(true);
      const tlsDeny = queuePolicyOf(template, id).find((s) => s.Effect === 'Deny' && JSON.stringify(s.Condition) === '{"Bool":{"aws:SecureTransport":"false"}}');
      expect(tlsDeny, id).toBeDefined();
    }
  });

  it('encrypts the alarm topic with a rotating key CloudWatch may use, and requires TLS on it', () => {
    const [topic] = Object.values(template.findResources('AWS::SNS::Topic'));
    expect(topic!.Properties.KmsMasterKeyId).toEqual({ 'Fn::GetAtt': [expect.stringMatching(/AlarmTopicKey/), 'Arn'] });
    template.hasResourceProperties('AWS::KMS::Key', {
      EnableKeyRotation: true,
      KeyPolicy: { Statement: Match.arrayWith([Match.objectLike({ Principal: { Service: 'cloudwatch.amazonaws.com' }, Action: ['kms:Decrypt', 'kms:GenerateDataKey'] })]) },
    });
    const topicStatements = statements(template, 'AWS::SNS::TopicPolicy');
    expect(topicStatements.some((s) => s.Effect === 'Deny' && JSON.stringify(s.Condition).includes('"aws:SecureTransport":"false"'))).toBe(true);
  });

  it('keeps the state table: point-in-time recovery, deletion protection, retained on stack deletion', () => {
    const [table] = Object.values(template.findResources('AWS::DynamoDB::GlobalTable'));
    expect(table!.DeletionPolicy).toBe('Retain');
    expect(table!.UpdateReplacePolicy).toBe('Retain');
    expect(table!.Properties.Replicas).toEqual([expect.objectContaining({
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      DeletionProtectionEnabled: true,
    })]);
  });

  it('sets log retention on the function log group, from config', () => {
    template.hasResourceProperties('AWS::Logs::LogGroup', { RetentionInDays: DEFAULTS.logRetentionDays });
    prod.hasResourceProperties('AWS::Logs::LogGroup', { RetentionInDays: 90 });
    expect(ingestFunction(template).LoggingConfig.LogGroup).toEqual({ Ref: expect.stringMatching(/^IngestLogs/) });
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
      Effect: 'Deny', Principal: { AWS: '*' }, Action: 'sqs:SendMessage',
      Condition: { StringNotEquals: { 'aws:PrincipalAccount': ['123456789012'], 'aws:PrincipalArn': ['arn:aws:iam::210987654321:role/camera-fleet'] } },
    });
  });

  it('puts no secret-looking value in the function environment', () => {
    for (const t of [template, prod]) {
      const env = ingestFunction(t).Environment.Variables as Record<string, unknown>;
      for (const key of Object.keys(env)) expect(key).not.toMatch(/SECRET|PASSWORD|TOKEN|ACCESS_KEY|CREDENTIAL/i);
      expect(JSON.stringify(env)).not.toMatch(/AKIA[0-9A-Z]{16}/);
    }
  });
});

describe('configuration per stage', () => {
  it('applies memory, batch size, batching window and max concurrency from config', () => {
    template.hasResourceProperties('AWS::Lambda::Function', { MemorySize: DEFAULTS.functionMemoryMb, TracingConfig: { Mode: 'Active' } });
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', { ScalingConfig: { MaximumConcurrency: DEFAULTS.maxConcurrency } });
    prod.hasResourceProperties('AWS::Lambda::Function', { MemorySize: 1024 });
    prod.hasResourceProperties('AWS::Lambda::EventSourceMapping', { BatchSize: 500, MaximumBatchingWindowInSeconds: 5, ScalingConfig: { MaximumConcurrency: 50 } });
  });

  it('configures Powertools and the detector policy through the environment', () => {
    expect(ingestFunction(template).Environment.Variables).toMatchObject({
      POWERTOOLS_SERVICE_NAME: SERVICE.ingest, POWERTOOLS_METRICS_NAMESPACE: METRICS_NAMESPACE, POWERTOOLS_LOG_LEVEL: 'INFO', VMON_STAGE: 'test',
      [ENV.windowSize]: String(DEFAULTS.driftWindowSize), [ENV.threshold]: String(DEFAULTS.driftThreshold),
    });
    const prodEnv = ingestFunction(prod).Environment.Variables;
    expect(prodEnv).toMatchObject({ POWERTOOLS_LOG_LEVEL: 'WARN', VMON_STAGE: 'prod', DEFAULT_POLICY: configured.defaultPolicy });
    expect(prodEnv[ENV.windowSize]).toBeUndefined();
  });
});
