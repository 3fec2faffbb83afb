// Alarms → an encrypted SNS topic (optional e-mail subscription), and one CloudWatch dashboard.
// Metric names and dimensions come from lib/telemetry.ts, the same constants the functions emit.
import { Aws, Duration, RemovalPolicy } from 'aws-cdk-lib';
import {
  Alarm,
  AlarmStatusWidget,
  ComparisonOperator,
  Dashboard,
  GraphWidget,
  MathExpression,
  Metric,
  TreatMissingData,
  type IMetric,
  type IWidget,
} from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import { PolicyStatement, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Key } from 'aws-cdk-lib/aws-kms';
import { Topic } from 'aws-cdk-lib/aws-sns';
import { EmailSubscription } from 'aws-cdk-lib/aws-sns-subscriptions';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import type { ResourceNames } from '../resources.js';
import { DIMENSION, METRIC, METRICS_NAMESPACE } from '../telemetry.js';
import type { MonitorFunction } from './monitor-function.js';

export interface OperationsProps {
  names: ResourceNames;
  stage: string;
  alarmEmail?: string;
}

const MINUTE = Duration.minutes(1);

export class MonitorOperations extends Construct {
  readonly topic: Topic;
  readonly dashboard: Dashboard;
  readonly alarms: Alarm[] = [];
  private readonly names: ResourceNames;
  private readonly stage: string;

  constructor(scope: Construct, id: string, props: OperationsProps) {
    super(scope, id);
    this.names = props.names;
    this.stage = props.stage;
    // SNS has no service-managed encryption CloudWatch can publish through; a customer key can.
    const key = new Key(this, 'AlarmTopicKey', {
      description: `Encrypts the ${props.names.alarmTopic} alarm topic`,
      enableKeyRotation: true,
      removalPolicy: RemovalPolicy.DESTROY,
      pendingWindow: Duration.days(7),
    });
    key.addToResourcePolicy(
      new PolicyStatement({
        sid: 'CloudWatchAlarmsPublish',
        principals: [new ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['kms:Decrypt', 'kms:GenerateDataKey'],
        resources: ['*'], // in a key policy, "*" is this key
        conditions: { StringEquals: { 'aws:SourceAccount': Aws.ACCOUNT_ID } },
      }),
    );
    this.topic = new Topic(this, 'AlarmTopic', { topicName: props.names.alarmTopic, masterKey: key, enforceSSL: true });
    if (props.alarmEmail) this.topic.addSubscription(new EmailSubscription(props.alarmEmail));
    this.dashboard = new Dashboard(this, 'Dashboard', {
      dashboardName: props.names.dashboard,
      defaultInterval: Duration.hours(3),
    });
  }

  /** A custom metric the functions emit (EMF), summed per minute. */
  metric(serviceName: string, metricName: string, extraDimensions: Record<string, string> = {}): Metric {
    return new Metric({
      namespace: METRICS_NAMESPACE,
      metricName,
      dimensionsMap: { [DIMENSION.service]: serviceName, [DIMENSION.stage]: this.stage, ...extraDimensions },
      statistic: 'Sum',
      period: MINUTE,
    });
  }

  /** One series per function and trigger type, whichever types the policies produce. */
  triggersByType(): MathExpression {
    const d = DIMENSION;
    return new MathExpression({
      expression: `SEARCH('{${METRICS_NAMESPACE},${d.service},${d.stage},${d.triggerType}} MetricName="${METRIC.triggers}" ${d.stage}="${this.stage}"', 'Sum', 60)`,
      usingMetrics: {},
      label: 'Triggers',
      period: MINUTE,
    });
  }

  /** An alarm that notifies the topic when it fires and when it recovers. Missing data is "OK". */
  alarm(
    id: string,
    props: {
      name: string;
      description: string;
      metric: IMetric;
      threshold: number;
      evaluationPeriods?: number;
      comparison?: ComparisonOperator;
    },
  ): Alarm {
    const alarm = new Alarm(this, id, {
      alarmName: `${this.names.alarmPrefix}${props.name}`,
      alarmDescription: props.description,
      metric: props.metric,
      threshold: props.threshold,
      evaluationPeriods: props.evaluationPeriods ?? 1,
      comparisonOperator: props.comparison ?? ComparisonOperator.GREATER_THAN_THRESHOLD,
      treatMissingData: TreatMissingData.NOT_BREACHING,
    });
    const action = new SnsAction(this.topic);
    alarm.addAlarmAction(action);
    alarm.addOkAction(action);
    this.alarms.push(alarm);
    return alarm;
  }

  /** Alarms as soon as a dead-letter queue holds a visible message. */
  watchDeadLetterQueue(id: string, queue: IQueue, name: string, description: string): Alarm {
    return this.alarm(id, {
      name,
      description,
      metric: queue.metricApproximateNumberOfMessagesVisible({ period: MINUTE, statistic: 'Maximum' }),
      threshold: 0,
    });
  }

  /** Alarms when the oldest ingest message stays older than `seconds` for 3 minutes: consumption is stuck or too slow. */
  watchQueueAge(id: string, queue: IQueue, queueName: string, name: string, seconds: number): Alarm {
    return this.alarm(id, {
      name,
      description: `The oldest message in ${queueName} has waited more than ${seconds} s for 3 minutes: the ingest function is failing, throttled or under-provisioned.`,
      metric: queue.metricApproximateAgeOfOldestMessage({ period: MINUTE, statistic: 'Maximum' }),
      threshold: seconds,
      evaluationPeriods: 3,
    });
  }

  /** Errors and throttles alarms for a function, plus its row on the dashboard. */
  watchFunction(fn: MonitorFunction): Alarm[] {
    const svc = fn.serviceName;
    const errors = this.alarm(`${svc}Errors`, {
      name: `${svc}-errors`,
      description: `The ${svc} function threw (its whole batch went back to the queue). See its log group for "invocation failed".`,
      metric: fn.metricErrors(),
      threshold: 0,
    });
    const throttles = this.alarm(`${svc}Throttles`, {
      name: `${svc}-throttles`,
      description: `The ${svc} function was throttled: account concurrency is exhausted or the event source's maxConcurrency is too low.`,
      metric: fn.metricThrottles(),
      threshold: 0,
    });
    this.dashboard.addWidgets(
      new GraphWidget({
        title: `${svc}: errors and throttles`,
        left: [fn.metricErrors(MINUTE), fn.metricThrottles(MINUTE)],
        width: 8,
      }),
      new GraphWidget({
        title: `${svc}: duration (ms)`,
        left: [
          fn.function.metricDuration({ period: MINUTE, statistic: 'p50' }),
          fn.function.metricDuration({ period: MINUTE, statistic: 'p99' }),
        ],
        width: 8,
      }),
      new GraphWidget({
        title: `${svc}: concurrent executions`,
        left: [fn.function.metric('ConcurrentExecutions', { period: MINUTE, statistic: 'Maximum' })],
        width: 8,
      }),
    );
    return [errors, throttles];
  }

  addRow(...widgets: IWidget[]): void {
    this.dashboard.addWidgets(...widgets);
  }

  /** The status of every alarm, as the dashboard's last row. Call after all alarms exist. */
  addAlarmStatus(): void {
    this.dashboard.addWidgets(new AlarmStatusWidget({ title: 'Alarms', alarms: this.alarms, width: 24 }));
  }
}
