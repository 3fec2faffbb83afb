// Covers the CDK stack: template assertions on every resource of the pipeline, and cdk-nag 3
// AwsSolutions with zero unacknowledged findings.
import { describe, expect, it } from 'vitest';
import { App } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { MonitorStack } from '../../lib/stack/monitor-stack.js';
import { defaultStackConfig } from '../../lib/stack/stack-config.js';
import { acknowledgements, unacknowledgedFindings } from '../support/nag.js';
import { INGEST, RETRAINING_PATTERN, resourceNames } from '../../lib/resources.js';

// Skip bundling: assertions don't need the asset, and tests stay fast.
const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
const stack = new MonitorStack(app, 'Test', { config: { ...defaultStackConfig(), stage: 'test' } });
const template = Template.fromStack(stack);
const names = resourceNames('test');

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
