// Training pipelines EventBridge starts straight from the monitor bus (CDK context sageMakerPipelineArn,
// stateMachineArn), and the rules that bring SageMaker's own results back to the lifecycle queue.
// Each target: its own least-privilege role, retry policy, dead-letter queue and an alarm on it.
import { Annotations, Duration, Stack, Validations } from 'aws-cdk-lib';
import { Rule, type CfnRule, type IEventBus, type IRuleTarget, type RuleTargetConfig } from 'aws-cdk-lib/aws-events';
import { SfnStateMachine, SqsQueue } from 'aws-cdk-lib/aws-events-targets';
import { PolicyStatement, Role, ServicePrincipal, type IRole } from 'aws-cdk-lib/aws-iam';
import { Queue, QueueEncryption, type IQueue } from 'aws-cdk-lib/aws-sqs';
import { StateMachine } from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import {
  INGEST,
  PIPELINE_TARGET_RETRY,
  pipelineTargetPattern,
  sageMakerExecutionPattern,
  sageMakerModelPackagePattern,
  sageMakerParameterList,
  type ResourceNames,
} from '../resources.js';
import type { MonitorOperations } from './operations.js';
import type { PipelineTarget } from './stack-config.js';

export interface PipelineTargetsProps {
  names: ResourceNames;
  bus: IEventBus;
  targets: readonly PipelineTarget[];
  withDatasetLocator: boolean;
  ops: MonitorOperations;
}

const retry = {
  retryAttempts: PIPELINE_TARGET_RETRY.attempts,
  maxEventAge: Duration.seconds(PIPELINE_TARGET_RETRY.maxEventAgeSeconds),
};

/** StartPipelineExecution with parameters from the trigger (RuleTargetConfig has no SageMaker field: set below). */
class SageMakerPipelineTarget implements IRuleTarget {
  constructor(
    private readonly pipelineArn: string,
    private readonly role: IRole,
    private readonly deadLetterQueue: IQueue,
  ) {}
  bind(): RuleTargetConfig {
    return {
      arn: this.pipelineArn,
      role: this.role,
      deadLetterConfig: { arn: this.deadLetterQueue.queueArn },
      retryPolicy: {
        maximumRetryAttempts: retry.retryAttempts,
        maximumEventAgeInSeconds: retry.maxEventAge.toSeconds(),
      },
    };
  }
}

export class PipelineTargets extends Construct {
  readonly deadLetterQueues: IQueue[] = [];

  constructor(scope: Construct, id: string, props: PipelineTargetsProps) {
    super(scope, id);
    const { names, bus, ops } = props;
    for (const target of props.targets) {
      const sm = target.kind === 'sageMakerPipeline';
      const scopeId = sm ? 'SageMakerPipeline' : 'StateMachine';
      const dlqName = sm ? names.sageMakerPipelineDeadLetterQueue : names.stateMachineDeadLetterQueue;
      const deadLetterQueue = new Queue(this, `${scopeId}DeadLetterQueue`, {
        queueName: dlqName,
        retentionPeriod: Duration.days(INGEST.deadLetterRetentionDays),
        encryption: QueueEncryption.SQS_MANAGED,
        enforceSSL: true,
      });
      Validations.of(deadLetterQueue).acknowledge({
        id: 'AwsSolutions-SQS3',
        reason: 'This queue is itself the dead-letter queue of a pipeline target (EventBridge DeadLetterConfig).',
      });
      this.deadLetterQueues.push(deadLetterQueue);
      // Only EventBridge rules of this account may assume it, and it may start only this one pipeline.
      const role = new Role(this, `${scopeId}StartRole`, {
        assumedBy: new ServicePrincipal('events.amazonaws.com', {
          conditions: { StringEquals: { 'aws:SourceAccount': Stack.of(this).account } },
        }),
        description: `EventBridge starts ${target.arn} with it`,
      });
      const pattern = (scopes: readonly string[]) => {
        const p = pipelineTargetPattern(target.detailTypes, scopes);
        return { source: p.source, detailType: p['detail-type'], detail: p.detail };
      };
      if (sm) {
        role.addToPrincipalPolicy(
          new PolicyStatement({ actions: ['sagemaker:StartPipelineExecution'], resources: [target.arn] }),
        );
        // One rule per scope: a model-scope trigger has no cameraId to map onto the CameraId parameter.
        for (const triggerScope of target.scopes) {
          const suffix = triggerScope === 'model' ? 'Model' : 'Camera';
          const rule = new Rule(this, `SageMakerPipelineRule${suffix}`, {
            ruleName: `${names.sageMakerPipelineRule}-${triggerScope}`,
            description: `Starts the SageMaker pipeline on ${target.detailTypes.join(', ')} (${triggerScope} scope)`,
            eventBus: bus,
            eventPattern: pattern([triggerScope]),
            targets: [new SageMakerPipelineTarget(target.arn, role, deadLetterQueue)],
          });
          (rule.node.defaultChild as CfnRule).addPropertyOverride('Targets.0.SageMakerPipelineParameters', {
            PipelineParameterList: sageMakerParameterList(triggerScope, props.withDatasetLocator).map((p) => ({
              Name: p.name,
              Value: p.path,
            })),
          });
          deadLetterQueue.addToResourcePolicy(
            new PolicyStatement({
              sid: `${suffix}RuleDeadLetters`,
              principals: [new ServicePrincipal('events.amazonaws.com')],
              actions: ['sqs:SendMessage'],
              resources: [deadLetterQueue.queueArn],
              conditions: { ArnEquals: { 'aws:SourceArn': rule.ruleArn } },
            }),
          );
        }
      } else {
        const rule = new Rule(this, 'StateMachineRule', {
          ruleName: names.stateMachineRule,
          description: `Starts the state machine with the whole event on ${target.detailTypes.join(', ')} (${target.scopes.join(', ')} scope)`,
          eventBus: bus,
          eventPattern: pattern(target.scopes),
          // SfnStateMachine grants the role states:StartExecution on this state machine only.
          targets: [
            new SfnStateMachine(StateMachine.fromStateMachineArn(this, 'StateMachine', target.arn), {
              role,
              deadLetterQueue,
              ...retry,
            }),
          ],
        });
        // An env-agnostic stack cannot compare its region with the ARN's; the target must be in the stack's own.
        Annotations.of(rule).acknowledgeWarning(
          '@aws-cdk/aws-events:ruleUnresolvedEnvironment',
          'The state machine is in the account and region the stack is deployed to (documented).',
        );
      }
      ops.watchDeadLetterQueue(
        `${scopeId}DeadLetterAlarm`,
        deadLetterQueue,
        sm ? 'sagemaker-pipeline-dlq-visible' : 'state-machine-dlq-visible',
        `Messages in ${dlqName}: EventBridge could not start ${target.arn} within ${PIPELINE_TARGET_RETRY.attempts} retries / ${PIPELINE_TARGET_RETRY.maxEventAgeSeconds / 60} min. The ERROR_CODE and ERROR_MESSAGE attributes say why (e.g. a pipeline parameter the pipeline does not declare); fix, then replay the triggers from the archive.`,
      );
    }
  }
}

/**
 * SageMaker publishes on the account's default bus: rules there bring a succeeded execution and an
 * approved model package of the configured pipeline to the lifecycle queue.
 */
export function sageMakerLoopRules(
  scope: Construct,
  names: ResourceNames,
  pipelineArn: string,
  lifecycleQueue: IQueue,
  ruleDeadLetterQueue: IQueue,
): void {
  const target = () =>
    new SqsQueue(lifecycleQueue, {
      retryAttempts: PIPELINE_TARGET_RETRY.attempts,
      maxEventAge: Duration.seconds(PIPELINE_TARGET_RETRY.maxEventAgeSeconds),
      deadLetterQueue: ruleDeadLetterQueue,
    });
  const camel = (p: { source: string[]; 'detail-type': string[]; detail: Record<string, unknown> }) => ({
    source: p.source,
    detailType: p['detail-type'],
    detail: p.detail,
  });
  new Rule(scope, 'SageMakerExecutionSucceededRule', {
    ruleName: names.sageMakerExecutionRule,
    description: 'Succeeded executions of the retraining pipeline → lifecycle queue (RetrainingCompleted)',
    eventPattern: camel(sageMakerExecutionPattern(pipelineArn)),
    targets: [target()],
  });
  new Rule(scope, 'SageMakerModelApprovedRule', {
    ruleName: names.sageMakerModelPackageRule,
    description: 'Approved model packages registered by the retraining pipeline → lifecycle queue (ModelDeployed)',
    eventPattern: camel(sageMakerModelPackagePattern(pipelineArn)),
    targets: [target()],
  });
}
