// One call for a monitor Lambda: bundled handler from functions/, its own log group with retention,
// an explicit least-privilege role (own log streams, X-Ray, plus the statements given), active
// tracing (SDK-call subsegments only with `sdkTracing`) and the Powertools environment. Adding a
// function is one `new MonitorFunction(...)`.
import { fileURLToPath } from 'node:url';
import { type CfnResource, Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Architecture, type CfnFunction, Runtime, Tracing } from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import { ENV, FUNCTION_BUNDLING } from '../resources.js';
import { LogGroup, type RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { METRICS_NAMESPACE, POWERTOOLS_ENV } from '../telemetry.js';
import type { LogLevel } from './stack-config.js';

export interface MonitorFunctionProps {
  /** Handler file under functions/, without extension, e.g. `ingest`. */
  entry: string;
  /** Powertools service name: the `service` log key and metric dimension (see lib/telemetry.ts SERVICE). */
  serviceName: string;
  stage: string;
  description: string;
  memorySize: number;
  timeout: Duration;
  logLevel: LogLevel;
  logRetentionDays: number;
  environment?: Record<string, string>;
  /** Everything the function may do beyond writing its own logs and traces. */
  permissions?: PolicyStatement[];
  /** X-Ray subsegments per SDK call (the stack's `sdkTracing`, default off); the bundle is built for it. */
  sdkTracing?: boolean;
}

const handlerFile = (name: string) => fileURLToPath(new URL(`../../functions/${name}.ts`, import.meta.url));

export class MonitorFunction extends Construct {
  readonly function: NodejsFunction;
  readonly role: Role;
  readonly logGroup: LogGroup;
  readonly serviceName: string;

  constructor(scope: Construct, id: string, props: MonitorFunctionProps) {
    super(scope, id);
    this.serviceName = props.serviceName;
    const sdkTracing = props.sdkTracing ?? false;
    this.logGroup = new LogGroup(this, 'Logs', {
      retention: props.logRetentionDays as RetentionDays,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    // An explicit role instead of AWSLambdaBasicExecutionRole: log writes to this log group only.
    this.role = new Role(this, 'Role', {
      assumedBy: new ServicePrincipal('lambda.amazonaws.com'),
      description: `${props.description} (stage ${props.stage})`,
    });
    this.role.addToPrincipalPolicy(
      new PolicyStatement({
        actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
        resources: [this.logGroup.logGroupArn],
      }),
    );
    for (const statement of props.permissions ?? []) this.role.addToPrincipalPolicy(statement);

    this.function = new NodejsFunction(this, 'Function', {
      entry: handlerFile(props.entry),
      handler: 'handler',
      description: props.description,
      runtime: Runtime.NODEJS_24_X,
      architecture: Architecture.ARM_64,
      memorySize: props.memorySize,
      timeout: props.timeout,
      role: this.role,
      logGroup: this.logGroup,
      tracing: Tracing.ACTIVE,
      environment: {
        ...props.environment,
        [POWERTOOLS_ENV.serviceName]: props.serviceName,
        [POWERTOOLS_ENV.metricsNamespace]: METRICS_NAMESPACE,
        [POWERTOOLS_ENV.logLevel]: props.logLevel,
        [POWERTOOLS_ENV.stage]: props.stage,
        ...(sdkTracing
          ? {
              [ENV.sdkTracing]: 'true',
              // Responses can be large (every failed record id); traces keep timings, not payloads.
              [POWERTOOLS_ENV.tracerCaptureResponse]: 'false',
            }
          : {}),
      },
      bundling: {
        format: OutputFormat.ESM,
        minify: FUNCTION_BUNDLING.minify,
        sourceMap: FUNCTION_BUNDLING.sourceMap,
        target: FUNCTION_BUNDLING.target,
        externalModules: [...FUNCTION_BUNDLING.externalModules],
        banner: FUNCTION_BUNDLING.banner,
        define: FUNCTION_BUNDLING.define(sdkTracing),
      },
    });
    // CDK makes the function depend on its role, which it already references by GetAtt (cfn-lint
    // W3005); the dependency that matters is the role's policy, so that alone stays.
    const policy = this.role.node.findChild('DefaultPolicy').node.defaultChild as CfnResource;
    (this.function.node.defaultChild as CfnFunction).addOverride('DependsOn', [Stack.of(this).getLogicalId(policy)]);
  }

  /** Function-level errors (thrown invocations) per period. */
  metricErrors(period = Duration.minutes(5)) {
    return this.function.metricErrors({ period, statistic: 'Sum' });
  }

  metricThrottles(period = Duration.minutes(5)) {
    return this.function.metricThrottles({ period, statistic: 'Sum' });
  }
}
