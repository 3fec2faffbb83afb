// Powertools for AWS Lambda wiring: structured logs (cameraId / messageId / triggerId keys), EMF
// metrics with bounded dimensions (never a camera id), and, when the stack turns SDK tracing on, X-Ray
// subsegments for the SDK clients. Lambda active tracing records each invocation without any SDK in
// the function; the Powertools Tracer (the X-Ray SDK) is loaded only when ENV.sdkTracing is 'true'.
// Outside Lambda it stays quiet and harmless: the tracer disables itself (no X-Ray daemon needed),
// metrics are only printed when a namespace is configured, and logs default to ERROR.
import { createRequire as requireFrom } from 'node:module';
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import type { Tracer } from '@aws-lambda-powertools/tracer';
import type { Context } from 'aws-lambda';
import type { BatchResult } from '../app/ingest-batch.js';
import type { SweepResult } from '../app/outbox-sweep.js';
import type { LifecycleResult } from '../app/model-lifecycle.js';
import type { Trigger } from '../core/trigger.js';
import { ENV } from '../resources.js';
import { DIMENSION, METRIC, POWERTOOLS_ENV } from '../telemetry.js';
import { DeadLetterQueue } from './dead-letter.js';
import type { DeadLetter } from '../app/ports.js';
import { TriggerPublisher, TriggerPublishError } from './trigger-publisher.js';

export interface Observability {
  logger: Logger;
  metrics: Metrics;
  /** The Powertools Tracer when SDK tracing is on; undefined (and the X-Ray SDK not loaded) when off. */
  tracer?: Tracer;
  /** False when no metrics namespace is configured (local runs): stored metrics are dropped, not printed. */
  metricsEnabled: boolean;
}

const LOG_LEVELS = ['DEBUG', 'INFO', 'WARN', 'ERROR', 'CRITICAL', 'SILENT'] as const;
type LogLevel = (typeof LOG_LEVELS)[number];

/**
 * The Powertools Tracer, loaded on demand. Its CommonJS build through `require`: in a function bundle
 * that is esbuild's own require of a bundled module, evaluated only here (an ESM import would put the
 * tracer's `node:http` import at the top of the bundle, whose ESM facade alone costs ~10 ms of init).
 * Unbundled (tsx, vitest) Node's require loads the same build. `process.env.VMON_SDK_TRACING` is
 * written out (ENV.sdkTracing) because a bundle has it replaced by the stack's setting
 * (FUNCTION_BUNDLING.define): built with tracing off, esbuild drops this require and the X-Ray SDK
 * is not in the bundle at all.
 */
function loadTracer(): typeof import('@aws-lambda-powertools/tracer') | undefined {
  return process.env.VMON_SDK_TRACING === 'true'
    ? typeof require === 'function'
      ? require('@aws-lambda-powertools/tracer')
      : requireFrom(import.meta.url)('@aws-lambda-powertools/tracer')
    : undefined;
}

/** Whether SDK calls are traced: the stack's `sdkTracing` (off by default). */
export function sdkTracingEnabled(env: NodeJS.ProcessEnv = process.env): boolean {
  return env[ENV.sdkTracing] === 'true';
}

/** Builds the Powertools utilities for one function from its environment. */
export function createObservability(serviceName: string, env: NodeJS.ProcessEnv = process.env): Observability {
  const inLambda = Boolean(env.AWS_LAMBDA_FUNCTION_NAME);
  const namespace = env[POWERTOOLS_ENV.metricsNamespace];
  const stage = env[POWERTOOLS_ENV.stage];
  const configuredLevel = (env[POWERTOOLS_ENV.logLevel] ?? env.LOG_LEVEL)?.toUpperCase();
  // Local runs (tests, demo, benchmarks) push thousands of batches: only errors unless asked for more.
  const logLevel: LogLevel = LOG_LEVELS.includes(configuredLevel as LogLevel)
    ? (configuredLevel as LogLevel)
    : inLambda
      ? 'INFO'
      : 'ERROR';
  const logger = new Logger({ serviceName, logLevel, ...(stage ? { persistentKeys: { stage } } : {}) });
  const tracerModule = sdkTracingEnabled(env) ? loadTracer() : undefined;
  if (sdkTracingEnabled(env) && !tracerModule)
    logger.warn(
      `${ENV.sdkTracing}=true, but this bundle was built without SDK tracing (deploy with -c sdkTracing=true)`,
    );
  return {
    logger,
    metrics: new Metrics({
      serviceName,
      ...(namespace ? { namespace } : {}),
      ...(stage ? { defaultDimensions: { [DIMENSION.stage]: stage } } : {}),
    }),
    ...(tracerModule ? { tracer: new tracerModule.Tracer({ serviceName }) } : {}),
    metricsEnabled: Boolean(namespace),
  };
}

/**
 * Runs one invocation: Lambda context on the logs, a `## handler` trace subsegment with the cold-start
 * and service annotations (SDK tracing on), the cold-start metric, and a metrics flush whatever happens.
 */
export async function instrumented<T>(
  obs: Observability,
  context: Context | undefined,
  run: () => Promise<T>,
): Promise<T> {
  const { logger, metrics, tracer } = obs;
  if (context) logger.addContext(context);
  const segment = tracer?.isTracingEnabled() ? tracer.getSegment() : undefined;
  const subsegment = segment?.addNewSubsegment('## handler');
  if (tracer && subsegment) {
    tracer.setSegment(subsegment);
    tracer.annotateColdStart();
    tracer.addServiceNameAnnotation();
  }
  if (obs.metricsEnabled) metrics.captureColdStartMetric(context?.functionName);
  try {
    return await run();
  } catch (err) {
    logger.error('invocation failed; the whole batch returns to the queue', err as Error);
    if (subsegment) tracer?.addErrorAsMetadata(err as Error);
    throw err;
  } finally {
    subsegment?.close();
    if (subsegment && segment) tracer?.setSegment(segment);
    if (obs.metricsEnabled) metrics.publishStoredMetrics();
    else metrics.clearMetrics();
    logger.resetKeys();
  }
}

/** Patches an SDK v3 client so each call is a trace subsegment (a no-op when SDK tracing is off). */
export function traced<C extends object>(obs: Observability, client: C): C {
  return obs.tracer ? obs.tracer.captureAWSv3Client(client) : client;
}

/** A TriggerPublisher that logs each trigger by triggerId and counts those that failed to publish. */
export class ObservedTriggerPublisher extends TriggerPublisher {
  /** Triggers that failed after every retry since the last takeFailures(). */
  private failures = 0;

  constructor(
    private readonly logger: Logger,
    ...args: ConstructorParameters<typeof TriggerPublisher>
  ) {
    super(...args);
  }

  override async publish(triggers: readonly Trigger[]): Promise<void> {
    try {
      await super.publish(triggers);
    } catch (err) {
      if (err instanceof TriggerPublishError) {
        this.failures += err.failed.length;
        for (const f of err.failed) {
          this.logger.error("trigger not published; the camera's records return to the queue", {
            triggerId: f.trigger.detail.triggerId,
            cameraId: f.trigger.detail.cameraId,
            triggerType: f.trigger.detailType,
            errorCode: f.code,
          });
        }
      }
      throw err;
    }
    for (const t of triggers) {
      this.logger.info('trigger published', {
        triggerId: t.detail.triggerId,
        cameraId: t.detail.cameraId,
        triggerType: t.detailType,
        detector: t.detail.detector,
      });
    }
  }

  takeFailures(): number {
    const n = this.failures;
    this.failures = 0;
    return n;
  }
}

/** A DeadLetterQueue that logs each rejected part by its source messageId, with the reason. */
export class ObservedDeadLetterQueue extends DeadLetterQueue {
  constructor(
    private readonly logger: Logger,
    ...args: ConstructorParameters<typeof DeadLetterQueue>
  ) {
    super(...args);
  }

  override async send(letters: readonly DeadLetter[], nowMs: number): Promise<Set<string>> {
    for (const l of letters)
      this.logger.warn('input rejected to the dead-letter queue', {
        messageId: l.sourceMessageId,
        index: l.rejection.index,
        reason: l.rejection.reason,
      });
    const unsent = await super.send(letters, nowMs);
    for (const messageId of unsent)
      this.logger.error('rejected input could not be dead-lettered; the message returns to the queue', { messageId });
    return unsent;
  }
}

/** One series per trigger type: a bounded set (the policy's action types), so a dimension is fine. */
function recordTriggers(obs: Observability, triggers: readonly Trigger[]): void {
  if (!obs.metricsEnabled) return;
  const byType = new Map<string, number>();
  for (const t of triggers) byType.set(t.detailType, (byType.get(t.detailType) ?? 0) + 1);
  for (const [type, n] of byType) {
    const single = obs.metrics.singleMetric();
    single.addDimension(DIMENSION.triggerType, type);
    single.addMetric(METRIC.triggers, MetricUnit.Count, n);
  }
}

/** The outbox sweep's outcome: a non-zero count means an invocation died between write and publish. */
export function recordSweep(obs: Observability, result: SweepResult, publishFailures: number): void {
  obs.metrics.addMetric(METRIC.outboxSwept, MetricUnit.Count, result.published);
  obs.metrics.addMetric(METRIC.publishFailures, MetricUnit.Count, publishFailures);
  if (result.published > 0)
    obs.logger.warn('published triggers left in camera outboxes', {
      cameras: result.cameras,
      triggers: result.published,
    });
  for (const f of result.failed)
    obs.logger.error('outbox sweep failed for a camera; the next run retries', {
      cameraId: f.cameraId,
      error: f.error,
    });
}

/** The model-lifecycle function's outcome as metrics and logs. */
export function recordLifecycle(obs: Observability, result: LifecycleResult, publishFailures: number): void {
  obs.metrics.addMetric(METRIC.lifecycleApplied, MetricUnit.Count, result.applied);
  obs.metrics.addMetric(METRIC.lifecycleRejected, MetricUnit.Count, result.rejected);
  obs.metrics.addMetric(METRIC.publishFailures, MetricUnit.Count, publishFailures);
  recordTriggers(obs, result.triggers);
  if (result.ignored)
    obs.logger.info('SageMaker events not started by the monitor, ignored', { count: result.ignored });
  for (const messageId of result.failedMessageIds) obs.logger.warn('record failed back to the queue', { messageId });
}

/** Turns one ingest batch's outcome into metrics and logs. */
export function recordBatch(obs: Observability, result: BatchResult, publishFailures: number): void {
  const { logger, metrics } = obs;
  const count = (name: string, value: number) => metrics.addMetric(name, MetricUnit.Count, value);
  count(METRIC.eventsProcessed, result.events);
  count(METRIC.eventsRejected, result.rejected);
  count(METRIC.eventsDuplicate, result.duplicates);
  count(METRIC.eventsLate, result.late + result.tooLate);
  count(METRIC.eventsTooLate, result.tooLate);
  count(METRIC.stateConflicts, result.conflicts);
  count(METRIC.publishFailures, publishFailures);
  count(METRIC.cameraFailures, result.cameraErrors.length);
  count(METRIC.detectorErrors, result.detectorErrors.length);
  if (result.history) {
    count(METRIC.historyRecorded, result.history.recorded);
    count(METRIC.historyDropped, result.history.dropped);
    if (result.history.dropped > 0)
      logger.error('events missing from the history: Firehose refused them after retries', {
        dropped: result.history.dropped,
      });
  }
  count(
    METRIC.triggersSuppressed,
    Object.values(result.suppressed).reduce((a, n) => a + (n ?? 0), 0),
  );
  recordTriggers(obs, result.triggers);

  for (const e of result.cameraErrors)
    logger.error('camera failed; its records return to the queue', { cameraId: e.cameraId, error: e.error });
  for (const d of result.detectorErrors) logger.error('detector failed', { ...d });
  for (const messageId of result.failedMessageIds) logger.warn('record failed back to the queue', { messageId });
  logger.debug('batch done', {
    events: result.events,
    applied: result.applied,
    rejected: result.rejected,
    duplicates: result.duplicates,
    late: result.late,
    tooLate: result.tooLate,
    writes: result.writes,
    conflicts: result.conflicts,
    triggers: result.triggers.length,
    failedRecords: result.failedMessageIds.length,
  });
}
