// Covers the training-pipeline targets of the CDK stack (lib/stack/pipeline-targets.ts): for a
// SageMaker pipeline and a Step Functions state machine, the rule pattern (detail-types and scopes),
// the target with its retry policy and dead-letter queue, the least-privilege role EventBridge
// assumes, the DLQ's policy and alarm, the SageMaker parameter mapping, the default-bus rules that
// bring SageMaker's results to the lifecycle queue, the lifecycle function's SageMaker permission,
// the dataset-locator environment, and cdk-nag with no unacknowledged finding.
import { describe, expect, it } from 'vitest';
import { App } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { MonitorStack } from '../../lib/stack/monitor-stack.js';
import { defaultStackConfig, parseStackConfig, type ContextKey } from '../../lib/stack/stack-config.js';
import {
  ENV,
  EVENT_SOURCE,
  PIPELINE_TARGET_RETRY,
  SAGEMAKER_EVENTS,
  SAGEMAKER_PIPELINE_PARAMETERS,
  resourceNames,
} from '../../lib/resources.js';
import { unacknowledgedFindings } from '../support/nag.js';

const PIPELINE = 'arn:aws:sagemaker:us-east-1:123456789012:pipeline/retrain-camera-model';
const MACHINE = 'arn:aws:states:us-east-1:123456789012:stateMachine:retrain';
const LOCATOR = 's3://frames-bucket/frames/{modelVersion}/{cameraId}/{from}/{to}';

const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
const context: Partial<Record<ContextKey, string>> = {
  stage: 'ml',
  sageMakerPipelineArn: PIPELINE,
  sageMakerPipelineScopes: 'model,camera',
  stateMachineArn: MACHINE,
  stateMachineDetailTypes: 'RetrainingRequested,HyperparameterTuningRequested',
  stateMachineScopes: 'camera',
  datasetLocatorTemplate: LOCATOR,
};
const stack = new MonitorStack(app, 'Ml', { config: parseStackConfig((k) => context[k]) });
const plain = new MonitorStack(app, 'Plain', { config: { ...defaultStackConfig(), stage: 'plain' } });
const t = Template.fromStack(stack);
const names = resourceNames('ml');

type Rule = { Properties: { Name: string; EventBusName?: unknown; EventPattern: unknown; Targets: Target[] } };
type Target = {
  Arn: unknown;
  RoleArn?: unknown;
  RetryPolicy?: unknown;
  DeadLetterConfig?: { Arn: unknown };
  SageMakerPipelineParameters?: { PipelineParameterList: { Name: string; Value: string }[] };
};
const rules = Object.values(t.findResources('AWS::Events::Rule')) as Rule[];
const rule = (name: string) => {
  const r = rules.find((x) => x.Properties.Name === name);
  expect(r, `rule ${name}`).toBeDefined();
  return r!.Properties;
};
const logicalIdOf = (type: string, props: Record<string, unknown>) => {
  const ids = Object.keys(t.findResources(type, { Properties: props }));
  expect(ids, `${type} ${JSON.stringify(props)}`).toHaveLength(1);
  return ids[0]!;
};

describe('SageMaker pipeline target', () => {
  it('has one rule per scope on the monitor bus, each matching the trigger types and its scope', () => {
    for (const scope of ['model', 'camera']) {
      const r = rule(`${names.sageMakerPipelineRule}-${scope}`);
      expect(r.EventBusName).toBeDefined();
      expect(r.EventPattern).toEqual({
        source: [EVENT_SOURCE],
        'detail-type': ['RetrainingRequested'],
        detail: { scope: [scope] },
      });
      expect(r.Targets).toHaveLength(1);
      expect(r.Targets[0]!.Arn).toBe(PIPELINE);
    }
  });

  it('maps the trigger onto pipeline parameters: CameraId for camera scope only, DatasetLocator with a template', () => {
    const params = (scope: string) =>
      rule(`${names.sageMakerPipelineRule}-${scope}`).Targets[0]!.SageMakerPipelineParameters!.PipelineParameterList;
    const camera = params('camera');
    expect(camera).toContainEqual({ Name: 'CameraId', Value: '$.detail.cameraId' });
    expect(camera).toContainEqual({ Name: 'DatasetLocator', Value: '$.detail.datasetLocator' });
    expect(camera.map((p) => p.Name).sort()).toEqual(Object.keys(SAGEMAKER_PIPELINE_PARAMETERS).sort());
    const model = params('model');
    expect(model.map((p) => p.Name)).not.toContain('CameraId');
    expect(model).toContainEqual({ Name: 'ModelVersion', Value: '$.detail.referenceWindow.modelVersion' });
    expect(model).toContainEqual({ Name: 'TriggerId', Value: '$.detail.triggerId' });
    for (const p of model) expect(p.Value).toBe(SAGEMAKER_PIPELINE_PARAMETERS[p.Name as 'TriggerId']);
  });

  it('retries for a bounded time, then dead-letters into its own queue, which alarms', () => {
    const dlq = logicalIdOf('AWS::SQS::Queue', { QueueName: names.sageMakerPipelineDeadLetterQueue });
    for (const scope of ['model', 'camera']) {
      const target = rule(`${names.sageMakerPipelineRule}-${scope}`).Targets[0]!;
      expect(target.RetryPolicy).toEqual({
        MaximumRetryAttempts: PIPELINE_TARGET_RETRY.attempts,
        MaximumEventAgeInSeconds: PIPELINE_TARGET_RETRY.maxEventAgeSeconds,
      });
      expect(target.DeadLetterConfig).toEqual({ Arn: { 'Fn::GetAtt': [dlq, 'Arn'] } });
    }
    t.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: `${names.alarmPrefix}sagemaker-pipeline-dlq-visible`,
      Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [dlq, 'QueueName'] } }],
      Threshold: 0,
      AlarmActions: Match.anyValue(),
    });
    // EventBridge may send to the DLQ only on behalf of these rules.
    t.hasResourceProperties('AWS::SQS::QueuePolicy', {
      Queues: [{ Ref: dlq }],
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Principal: { Service: 'events.amazonaws.com' },
            Action: 'sqs:SendMessage',
            Condition: { ArnEquals: { 'aws:SourceArn': Match.anyValue() } },
          }),
        ]),
      },
    });
  });

  it('starts it with a role only EventBridge of this account assumes, allowed to start this pipeline only', () => {
    const target = rule(`${names.sageMakerPipelineRule}-model`).Targets[0]!;
    const roleId = (target.RoleArn as { 'Fn::GetAtt': [string, string] })['Fn::GetAtt'][0];
    const role = t.findResources('AWS::IAM::Role')[roleId]!;
    expect(role.Properties.AssumeRolePolicyDocument.Statement).toEqual([
      {
        Action: 'sts:AssumeRole',
        Effect: 'Allow',
        Principal: { Service: 'events.amazonaws.com' },
        Condition: { StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } } },
      },
    ]);
    const policies = Object.values(t.findResources('AWS::IAM::Policy')).filter((p) =>
      (p.Properties.Roles as { Ref: string }[]).some((r) => r.Ref === roleId),
    );
    const statements = policies.flatMap((p) => p.Properties.PolicyDocument.Statement);
    expect(statements).toEqual([{ Action: 'sagemaker:StartPipelineExecution', Effect: 'Allow', Resource: PIPELINE }]);
  });

  it("brings SageMaker's succeeded executions and approved packages of this pipeline to the lifecycle queue", () => {
    const lifecycleQueue = logicalIdOf('AWS::SQS::Queue', { QueueName: names.lifecycleQueue });
    const execution = rule(names.sageMakerExecutionRule);
    expect(execution.EventBusName).toBeUndefined(); // the default bus, where SageMaker publishes
    expect(execution.EventPattern).toEqual({
      source: [SAGEMAKER_EVENTS.source],
      'detail-type': [SAGEMAKER_EVENTS.pipelineExecution],
      detail: { currentPipelineExecutionStatus: ['Succeeded'], pipelineArn: [PIPELINE] },
    });
    const approved = rule(names.sageMakerModelPackageRule);
    expect(approved.EventBusName).toBeUndefined();
    expect(approved.EventPattern).toEqual({
      source: [SAGEMAKER_EVENTS.source],
      'detail-type': [SAGEMAKER_EVENTS.modelPackage],
      detail: {
        ModelApprovalStatus: ['Approved'],
        MetadataProperties: { GeneratedBy: [{ prefix: `${PIPELINE}/execution/` }] },
      },
    });
    for (const r of [execution, approved]) {
      expect(r.Targets[0]!.Arn).toEqual({ 'Fn::GetAtt': [lifecycleQueue, 'Arn'] });
      expect(r.Targets[0]!.DeadLetterConfig).toBeDefined();
    }
    // The lifecycle function may read the parameters of this pipeline's executions, nothing else of SageMaker.
    const sageMakerStatements = Object.values(t.findResources('AWS::IAM::Policy'))
      .flatMap((p) => p.Properties.PolicyDocument.Statement as { Action: string | string[]; Resource: unknown }[])
      .filter((s) =>
        [s.Action].flat().some((a) => a.startsWith('sagemaker:') && a !== 'sagemaker:StartPipelineExecution'),
      );
    expect(sageMakerStatements).toEqual([
      expect.objectContaining({
        Action: 'sagemaker:ListPipelineParametersForExecution',
        Resource: `${PIPELINE}/execution/*`,
      }),
    ]);
  });
});

describe('Step Functions state machine target', () => {
  it('gets the whole event for the configured detail-types and scope, with retries, a DLQ and an alarm', () => {
    const r = rule(names.stateMachineRule);
    expect(r.EventPattern).toEqual({
      source: [EVENT_SOURCE],
      'detail-type': ['RetrainingRequested', 'HyperparameterTuningRequested'],
      detail: { scope: ['camera'] },
    });
    const target = r.Targets[0]!;
    expect(target.Arn).toBe(MACHINE);
    expect(target).not.toHaveProperty('Input'); // the whole event
    expect(target.RetryPolicy).toEqual({
      MaximumRetryAttempts: PIPELINE_TARGET_RETRY.attempts,
      MaximumEventAgeInSeconds: PIPELINE_TARGET_RETRY.maxEventAgeSeconds,
    });
    const dlq = logicalIdOf('AWS::SQS::Queue', { QueueName: names.stateMachineDeadLetterQueue });
    expect(target.DeadLetterConfig).toEqual({ Arn: { 'Fn::GetAtt': [dlq, 'Arn'] } });
    t.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: `${names.alarmPrefix}state-machine-dlq-visible`,
      Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [dlq, 'QueueName'] } }],
    });
    const roleId = (target.RoleArn as { 'Fn::GetAtt': [string, string] })['Fn::GetAtt'][0];
    const statements = Object.values(t.findResources('AWS::IAM::Policy'))
      .filter((p) => (p.Properties.Roles as { Ref: string }[]).some((x) => x.Ref === roleId))
      .flatMap((p) => p.Properties.PolicyDocument.Statement);
    expect(statements).toEqual([{ Action: 'states:StartExecution', Effect: 'Allow', Resource: MACHINE }]);
  });
});

describe('without pipeline context', () => {
  it('keeps the retraining queue as the only consumer and adds no SageMaker rule, role or permission', () => {
    const p = Template.fromStack(plain);
    const plainNames = resourceNames('plain');
    const ruleNames = Object.values(p.findResources('AWS::Events::Rule')).map((r) => r.Properties.Name);
    expect(ruleNames).not.toContain(`${plainNames.sageMakerPipelineRule}-model`);
    expect(ruleNames).not.toContain(plainNames.stateMachineRule);
    expect(ruleNames).not.toContain(plainNames.sageMakerExecutionRule);
    expect(JSON.stringify(p.toJSON())).not.toContain('sagemaker:');
    expect(JSON.stringify(p.toJSON())).not.toContain(ENV.datasetLocatorTemplate);
  });

  it('passes the dataset-locator template to every function that publishes', () => {
    // The replay worker (under History) publishes nothing.
    const fns = Object.entries(t.findResources('AWS::Lambda::Function'))
      .filter(([id]) => !id.startsWith('History'))
      .map(([, fn]) => fn);
    expect(fns.length).toBeGreaterThanOrEqual(3);
    for (const fn of fns) expect(fn.Properties.Environment.Variables[ENV.datasetLocatorTemplate]).toBe(LOCATOR);
  });
});

describe('cdk-nag', () => {
  it('has no unacknowledged AwsSolutions finding with both targets set', () => {
    expect(unacknowledgedFindings(app)).toEqual([]);
  });
});
