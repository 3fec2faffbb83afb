// Metric names, namespace and dimensions, written once: the functions emit them (EMF through
// Powertools) and the stack's alarms and dashboard read them. Data only, no AWS imports.
// Dimensions are bounded sets (service, stage, trigger type); a camera id never is one, since every
// distinct dimension value is a separately billed custom metric.

export const METRICS_NAMESPACE = 'VisuTilityMonitor';

/** Powertools service name per function: the `service` dimension and the `service` log key. */
export const SERVICE = {
  ingest: 'ingest',
  lifecycle: 'model-lifecycle',
  outboxSweep: 'outbox-sweep',
  replayWorker: 'replay-worker',
} as const;

export const DIMENSION = { service: 'service', stage: 'stage', triggerType: 'TriggerType' } as const;

export const METRIC = {
  /** Valid events taken from a batch. */
  eventsProcessed: 'EventsProcessed',
  /** Rejected parts sent to the dead-letter queue with their reason. */
  eventsRejected: 'EventsRejected',
  /** Events already in the camera's window (same id), skipped. */
  eventsDuplicate: 'EventsDuplicate',
  /** Events older than the window they belong to (late or too late to apply). */
  eventsLate: 'EventsLate',
  /** Events older than the policy's allowed lateness behind their stream's newest: counted, not applied. */
  eventsTooLate: 'EventsTooLate',
  /** Triggers published, one series per TriggerType dimension value. */
  triggers: 'Triggers',
  /** Conditional writes that found the camera's state changed by another writer. */
  stateConflicts: 'StateConflicts',
  /** Triggers that could not be published after retries (their records are retried via SQS). */
  publishFailures: 'PublishFailures',
  /** Cameras whose records were failed back to SQS in a batch. */
  cameraFailures: 'CameraFailures',
  /** Detector evaluations that threw; the event stays applied. */
  detectorErrors: 'DetectorErrors',
  /** Triggers a detector raised but the policy held back (cooldown, retrain in flight, ...). */
  triggersSuppressed: 'TriggersSuppressed',
  /** RetrainingCompleted / ModelDeployed events applied to a camera (model-lifecycle function). */
  lifecycleApplied: 'LifecycleEventsApplied',
  /** Lifecycle events rejected to the model-lifecycle dead-letter queue. */
  lifecycleRejected: 'LifecycleEventsRejected',
  /** Accepted events handed to the metric history (Firehose). */
  historyRecorded: 'HistoryEventsRecorded',
  /** Accepted events the history write gave up on after retries: missing from the history. */
  historyDropped: 'HistoryEventsDropped',
  /** Triggers the outbox sweep found unpublished past the grace period, and published. */
  outboxSwept: 'OutboxTriggersSwept',
} as const;

/** Environment the stack sets for Powertools; names are Powertools' own. */
export const POWERTOOLS_ENV = {
  serviceName: 'POWERTOOLS_SERVICE_NAME',
  metricsNamespace: 'POWERTOOLS_METRICS_NAMESPACE',
  logLevel: 'POWERTOOLS_LOG_LEVEL',
  tracerCaptureResponse: 'POWERTOOLS_TRACER_CAPTURE_RESPONSE',
  /** Ours: the `stage` metric dimension and log key. */
  stage: 'VMON_STAGE',
} as const;
