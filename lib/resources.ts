// Resource definitions written once: the CDK stack, the local runner and the tests all read these.
// No AWS SDK or CDK imports here, only data.
import { EVENT_SOURCE } from './core/trigger.js';

export { EVENT_SOURCE };

export interface ResourceNames {
  ingestQueue: string;
  deadLetterQueue: string;
  stateTable: string;
  eventBus: string;
  retrainingQueue: string;
  retrainingRule: string;
  tapQueue: string;
  tapRule: string;
  lifecycleQueue: string;
  lifecycleDeadLetterQueue: string;
  lifecycleRule: string;
  /** Where the bus rules put events they could not deliver to their targets after retries. */
  ruleDeadLetterQueue: string;
  eventArchive: string;
  alarmTopic: string;
  dashboard: string;
  /** Prefix of every alarm name. */
  alarmPrefix: string;
  outboxSweepRule: string;
  /** Metric history (docs/history-replay.md): Firehose stream, Glue database and table, Athena workgroup. */
  historyStream: string;
  historyDatabase: string;
  historyTable: string;
  historyWorkgroup: string;
  /** The distributed replay's state machine. */
  replayStateMachine: string;

  /** Optional training-pipeline targets (CDK context): a rule per target on the monitor bus, and its DLQ. */
  sageMakerPipelineRule: string;
  sageMakerPipelineDeadLetterQueue: string;
  stateMachineRule: string;
  stateMachineDeadLetterQueue: string;
  /** Rules on the account's default bus (where SageMaker publishes) feeding the lifecycle queue. */
  sageMakerExecutionRule: string;
  sageMakerModelPackageRule: string;
}

/** Physical names for one stage, e.g. `visutility-dev-ingest`. */
export function resourceNames(stage: string): ResourceNames {
  const p = `visutility-${stage}`;
  return {
    ingestQueue: `${p}-ingest`,
    deadLetterQueue: `${p}-ingest-dlq`,
    stateTable: `${p}-state`,
    eventBus: `${p}-bus`,
    retrainingQueue: `${p}-retraining-requests`,
    retrainingRule: `${p}-retraining-requested`,
    tapQueue: `${p}-tap`,
    tapRule: `${p}-tap-all`,
    lifecycleQueue: `${p}-model-lifecycle`,
    lifecycleDeadLetterQueue: `${p}-model-lifecycle-dlq`,
    lifecycleRule: `${p}-model-lifecycle`,
    outboxSweepRule: `${p}-outbox-sweep`,
    sageMakerPipelineRule: `${p}-start-sagemaker-pipeline`,
    sageMakerPipelineDeadLetterQueue: `${p}-sagemaker-pipeline-dlq`,
    stateMachineRule: `${p}-start-state-machine`,
    stateMachineDeadLetterQueue: `${p}-state-machine-dlq`,
    sageMakerExecutionRule: `${p}-sagemaker-execution-succeeded`,
    sageMakerModelPackageRule: `${p}-sagemaker-model-approved`,
    ruleDeadLetterQueue: `${p}-rule-dlq`,
    eventArchive: `${p}-events`,
    alarmTopic: `${p}-alarms`,
    dashboard: `${p}-monitor`,
    alarmPrefix: `${p}-`,
    historyStream: `${p}-history`,
    // Glue and Athena names: letters, digits and underscores (a hyphen needs quoting in SQL).
    historyDatabase: `visutility_${stage.replace(/-/g, '_')}`,
    historyTable: 'history',
    historyWorkgroup: `${p}-history`,
    replayStateMachine: `${p}-replay`,
  };
}

/** The local stack's history bucket (deployed stacks let CloudFormation name it: bucket names are global). */
export const localHistoryBucket = (stage: string) => `visutility-${stage}-history`;

/**
 * Metric history layout (docs/history-replay.md), shared by the stack (Firehose prefix, Glue table), the
 * ingest adapter (packed JSON records), the local delivery and the history reader.
 * Objects: `events/camera_bucket=07/dt=YYYY-MM-DD/modality=Rgb/model_version=det-v3/<name>.parquet`,
 * Hive-style, so Athena prunes on each and a reader lists only the prefixes it needs. The camera bucket
 * (shardOf(camera_id, cameraBuckets)) lets a replay worker read only its cameras: a camera's replay
 * needs all its events in one place.
 */
export const HISTORY = {
  eventsPrefix: 'events/',
  /** Records Firehose could not convert or partition, with its error type in the key. */
  errorsPrefix: 'errors/',
  /** Locally only: what moto's Firehose delivers as is (it neither converts nor partitions). */
  incomingPrefix: 'incoming/',
  athenaResultsPrefix: 'athena-results/',
  /** The distributed replay's manifests and results. */
  replayPrefix: 'replay/',
  /** The replay worker Lambda: memory (more memory, more CPU for the shard step) and timeout. */
  replayWorkerMemoryMb: 2048,
  replayWorkerTimeoutSeconds: 900,
  /**
   * Camera buckets. Firehose's dynamic partitioning holds at most 500 partitions open at once by default
   * (a quota): buckets × model versions × dates in flight (2 around midnight) must stay below it.
   */
  cameraBuckets: 16,
  /** Partition value for events without a model_version. */
  noModelVersion: '__none__',
  /**
   * Parquet columns: name, Glue type, key in the packed JSON record (short keys: Firehose bills the
   * bytes sent). The partition columns are not stored in the objects, only in their keys.
   */
  columns: [
    { name: 'id', type: 'string', jsonKey: 'i' },
    { name: 'ts', type: 'bigint', jsonKey: 't' },
    { name: 'camera_id', type: 'string', jsonKey: 'c' },
    { name: 'metric', type: 'string', jsonKey: 'm' },
    { name: 'value', type: 'double', jsonKey: 'v' },
    { name: 'sample_count', type: 'int', jsonKey: 'n' },
  ],
  partitionColumns: [
    { name: 'camera_bucket', type: 'string', jsonKey: 'b' },
    { name: 'dt', type: 'string', jsonKey: 'd' },
    { name: 'modality', type: 'string', jsonKey: 'o' },
    { name: 'model_version', type: 'string', jsonKey: 'mv' },
  ],
  /** Firehose: a record is billed in 5 KB steps and holds at most 1,000 KiB; a call takes 500 records, 4 MiB. */
  billedRecordBytes: 5 * 1024,
  maxRecordBytes: 1000 * 1024,
  maxBatchRecords: 500,
  maxBatchBytes: 4 * 1024 * 1024,
  /** Tries of PutRecordBatch for records Firehose refused (throttling, service errors), then counted dropped. */
  putAttempts: 3,
  /** Firehose buffering: the largest (fewest, largest objects; dynamic partitioning needs ≥ 64 MiB). */
  bufferSeconds: 900,
  bufferMiB: 128,
  /** Defaults of the CDK context keys history, historyRetentionDays, historyColdAfterDays. */
  retentionDays: 365,
  /** After this many days objects move to S3 Glacier Instant Retrieval (Athena and GetObject still read them). */
  coldAfterDays: 30,
} as const;

/** State table: one item per camera, partition key = `camera#<camera_id>`. */
export const STATE_TABLE = {
  partitionKey: { name: 'pk', type: 'S' as const },
  /** Attribute names of a camera item. */
  attributes: { version: 'v', streams: 'w', rest: 's', restDeflated: 'z', updatedAt: 'u' },
  cameraKey: (cameraId: string) => `camera#${cameraId}`,
  /** One item holds every scoped policy, so a change is one conditional write and never half-applied. */
  policiesKey: 'policies',
  policyAttributes: { version: 'v', policies: 'p', updatedAt: 'u' },
  /**
   * Sparse index of camera items whose outbox holds unpublished triggers (attribute `ob` is set only
   * then), by last update: the outbox sweeper finds them without scanning the table.
   */
  pendingOutboxIndex: {
    name: 'pending-outbox',
    partitionKey: { name: 'ob', type: 'S' as const },
    sortKey: { name: 'u', type: 'N' as const },
    value: 'pending',
  },
};

/**
 * Cohort items in the state table (docs/fleet-decisions.md): a head per cohort and `shards` shard items
 * holding one member record per camera. More shards: smaller shard items (cheaper writes: a write costs
 * the item's size), more reads when a decision is near.
 */
export const COHORT = {
  shards: 128,
  headPrefix: 'cohort#',
  shardPrefix: 'cohort-shard#',
  headKey: (modality: string, modelVersion: string) => `cohort#${modality}#${modelVersion}`,
  shardKey: (modality: string, modelVersion: string, shard: number) =>
    `cohort-shard#${modality}#${shard}#${modelVersion}`,
  /** How long a container reuses a cohort's reset epoch (s). */
  epochCacheSeconds: 30,
};

/** The sweeper publishes outboxes left pending longer than `graceSeconds` (a crashed or parked invocation). */
export const OUTBOX_SWEEP = { everyMinutes: 5, graceSeconds: 120, maxCamerasPerRun: 500 };

export const INGEST = {
  /** Lambda timeout; the queue's visibility timeout is 6× this, as AWS advises for SQS sources. */
  functionTimeoutSeconds: 30,
  visibilityTimeoutSeconds: 180,
  maxReceiveCount: 5,
  // Reviewed with per-camera packing (docs/fleet-cost.md): a camera sends one message per linger,
  // so batch size and window only set invocations per event; the publisher's linger sets the writes.
  batchSize: 100,
  maxBatchingWindowSeconds: 1,
  retentionDays: 4,
  deadLetterRetentionDays: 14,
};

/** Message attributes set on everything the monitor itself dead-letters. */
export const DEAD_LETTER_ATTRIBUTES = {
  reason: 'vmon-reason',
  sourceMessageId: 'vmon-source-message-id',
  index: 'vmon-index',
  rejectedAt: 'vmon-rejected-at',
  /** 'base64' when the rejected bytes held characters SQS refuses in a body; 'gzip+base64' when they would not fit otherwise. */
  encoding: 'vmon-encoding',
};

export const RETRAINING_PATTERN = { source: [EVENT_SOURCE], 'detail-type': ['RetrainingRequested'] };
/** The training pipeline's reports that close the loop (any source, on the monitor's bus). */
export const LIFECYCLE_DETAIL_TYPES = ['RetrainingCompleted', 'ModelDeployed'] as const;
export const LIFECYCLE_PATTERN = { 'detail-type': [...LIFECYCLE_DETAIL_TYPES] };

/**
 * Which events start a training-pipeline target by default: model-scope retraining decisions (one
 * per cohort, not one per camera). Configurable per target (stack-config.ts).
 */
export const PIPELINE_TARGET_DEFAULTS = { detailTypes: ['RetrainingRequested'], scopes: ['model'] } as const;

/**
 * How EventBridge retries starting a pipeline. Shorter than the queue targets' 24 h: a start that
 * fails for an hour (missing pipeline parameter, denied role) should reach the DLQ and its alarm soon.
 */
export const PIPELINE_TARGET_RETRY = { attempts: 8, maxEventAgeSeconds: 3600 };

/** The pattern of a training-pipeline target's rule on the monitor bus. */
export const pipelineTargetPattern = (detailTypes: readonly string[], scopes: readonly string[]) => ({
  source: [EVENT_SOURCE],
  'detail-type': [...detailTypes],
  detail: { scope: [...scopes] },
});

/**
 * The parameters a SageMaker pipeline target starts an execution with: name → JSON path in the
 * trigger event. Every path exists in every published action trigger (publishedDetail fills
 * fallbacks); CameraId only for camera scope, DatasetLocator only with a locator template.
 * The pipeline must declare each as a String parameter. docs/training-pipelines.md has the table.
 */
export const SAGEMAKER_PIPELINE_PARAMETERS = {
  TriggerId: '$.detail.triggerId',
  DetailType: '$.detail-type',
  Scope: '$.detail.scope',
  ModelVersion: '$.detail.referenceWindow.modelVersion',
  Modality: '$.detail.modality',
  CameraId: '$.detail.cameraId',
  WindowFrom: '$.detail.currentWindow.from',
  WindowTo: '$.detail.currentWindow.to',
  ReferenceFrom: '$.detail.referenceWindow.from',
  ReferenceTo: '$.detail.referenceWindow.to',
  DatasetLocator: '$.detail.datasetLocator',
} as const;
export type SageMakerPipelineParameter = keyof typeof SAGEMAKER_PIPELINE_PARAMETERS;

/** The parameter list for one scope of a SageMaker target. */
export function sageMakerParameterList(
  scope: string,
  withDatasetLocator: boolean,
): { name: SageMakerPipelineParameter; path: string }[] {
  return Object.entries(SAGEMAKER_PIPELINE_PARAMETERS)
    .filter(
      ([name]) => (name !== 'CameraId' || scope === 'camera') && (name !== 'DatasetLocator' || withDatasetLocator),
    )
    .map(([name, path]) => ({ name: name as SageMakerPipelineParameter, path }));
}

/** SageMaker's own events (on the account's default bus) that close the loop without glue. */
export const SAGEMAKER_EVENTS = {
  source: 'aws.sagemaker',
  pipelineExecution: 'SageMaker Model Building Pipeline Execution Status Change',
  modelPackage: 'SageMaker Model Package State Change',
} as const;

/** Succeeded executions of the configured pipeline → RetrainingCompleted. */
export const sageMakerExecutionPattern = (pipelineArn: string) => ({
  source: [SAGEMAKER_EVENTS.source],
  'detail-type': [SAGEMAKER_EVENTS.pipelineExecution],
  detail: { currentPipelineExecutionStatus: ['Succeeded'], pipelineArn: [pipelineArn] },
});

/** Approved model packages registered by an execution of the configured pipeline → ModelDeployed. */
export const sageMakerModelPackagePattern = (pipelineArn: string) => ({
  source: [SAGEMAKER_EVENTS.source],
  'detail-type': [SAGEMAKER_EVENTS.modelPackage],
  detail: {
    ModelApprovalStatus: ['Approved'],
    MetadataProperties: { GeneratedBy: [{ prefix: `${pipelineArn}/execution/` }] },
  },
});

/** Catch-all: every event the monitor publishes. */
export const TAP_PATTERN = { source: [EVENT_SOURCE] };

/** Environment keys of the ingest function. */
export const ENV = {
  tableName: 'STATE_TABLE_NAME',
  eventBusName: 'EVENT_BUS_NAME',
  deadLetterQueueUrl: 'DEAD_LETTER_QUEUE_URL',
  lifecycleDeadLetterQueueUrl: 'LIFECYCLE_DEAD_LETTER_QUEUE_URL',
  /** JSON policy used when the table holds no fleet policy (the stack's `defaultPolicy` context). */
  defaultPolicy: 'DEFAULT_POLICY',
  /** How long a container reuses the policies it read (s); a change is seen within this. */
  policyCacheSeconds: 'POLICY_CACHE_SECONDS',
  /** The stack's datasetLocatorTemplate: the publisher fills each trigger's datasetLocator from it. */
  datasetLocatorTemplate: 'DATASET_LOCATOR_TEMPLATE',
  /** The replay worker's bucket (the history bucket: run documents under HISTORY.replayPrefix). */
  replayBucket: 'REPLAY_BUCKET',
  /** The history's Firehose stream; unset when the stack keeps no history. */
  historyStreamName: 'HISTORY_STREAM_NAME',
  /**
   * 'true': the Powertools Tracer (X-Ray SDK) records a subsegment per SDK call (the stack's
   * `sdkTracing` context). In a bundle its value is fixed when the bundle is built (FUNCTION_BUNDLING.define).
   */
  sdkTracing: 'VMON_SDK_TRACING',
} as const;

export const POLICY_CACHE_SECONDS = 30;

/**
 * How every function is bundled (esbuild through NodejsFunction, and the bench the same way).
 * The AWS SDK v3 is left to the copy in the nodejs24.x runtime, as NodejsFunction does by default.
 */
export const FUNCTION_BUNDLING = {
  format: 'esm',
  target: 'node24',
  minify: true,
  sourceMap: false,
  externalModules: ['@aws-sdk/*'],
  banner: "import { createRequire } from 'module';const require = createRequire(import.meta.url);",
  /**
   * esbuild `define`: the bundle is built for the stack's `sdkTracing` setting, so with it off (the
   * default) the X-Ray SDK is not in the bundle at all, neither evaluated nor even parsed at init.
   */
  define: (sdkTracing: boolean) => ({ [`process.env.${ENV.sdkTracing}`]: JSON.stringify(String(sdkTracing)) }),
} as const;
