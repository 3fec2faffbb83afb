// The metric history (docs/history-replay.md): a Firehose stream the ingest function sends accepted
// events to, packed; Firehose splits the records, partitions by event date / modality / model
// version (dynamic partitioning) and converts them to Parquet (the Glue table's schema) in one S3
// bucket; a Glue table with partition projection and an Athena workgroup to query it; lifecycle to
// Glacier Instant Retrieval and expiry; alarms on dropped events and on delivery falling behind.
import { Aws, CfnOutput, type CfnResource, Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import { CfnWorkGroup } from 'aws-cdk-lib/aws-athena';
import { CfnDatabase, CfnTable } from 'aws-cdk-lib/aws-glue';
import { PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { CfnDeliveryStream } from 'aws-cdk-lib/aws-kinesisfirehose';
import { LogGroup, LogStream, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { BlockPublicAccess, Bucket, BucketEncryption, type CfnBucket, StorageClass } from 'aws-cdk-lib/aws-s3';
import { Metric } from 'aws-cdk-lib/aws-cloudwatch';
import { Construct } from 'constructs';
import { HISTORY, type ResourceNames } from '../resources.js';
import { METRIC, SERVICE } from '../telemetry.js';
import type { MonitorOperations } from './operations.js';
import { DistributedReplay } from './replay.js';
import type { LogLevel } from './stack-config.js';

export interface MetricHistoryProps {
  names: ResourceNames;
  retentionDays: number;
  coldAfterDays: number;
  stage: string;
  logLevel: LogLevel;
  logRetentionDays: number;
}

/** Athena refuses a query past this many bytes scanned (about $1 at $5/TB): a forgotten date range. */
export const ATHENA_BYTES_SCANNED_CUTOFF = 200 * 1024 ** 3;
/** Days Athena results and replay results are kept. */
export const SCRATCH_RETENTION_DAYS = 7;

/** Where Firehose writes each record: the partition values it extracted from it. */
export const FIREHOSE_PREFIX = `${HISTORY.eventsPrefix}${HISTORY.partitionColumns
  .map((c) => `${c.name}=!{partitionKeyFromQuery:${c.name}}`)
  .join('/')}/`;
/** The jq query extracting the partition values from each event of a record. */
export const PARTITION_QUERY = `{${HISTORY.partitionColumns.map((c) => `${c.name}:.${c.jsonKey}`).join(',')}}`;

/** Glue table parameters: partition projection, so Athena needs no partition registered. */
export function historyTableParameters(bucketName: string): Record<string, string> {
  return {
    classification: 'parquet',
    EXTERNAL: 'TRUE',
    'projection.enabled': 'true',
    'projection.camera_bucket.type': 'integer',
    'projection.camera_bucket.range': `0,${HISTORY.cameraBuckets - 1}`,
    'projection.camera_bucket.digits': '2',
    'projection.dt.type': 'date',
    'projection.dt.format': 'yyyy-MM-dd',
    'projection.dt.range': '2020-01-01,NOW',
    'projection.dt.interval': '1',
    'projection.dt.interval.unit': 'DAYS',
    'projection.modality.type': 'enum',
    'projection.modality.values': 'Rgb,Thermal,Depth',
    // Versions are not known in advance: a query names the one(s) it wants (docs/history-replay.md).
    'projection.model_version.type': 'injected',
    'storage.location.template': `s3://${bucketName}/${HISTORY.eventsPrefix}${HISTORY.partitionColumns.map((c) => `${c.name}=\${${c.name}}`).join('/')}/`,
  };
}

export class MetricHistory extends Construct {
  readonly bucket: Bucket;
  readonly stream: CfnDeliveryStream;
  readonly streamArn: string;
  readonly replay: DistributedReplay;

  constructor(scope: Construct, id: string, props: MetricHistoryProps) {
    super(scope, id);
    const { names } = props;
    const stack = Stack.of(this);

    this.bucket = new Bucket(this, 'Bucket', {
      encryption: BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
      removalPolicy: RemovalPolicy.RETAIN,
      // A rule with nothing to do (retention 0 and never cold) is left out: S3 refuses it.
      lifecycleRules: [
        {
          id: 'events',
          prefix: HISTORY.eventsPrefix,
          ...(props.coldAfterDays > 0
            ? {
                transitions: [
                  {
                    storageClass: StorageClass.GLACIER_INSTANT_RETRIEVAL,
                    transitionAfter: Duration.days(props.coldAfterDays),
                  },
                ],
              }
            : {}),
          ...(props.retentionDays > 0 ? { expiration: Duration.days(props.retentionDays) } : {}),
        },
        {
          id: 'errors',
          prefix: HISTORY.errorsPrefix,
          ...(props.retentionDays > 0 ? { expiration: Duration.days(props.retentionDays) } : {}),
        },
        {
          id: 'scratch-athena',
          prefix: HISTORY.athenaResultsPrefix,
          expiration: Duration.days(SCRATCH_RETENTION_DAYS),
        },
        { id: 'scratch-replay', prefix: HISTORY.replayPrefix, expiration: Duration.days(SCRATCH_RETENTION_DAYS) },
        { id: 'uploads', abortIncompleteMultipartUploadAfter: Duration.days(1) },
      ].filter((r) => Object.keys(r).some((k) => k !== 'id' && k !== 'prefix')),
    });

    // --- Glue table (the schema Firehose converts to, and what Athena reads) ---
    const database = new CfnDatabase(this, 'Database', {
      catalogId: Aws.ACCOUNT_ID,
      databaseInput: { name: names.historyDatabase, description: 'VisuTility Monitor metric history' },
    });
    const table = new CfnTable(this, 'Table', {
      catalogId: Aws.ACCOUNT_ID,
      databaseName: names.historyDatabase,
      tableInput: {
        name: names.historyTable,
        description: 'Every metric event the ingest function accepted (docs/history-replay.md)',
        tableType: 'EXTERNAL_TABLE',
        parameters: historyTableParameters(this.bucket.bucketName),
        partitionKeys: HISTORY.partitionColumns.map((c) => ({ name: c.name, type: c.type })),
        storageDescriptor: {
          location: `s3://${this.bucket.bucketName}/${HISTORY.eventsPrefix}`,
          columns: HISTORY.columns.map((c) => ({ name: c.name, type: c.type })),
          inputFormat: 'org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat',
          outputFormat: 'org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat',
          serdeInfo: { serializationLibrary: 'org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe' },
        },
      },
    });
    table.addResourceDependency(database);

    new CfnWorkGroup(this, 'Workgroup', {
      name: names.historyWorkgroup,
      description: 'Queries of the VisuTility Monitor metric history',
      recursiveDeleteOption: true,
      workGroupConfiguration: {
        enforceWorkGroupConfiguration: true,
        publishCloudWatchMetricsEnabled: true,
        bytesScannedCutoffPerQuery: ATHENA_BYTES_SCANNED_CUTOFF,
        resultConfiguration: {
          outputLocation: `s3://${this.bucket.bucketName}/${HISTORY.athenaResultsPrefix}`,
          encryptionConfiguration: { encryptionOption: 'SSE_S3' },
        },
      },
    });

    // --- Firehose ---
    const logGroup = new LogGroup(this, 'DeliveryLogs', {
      retention: RetentionDays.ONE_MONTH,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    const logStream = new LogStream(this, 'DeliveryLogStream', { logGroup, logStreamName: 'S3Delivery' });
    const role = new Role(this, 'DeliveryRole', {
      assumedBy: new ServicePrincipal('firehose.amazonaws.com', {
        conditions: { StringEquals: { 'sts:ExternalId': Aws.ACCOUNT_ID } },
      }),
      description: `Firehose delivery of the metric history (stage ${names.historyStream})`,
    });
    role.addToPrincipalPolicy(
      new PolicyStatement({
        actions: ['s3:AbortMultipartUpload', 's3:GetBucketLocation', 's3:ListBucket', 's3:ListBucketMultipartUploads'],
        resources: [this.bucket.bucketArn],
      }),
    );
    role.addToPrincipalPolicy(
      new PolicyStatement({
        actions: ['s3:AbortMultipartUpload', 's3:GetObject', 's3:PutObject'],
        resources: [
          this.bucket.arnForObjects(`${HISTORY.eventsPrefix}*`),
          this.bucket.arnForObjects(`${HISTORY.errorsPrefix}*`),
        ],
      }),
    );
    role.addToPrincipalPolicy(
      new PolicyStatement({
        actions: ['glue:GetTable', 'glue:GetTableVersion', 'glue:GetTableVersions'],
        resources: [
          stack.formatArn({ service: 'glue', resource: 'catalog' }),
          stack.formatArn({ service: 'glue', resource: 'database', resourceName: names.historyDatabase }),
          stack.formatArn({
            service: 'glue',
            resource: 'table',
            resourceName: `${names.historyDatabase}/${names.historyTable}`,
          }),
        ],
      }),
    );
    role.addToPrincipalPolicy(
      new PolicyStatement({ actions: ['logs:PutLogEvents'], resources: [logGroup.logGroupArn] }),
    );

    const columnKeys: Record<string, string> = {};
    for (const c of HISTORY.columns) columnKeys[c.name] = c.jsonKey;
    this.stream = new CfnDeliveryStream(this, 'Stream', {
      deliveryStreamName: names.historyStream,
      deliveryStreamType: 'DirectPut',
      deliveryStreamEncryptionConfigurationInput: { keyType: 'AWS_OWNED_CMK' },
      extendedS3DestinationConfiguration: {
        bucketArn: this.bucket.bucketArn,
        roleArn: role.roleArn,
        prefix: FIREHOSE_PREFIX,
        errorOutputPrefix: `${HISTORY.errorsPrefix}!{firehose:error-output-type}/!{timestamp:yyyy-MM-dd}/`,
        bufferingHints: { intervalInSeconds: HISTORY.bufferSeconds, sizeInMBs: HISTORY.bufferMiB },
        compressionFormat: 'UNCOMPRESSED', // Parquet is compressed (Snappy) by the conversion itself
        fileExtension: '.parquet',
        cloudWatchLoggingOptions: {
          enabled: true,
          logGroupName: logGroup.logGroupName,
          logStreamName: logStream.logStreamName,
        },
        dynamicPartitioningConfiguration: { enabled: true, retryOptions: { durationInSeconds: 300 } },
        processingConfiguration: {
          enabled: true,
          processors: [
            // A record holds many events (packed: Firehose bills each record in 5 KB steps).
            { type: 'RecordDeAggregation', parameters: [{ parameterName: 'SubRecordType', parameterValue: 'JSON' }] },
            {
              type: 'MetadataExtraction',
              parameters: [
                { parameterName: 'MetadataExtractionQuery', parameterValue: PARTITION_QUERY },
                { parameterName: 'JsonParsingEngine', parameterValue: 'JQ-1.6' },
              ],
            },
          ],
        },
        dataFormatConversionConfiguration: {
          enabled: true,
          inputFormatConfiguration: { deserializer: { openXJsonSerDe: { columnToJsonKeyMappings: columnKeys } } },
          outputFormatConfiguration: { serializer: { parquetSerDe: { compression: 'SNAPPY' } } },
          schemaConfiguration: {
            catalogId: Aws.ACCOUNT_ID,
            databaseName: names.historyDatabase,
            tableName: names.historyTable,
            region: Aws.REGION,
            roleArn: role.roleArn,
            versionId: 'LATEST',
          },
        },
      },
    });
    // The role's policy must be in place before Firehose checks its access (the role itself is a GetAtt already).
    this.stream.addResourceDependency(role.node.findChild('DefaultPolicy').node.defaultChild as CfnResource);
    this.stream.addResourceDependency(table);
    this.streamArn = this.stream.attrArn;

    Validations.of(this.bucket).acknowledge({
      id: 'AwsSolutions-S1',
      reason:
        'History objects are written by Firehose and read by Athena and replays under IAM; server access logs would add a log object per request. Use CloudTrail data events where an audit trail is needed.',
    });
    const bucketId = stack.getLogicalId(this.bucket.node.defaultChild as CfnBucket);
    for (const prefix of [HISTORY.eventsPrefix, HISTORY.errorsPrefix])
      Validations.of(role).acknowledge({
        id: `AwsSolutions-IAM5[Resource::<${bucketId}.Arn>/${prefix}*]`,
        reason: `Firehose writes objects under ${prefix}, whose keys (partition values, timestamps) are not known in advance.`,
      });

    this.replay = new DistributedReplay(this, 'Replay', {
      names,
      bucket: this.bucket,
      stage: props.stage,
      logLevel: props.logLevel,
      logRetentionDays: props.logRetentionDays,
    });

    new CfnOutput(stack, 'HistoryBucketName', { value: this.bucket.bucketName });
    new CfnOutput(stack, 'ReplayStateMachineArn', { value: this.replay.stateMachine.stateMachineArn });
    new CfnOutput(stack, 'HistoryStreamName', { value: names.historyStream });
    new CfnOutput(stack, 'HistoryDatabase', { value: names.historyDatabase });
    new CfnOutput(stack, 'HistoryWorkgroup', { value: names.historyWorkgroup });
  }

  /** Alarms: events dropped on the way in, delivery to S3 falling behind. */
  addAlarms(ops: MonitorOperations, streamName: string): void {
    ops.alarm('HistoryDroppedAlarm', {
      name: 'history-events-dropped',
      description:
        'Accepted events the ingest function could not hand to the history stream after retries: they are in the camera state but missing from the history (replays and Athena). See docs/history-replay.md.',
      metric: ops.metric(SERVICE.ingest, METRIC.historyDropped),
      threshold: 0,
    });
    ops.alarm('HistoryFreshnessAlarm', {
      name: 'history-delivery-behind',
      description: `The oldest record in the history stream is older than twice its ${HISTORY.bufferSeconds} s buffer: delivery to S3 is failing (see the stream's log group and the errors/ prefix).`,
      metric: new Metric({
        namespace: 'AWS/Firehose',
        metricName: 'DeliveryToS3.DataFreshness',
        dimensionsMap: { DeliveryStreamName: streamName },
        statistic: 'Maximum',
        period: Duration.minutes(5),
      }),
      threshold: 2 * HISTORY.bufferSeconds,
      evaluationPeriods: 3,
    });
  }

  /** What the ingest function needs: PutRecordBatch on this stream only. */
  putPermission(): PolicyStatement {
    return new PolicyStatement({ actions: ['firehose:PutRecordBatch'], resources: [this.streamArn] });
  }
}
