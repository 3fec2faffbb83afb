// Covers the metric history's resources in the CDK stack (lib/stack/history.ts): the Firehose stream
// (dynamic partitioning by the events' own date / modality / model version, de-aggregation of packed
// records, Parquet conversion against the Glue table with the short JSON keys), the Glue table (columns,
// partition projection, location), the Athena workgroup (enforced results location, scan cutoff),
// the bucket's lifecycle from context, the Firehose role's and ingest function's scoped permissions,
// the alarms, and the context keys history / historyRetentionDays / historyColdAfterDays, including
// history=false deploying none of it and giving the ingest function no stream.
import { App } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { ENV, HISTORY, resourceNames } from '../../lib/resources.js';
import { ATHENA_BYTES_SCANNED_CUTOFF, FIREHOSE_PREFIX, PARTITION_QUERY } from '../../lib/stack/history.js';
import { MonitorStack } from '../../lib/stack/monitor-stack.js';
import { defaultStackConfig, parseStackConfig, type StackConfigError } from '../../lib/stack/stack-config.js';

const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
const stackOf = (id: string, config: Partial<ReturnType<typeof defaultStackConfig>>) =>
  new MonitorStack(app, id, { config: { ...defaultStackConfig(), ...config } });
// Every stack first, then the templates: synthesis freezes the app.
const stacks = [
  stackOf('On', { stage: 'test' }),
  stackOf('Tuned', { stage: 'tuned', historyRetentionDays: 0, historyColdAfterDays: 0 }),
  stackOf('Off', { stage: 'off', history: false }),
];
const [on, tuned, off] = stacks.map((s) => Template.fromStack(s)) as [Template, Template, Template];
const names = resourceNames('test');

const ingestFunction = (t: Template) =>
  Object.entries(t.findResources('AWS::Lambda::Function')).find(([id]) => id.startsWith('IngestFunction'))![1]
    .Properties;
const ingestStatements = (t: Template) =>
  Object.entries(t.findResources('AWS::IAM::Policy'))
    .filter(([id]) => id.startsWith('IngestRole'))
    .flatMap(([, p]) => p.Properties.PolicyDocument.Statement as { Action: string | string[]; Resource: unknown }[]);

describe('metric history resources', () => {
  it('delivers through Firehose: de-aggregated, partitioned by the events, converted to Parquet', () => {
    on.hasResourceProperties('AWS::KinesisFirehose::DeliveryStream', {
      DeliveryStreamName: names.historyStream,
      DeliveryStreamType: 'DirectPut',
      DeliveryStreamEncryptionConfigurationInput: { KeyType: 'AWS_OWNED_CMK' },
      ExtendedS3DestinationConfiguration: Match.objectLike({
        Prefix: FIREHOSE_PREFIX,
        ErrorOutputPrefix: Match.stringLikeRegexp('^errors/'),
        BufferingHints: { IntervalInSeconds: 900, SizeInMBs: 128 },
        CompressionFormat: 'UNCOMPRESSED',
        DynamicPartitioningConfiguration: { Enabled: true, RetryOptions: { DurationInSeconds: 300 } },
        ProcessingConfiguration: {
          Enabled: true,
          Processors: [
            { Type: 'RecordDeAggregation', Parameters: [{ ParameterName: 'SubRecordType', ParameterValue: 'JSON' }] },
            {
              Type: 'MetadataExtraction',
              Parameters: [
                { ParameterName: 'MetadataExtractionQuery', ParameterValue: PARTITION_QUERY },
                { ParameterName: 'JsonParsingEngine', ParameterValue: 'JQ-1.6' },
              ],
            },
          ],
        },
        DataFormatConversionConfiguration: Match.objectLike({
          Enabled: true,
          InputFormatConfiguration: {
            Deserializer: {
              OpenXJsonSerDe: {
                ColumnToJsonKeyMappings: Object.fromEntries(HISTORY.columns.map((c) => [c.name, c.jsonKey])),
              },
            },
          },
          OutputFormatConfiguration: { Serializer: { ParquetSerDe: { Compression: 'SNAPPY' } } },
          SchemaConfiguration: Match.objectLike({ DatabaseName: names.historyDatabase, TableName: 'history' }),
        }),
      }),
    });
    expect(FIREHOSE_PREFIX).toBe(
      'events/camera_bucket=!{partitionKeyFromQuery:camera_bucket}/dt=!{partitionKeyFromQuery:dt}/modality=!{partitionKeyFromQuery:modality}/model_version=!{partitionKeyFromQuery:model_version}/',
    );
    expect(PARTITION_QUERY).toBe('{camera_bucket:.b,dt:.d,modality:.o,model_version:.mv}');
  });

  it('has a Glue table Athena can query without registering partitions', () => {
    on.hasResourceProperties('AWS::Glue::Database', { DatabaseInput: { Name: names.historyDatabase } });
    const table = Object.values(on.findResources('AWS::Glue::Table'))[0]!.Properties.TableInput;
    expect(table.Name).toBe('history');
    expect(table.StorageDescriptor.Columns).toEqual(HISTORY.columns.map((c) => ({ Name: c.name, Type: c.type })));
    expect(table.PartitionKeys).toEqual([
      { Name: 'camera_bucket', Type: 'string' },
      { Name: 'dt', Type: 'string' },
      { Name: 'modality', Type: 'string' },
      { Name: 'model_version', Type: 'string' },
    ]);
    expect(table.StorageDescriptor.SerdeInfo.SerializationLibrary).toMatch(/ParquetHiveSerDe$/);
    expect(table.Parameters).toMatchObject({
      'projection.enabled': 'true',
      'projection.dt.type': 'date',
      'projection.camera_bucket.range': `0,${HISTORY.cameraBuckets - 1}`,
      'projection.modality.values': 'Rgb,Thermal,Depth',
      'projection.model_version.type': 'injected',
    });
    const placeholders = HISTORY.partitionColumns.map((c) => `${c.name}=\${${c.name}}`).join('/');
    expect(JSON.stringify(table.Parameters['storage.location.template'])).toContain(`/events/${placeholders}/`);
  });

  it('has an Athena workgroup with its results in the bucket and a scan cutoff', () => {
    on.hasResourceProperties('AWS::Athena::WorkGroup', {
      Name: names.historyWorkgroup,
      WorkGroupConfiguration: Match.objectLike({
        EnforceWorkGroupConfiguration: true,
        BytesScannedCutoffPerQuery: ATHENA_BYTES_SCANNED_CUTOFF,
        ResultConfiguration: Match.objectLike({ EncryptionConfiguration: { EncryptionOption: 'SSE_S3' } }),
      }),
    });
  });

  it('keeps the events a year, in Glacier Instant Retrieval after 30 days, by default; as configured otherwise', () => {
    const rules = (t: Template) =>
      (
        Object.values(t.findResources('AWS::S3::Bucket'))[0]!.Properties.LifecycleConfiguration.Rules as {
          Id: string;
          ExpirationInDays?: number;
          Transitions?: { StorageClass: string; TransitionInDays: number }[];
        }[]
      ).find((r) => r.Id === 'events')!;
    expect(rules(on)).toMatchObject({
      ExpirationInDays: 365,
      Transitions: [{ StorageClass: 'GLACIER_IR', TransitionInDays: 30 }],
    });
    expect(rules(tuned)).toBeUndefined(); // kept forever, in S3 Standard
    on.hasResourceProperties('AWS::S3::Bucket', {
      BucketEncryption: Match.anyValue(),
      PublicAccessBlockConfiguration: {
        BlockPublicAcls: true,
        BlockPublicPolicy: true,
        IgnorePublicAcls: true,
        RestrictPublicBuckets: true,
      },
    });
  });

  it('lets the ingest function put records on this stream only, and tells it the stream', () => {
    expect(ingestFunction(on).Environment.Variables[ENV.historyStreamName]).toBe(names.historyStream);
    const put = ingestStatements(on).filter((s) => [s.Action].flat().includes('firehose:PutRecordBatch'));
    expect(put).toHaveLength(1);
    expect(put[0]!.Action).toBe('firehose:PutRecordBatch');
    expect(put[0]!.Resource).toEqual({ 'Fn::GetAtt': [expect.stringMatching(/^HistoryStream/), 'Arn'] });
  });

  it("scopes Firehose's role to the bucket's prefixes and the one table", () => {
    const [, policy] = Object.entries(on.findResources('AWS::IAM::Policy')).find(([id]) =>
      id.startsWith('HistoryDeliveryRole'),
    )!;
    const text = JSON.stringify(policy.Properties.PolicyDocument);
    expect(text).toContain('/events/*');
    expect(text).toContain('/errors/*');
    expect(text).toContain(`:table/${names.historyDatabase}/history`);
    expect(text).not.toMatch(/"Resource":"\*"/);
  });

  it('alarms on dropped history events and on delivery falling behind', () => {
    on.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: `${names.alarmPrefix}history-events-dropped`,
      MetricName: 'HistoryEventsDropped',
      Threshold: 0,
    });
    on.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: `${names.alarmPrefix}history-delivery-behind`,
      MetricName: 'DeliveryToS3.DataFreshness',
    });
  });

  it('deploys the replay state machine with the worker Lambda as its task, and that worker scoped to the bucket', () => {
    const [, machine] = Object.entries(on.findResources('AWS::StepFunctions::StateMachine')).find(([id]) =>
      id.startsWith('HistoryReplayStateMachine'),
    )!;
    expect(machine.Properties.StateMachineName).toBe(names.replayStateMachine);
    expect(machine.Properties.TracingConfiguration).toEqual({ Enabled: true });
    const definition = JSON.stringify(machine.Properties.DefinitionString);
    expect(definition).toContain('DISTRIBUTED');
    expect(definition).toContain('arn:aws:states:::s3:getObject');
    expect(definition).toContain('HistoryReplayWorkerFunction');
    const worker = Object.entries(on.findResources('AWS::Lambda::Function')).find(([id]) =>
      id.startsWith('HistoryReplayWorkerFunction'),
    )![1].Properties;
    expect(worker).toMatchObject({
      MemorySize: HISTORY.replayWorkerMemoryMb,
      Timeout: HISTORY.replayWorkerTimeoutSeconds,
    });
    expect(worker.Environment.Variables[ENV.replayBucket]).toEqual({ Ref: expect.stringMatching(/^HistoryBucket/) });
    const policies = Object.entries(on.findResources('AWS::IAM::Policy'));
    const text = (prefix: string) =>
      JSON.stringify(policies.filter(([id]) => id.startsWith(prefix)).map(([, p]) => p.Properties.PolicyDocument));
    expect(text('HistoryReplayWorkerRole')).toContain('/replay/*');
    expect(text('HistoryReplayWorkerRole')).not.toContain('s3:DeleteObject');
    for (const action of ['lambda:InvokeFunction', 'states:StartExecution', 'states:DescribeExecution'])
      expect(text('HistoryReplayStateMachineRole')).toContain(action);
  });

  it('deploys none of it with history=false, and the ingest function writes no history', () => {
    for (const type of [
      'AWS::KinesisFirehose::DeliveryStream',
      'AWS::Glue::Table',
      'AWS::Glue::Database',
      'AWS::Athena::WorkGroup',
      'AWS::S3::Bucket',
      'AWS::StepFunctions::StateMachine',
    ])
      off.resourceCountIs(type, 0);
    expect(ingestFunction(off).Environment.Variables[ENV.historyStreamName]).toBeUndefined();
    expect(JSON.stringify(ingestStatements(off))).not.toContain('firehose');
  });
});

describe('history context keys', () => {
  const parse = (ctx: Record<string, unknown>) => parseStackConfig((k) => ctx[k]);
  const problems = (ctx: Record<string, unknown>) => {
    try {
      parse(ctx);
      return [];
    } catch (err) {
      return (err as StackConfigError).problems;
    }
  };

  it('reads them from -c strings and cdk.json values', () => {
    expect(defaultStackConfig()).toMatchObject({ history: true, historyRetentionDays: 365, historyColdAfterDays: 30 });
    expect(parse({ history: 'false' }).history).toBe(false);
    expect(parse({ history: false }).history).toBe(false);
    expect(parse({ historyRetentionDays: '730', historyColdAfterDays: 0 })).toMatchObject({
      historyRetentionDays: 730,
      historyColdAfterDays: 0,
    });
  });

  it('names what is wrong', () => {
    expect(problems({ history: 'no' })).toEqual(['history: must be true or false, got "no"']);
    expect(problems({ historyRetentionDays: 30, historyColdAfterDays: 30 })).toEqual([
      'historyColdAfterDays: must be below historyRetentionDays (30) or 0, got 30',
    ]);
    expect(problems({ history: 'false', historyRetentionDays: 400 })).toEqual([
      'historyRetentionDays: applies only with history=true',
    ]);
    expect(problems({ historyRetentionDays: -1 })[0]).toMatch(/^historyRetentionDays: must be an integer from 0/);
  });
});
