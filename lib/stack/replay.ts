// The distributed replay (docs/history-replay.md): the replay state machine built by
// lib/replay-cloud/definition.ts with the worker Lambda as its task, and that worker (the replay
// engine's shard and merge steps over the history bucket). Part of the metric history construct.
import { ArnFormat, type CfnResource, Duration, Stack, Validations } from 'aws-cdk-lib';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import type { CfnBucket, IBucket } from 'aws-cdk-lib/aws-s3';
import { DefinitionBody, StateMachine, StateMachineType } from 'aws-cdk-lib/aws-stepfunctions';
import { Construct, type IConstruct } from 'constructs';
import { replayDefinition } from '../replay-cloud/definition.js';
import { ENV, HISTORY, type ResourceNames } from '../resources.js';
import { SERVICE } from '../telemetry.js';
import { MonitorFunction } from './monitor-function.js';
import type { LogLevel } from './stack-config.js';

export interface DistributedReplayProps {
  names: ResourceNames;
  bucket: IBucket;
  stage: string;
  logLevel: LogLevel;
  logRetentionDays: number;
}

export class DistributedReplay extends Construct {
  readonly worker: MonitorFunction;
  readonly stateMachine: StateMachine;

  constructor(scope: Construct, id: string, props: DistributedReplayProps) {
    super(scope, id);
    const { names, bucket } = props;
    const stack = Stack.of(this);
    const replayObjects = bucket.arnForObjects(`${HISTORY.replayPrefix}*`);

    this.worker = new MonitorFunction(this, 'Worker', {
      entry: 'replay-worker',
      serviceName: SERVICE.replayWorker,
      stage: props.stage,
      description: 'VisuTility Monitor replay worker: the replay engine on one shard of cameras, and the merge',
      memorySize: HISTORY.replayWorkerMemoryMb,
      timeout: Duration.seconds(HISTORY.replayWorkerTimeoutSeconds),
      logLevel: props.logLevel,
      logRetentionDays: props.logRetentionDays,
      environment: { [ENV.replayBucket]: bucket.bucketName },
      permissions: [
        // History objects and run documents to read; the run's results to write.
        new PolicyStatement({
          actions: ['s3:GetObject'],
          resources: [bucket.arnForObjects(`${HISTORY.eventsPrefix}*`), replayObjects],
        }),
        new PolicyStatement({ actions: ['s3:PutObject'], resources: [replayObjects] }),
        new PolicyStatement({
          actions: ['s3:ListBucket'],
          resources: [bucket.bucketArn],
          conditions: { StringLike: { 's3:prefix': [`${HISTORY.eventsPrefix}*`, `${HISTORY.replayPrefix}*`] } },
        }),
      ],
    });

    // Named up front: the Map's child executions need the machine's own ARN in its role (no cycle).
    const machineArn = stack.formatArn({
      service: 'states',
      resource: 'stateMachine',
      resourceName: names.replayStateMachine,
      arnFormat: ArnFormat.COLON_RESOURCE_NAME,
    });
    this.stateMachine = new StateMachine(this, 'StateMachine', {
      stateMachineName: names.replayStateMachine,
      stateMachineType: StateMachineType.STANDARD,
      definitionBody: DefinitionBody.fromString(
        JSON.stringify(
          replayDefinition({
            task: { kind: 'lambda', functionArn: this.worker.function.functionArn },
            bucket: bucket.bucketName,
          }),
        ),
      ),
      tracingEnabled: true,
      timeout: Duration.hours(12),
    });
    const role = this.stateMachine.role;
    role.addToPrincipalPolicy(
      new PolicyStatement({ actions: ['lambda:InvokeFunction'], resources: [this.worker.function.functionArn] }),
    );
    // ItemReader reads the manifest; ResultWriter writes the Map's results.
    role.addToPrincipalPolicy(
      new PolicyStatement({ actions: ['s3:GetObject', 's3:PutObject'], resources: [replayObjects] }),
    );
    // Distributed Map: the machine starts and watches its own child executions.
    role.addToPrincipalPolicy(new PolicyStatement({ actions: ['states:StartExecution'], resources: [machineArn] }));
    role.addToPrincipalPolicy(
      new PolicyStatement({
        actions: ['states:DescribeExecution', 'states:StopExecution'],
        resources: [
          `arn:${stack.partition}:states:${stack.region}:${stack.account}:execution:${names.replayStateMachine}/*`,
        ],
      }),
    );

    Validations.of(this.stateMachine).acknowledge({
      id: 'AwsSolutions-SF1',
      reason:
        'A standard workflow started by an operator (vmon backtest --distributed), which shows its progress and errors; Step Functions keeps its execution history for 90 days. CloudWatch Logs delivery would need logs:*LogDelivery on Resource "*".',
    });
    // As MonitorFunction does: depend on the role's policy only (the role itself is a GetAtt, cfn-lint W3005).
    const policy = role.node.findChild('DefaultPolicy').node.defaultChild as CfnResource;
    (this.stateMachine.node.defaultChild as CfnResource).addOverride('DependsOn', [stack.getLogicalId(policy)]);

    const bucketId = stack.getLogicalId(bucket.node.defaultChild as CfnBucket);
    const objects = (prefix: string) => `AwsSolutions-IAM5[Resource::<${bucketId}.Arn>/${prefix}*]`;
    const acks: [IConstruct, string, string][] = [
      [
        this.worker.role,
        objects(HISTORY.eventsPrefix),
        'The shard step reads the history objects of its camera buckets: partition keys are not known in advance.',
      ],
      [
        this.worker.role,
        objects(HISTORY.replayPrefix),
        "The steps read and write this run's documents under replay/<run id>/.",
      ],
      [
        role,
        objects(HISTORY.replayPrefix),
        "ItemReader reads the run's manifest and ResultWriter writes the Map's results under replay/.",
      ],
      [
        role,
        `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:execution:${names.replayStateMachine}/*]`,
        'A Distributed Map describes and stops its own child executions, whose names are not known in advance.',
      ],
      [
        this.worker.role,
        'AwsSolutions-IAM5[Resource::*]',
        'Only X-Ray (active tracing): it has no resource-level permissions.',
      ],
      [role, 'AwsSolutions-IAM5[Resource::*]', 'Only X-Ray (tracing): it has no resource-level permissions.'],
    ];
    for (const [construct, ackId, reason] of acks) Validations.of(construct).acknowledge({ id: ackId, reason });
  }
}
