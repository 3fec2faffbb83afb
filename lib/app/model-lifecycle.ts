// The closed loop: a RetrainingCompleted or ModelDeployed event from the training pipeline resets
// the camera's baselines, resolves its alerts and lifts the retrain-in-flight suppression. SageMaker's
// own pipeline-execution and model-package events are read too (sagemaker-events.ts translates them).
import * as z from 'zod/mini';
import { applyModelLifecycle } from '../core/camera-state.js';
import { MAX_CAMERA_ID_LENGTH, MODALITIES, parseRfc3339, type Modality } from '../core/metric-event.js';
import type { Trigger } from '../core/trigger.js';
import { LIFECYCLE_DETAIL_TYPES } from '../resources.js';
import { updateCamera, type CameraUpdateDeps } from './camera-update.js';
import { isSageMakerEvent, translateSageMakerEvent } from './sagemaker-events.js';
import type { IngestRecord } from './ingest-batch.js';
import type { Clock, DeadLetterSink, PipelineExecutionParameters, PolicyProvider } from './ports.js';

/** The EventBridge envelope as an SQS target delivers it. */
export const LifecycleEnvelopeSchema = z.looseObject({
  'detail-type': z.enum(LIFECYCLE_DETAIL_TYPES, {
    error: (i) => `detail-type must be ${LIFECYCLE_DETAIL_TYPES.join(' | ')}, got ${JSON.stringify(i.input)}`,
  }),
  time: z.optional(z.string()),
  detail: z.looseObject({
    /** The camera; absent for a cohort (model-scope) result, which names modelVersion + modality instead. */
    cameraId: z.optional(
      z.string({ error: 'detail.cameraId must be a string' }).check(z.minLength(1), z.maxLength(MAX_CAMERA_ID_LENGTH)),
    ),
    modality: z.optional(z.enum(MODALITIES)),
    modelVersion: z.optional(z.string().check(z.minLength(1), z.maxLength(128))),
    /** The RetrainingRequested this answers, if any (for the record). */
    triggerId: z.optional(z.string()),
    /** When it happened (RFC 3339); the envelope's time otherwise. */
    at: z.optional(z.string()),
  }),
});

export interface LifecycleDeps extends CameraUpdateDeps {
  deadLetters: DeadLetterSink;
  /** Reads SageMaker pipeline execution parameters; SageMaker events are rejected without it. */
  pipelineExecutions?: PipelineExecutionParameters;
  policy: PolicyProvider;
  now?: Clock;
}

export interface LifecycleResult {
  failedMessageIds: string[];
  applied: number;
  rejected: number;
  /** SageMaker events that are not the monitor's (an execution it did not start, a status it ignores). */
  ignored: number;
  triggers: Trigger[];
}

export async function handleModelLifecycle(
  records: readonly IngestRecord[],
  deps: LifecycleDeps,
): Promise<LifecycleResult> {
  const nowMs = (deps.now ?? Date.now)();
  const result: LifecycleResult = { failedMessageIds: [], applied: 0, rejected: 0, ignored: 0, triggers: [] };
  const policy = await deps.policy();
  for (const rec of records) {
    let parsed;
    let rejection: string | undefined;
    try {
      let body: unknown = JSON.parse(rec.body);
      if (isSageMakerEvent(body) && !deps.pipelineExecutions)
        rejection = 'SageMaker event, but this function has no SageMaker access (stack context sageMakerPipelineArn)';
      else if (isSageMakerEvent(body)) {
        const t = await translateSageMakerEvent(body, deps.pipelineExecutions!);
        if (t.kind === 'ignored') {
          result.ignored++;
          continue;
        }
        if (t.kind === 'invalid') rejection = `SageMaker event: ${t.reason}`;
        else body = t.envelope;
      }
      parsed = LifecycleEnvelopeSchema.safeParse(body);
    } catch (err) {
      if (err instanceof SyntaxError)
        parsed = {
          success: false as const,
          error: { issues: [{ path: [], message: `body is not valid JSON: ${err.message}` }] },
        };
      else {
        // Reading the execution's parameters failed: SQS redelivers, then its DLQ takes it.
        result.failedMessageIds.push(rec.messageId);
        continue;
      }
    }
    if (!rejection && parsed.success && parsed.data.detail.cameraId === undefined)
      rejection =
        parsed.data.detail.modelVersion && parsed.data.detail.modality
          ? 'cohort results (modelVersion + modality, no cameraId) are not applied by this version of the monitor'
          : 'detail.cameraId is required (or modelVersion and modality for a cohort)';
    if (rejection || !parsed.success) {
      const issues = parsed.success ? [] : parsed.error.issues;
      const reason =
        rejection ?? issues.map((i) => (i.path.length ? `${i.path.join('.')}: ${i.message}` : i.message)).join('; ');
      result.rejected++;
      const failed = await deps.deadLetters.send(
        [{ sourceMessageId: rec.messageId, rejection: { index: null, raw: rec.body, reason, errors: [] } }],
        nowMs,
      );
      if (failed.size) result.failedMessageIds.push(rec.messageId);
      continue;
    }
    const env = parsed.data;
    const when =
      [env.detail.at, env.time]
        .map((t) => (t ? parseRfc3339(t) : NaN))
        .find((t): t is number => typeof t === 'number' && Number.isFinite(t)) ?? nowMs;
    const cameraId = env.detail.cameraId!;
    const policyFor = (m: Modality) => (typeof policy === 'function' ? policy(cameraId, m) : policy);
    try {
      const out = await updateCamera(
        cameraId,
        (state) => {
          const triggers = applyModelLifecycle(
            state,
            cameraId,
            {
              type: env['detail-type'],
              at: when,
              ...(env.detail.modality ? { modality: env.detail.modality } : {}),
              ...(env.detail.modelVersion ? { modelVersion: env.detail.modelVersion } : {}),
            },
            policyFor,
          );
          return { changed: true, triggers, result: null };
        },
        deps,
        nowMs,
      );
      result.applied++;
      result.triggers.push(...out.triggers);
    } catch {
      result.failedMessageIds.push(rec.messageId);
    }
  }
  return result;
}
