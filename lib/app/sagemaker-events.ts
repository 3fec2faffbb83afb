// SageMaker's own events → the monitor's lifecycle events, so a SageMaker Pipelines user writes no
// glue. A succeeded pipeline execution is RetrainingCompleted; an approved model package that an
// execution registered is ModelDeployed. Which camera or cohort: the execution's parameters, which
// the monitor's trigger set when EventBridge started it (resources.ts SAGEMAKER_PIPELINE_PARAMETERS).
import { MODALITIES, type Modality } from '../core/metric-event.js';
import { SAGEMAKER_EVENTS, type SageMakerPipelineParameter } from '../resources.js';
import type { PipelineExecutionParameters } from './ports.js';

/** The lifecycle envelope the lifecycle path reads (what a pipeline would put on the monitor bus). */
export interface LifecycleEnvelope {
  'detail-type': 'RetrainingCompleted' | 'ModelDeployed';
  source: string;
  time?: string;
  detail: {
    cameraId?: string;
    modality?: Modality;
    modelVersion?: string;
    triggerId?: string;
    at?: string;
    /** Where it came from, for the record. */
    sageMakerArn?: string;
  };
}

export type SageMakerTranslation =
  | { kind: 'lifecycle'; envelope: LifecycleEnvelope }
  /** Not the monitor's business (an execution it did not start): acknowledged, not dead-lettered. */
  | { kind: 'ignored'; reason: string }
  | { kind: 'invalid'; reason: string };

/** Customer metadata keys a model package may carry to override what the parameters say. */
export const MODEL_PACKAGE_METADATA = { modelVersion: 'ModelVersion' } as const;

export const isSageMakerEvent = (body: unknown): body is Record<string, unknown> =>
  typeof body === 'object' && body !== null && (body as { source?: unknown }).source === SAGEMAKER_EVENTS.source;

const str = (v: unknown) => (typeof v === 'string' && v.length > 0 ? v : undefined);

/**
 * Translates one SageMaker event. Camera scope (Scope=camera, CameraId set) gives a camera lifecycle
 * event; model scope gives a cohort one (modelVersion + modality, no cameraId).
 */
export async function translateSageMakerEvent(
  event: Record<string, unknown>,
  executions: PipelineExecutionParameters,
): Promise<SageMakerTranslation> {
  const type = event['detail-type'];
  const detail = (event.detail ?? {}) as Record<string, unknown>;
  let lifecycleType: LifecycleEnvelope['detail-type'];
  let executionArn: string | undefined;
  let newModelVersion: string | undefined;
  let at: string | undefined;
  let sageMakerArn: string | undefined;
  if (type === SAGEMAKER_EVENTS.pipelineExecution) {
    const status = detail.currentPipelineExecutionStatus;
    if (status !== 'Succeeded')
      return { kind: 'ignored', reason: `pipeline execution status ${JSON.stringify(status)}, not Succeeded` };
    lifecycleType = 'RetrainingCompleted';
    executionArn = str(detail.pipelineExecutionArn);
    if (!executionArn) return { kind: 'invalid', reason: 'detail.pipelineExecutionArn is missing' };
    at = str(detail.executionEndTime);
    sageMakerArn = executionArn;
  } else if (type === SAGEMAKER_EVENTS.modelPackage) {
    const approval = detail.ModelApprovalStatus;
    if (approval !== 'Approved')
      return { kind: 'ignored', reason: `model package approval ${JSON.stringify(approval)}, not Approved` };
    lifecycleType = 'ModelDeployed';
    executionArn = str((detail.MetadataProperties as Record<string, unknown> | undefined)?.GeneratedBy);
    if (!executionArn)
      return {
        kind: 'invalid',
        reason:
          'detail.MetadataProperties.GeneratedBy is missing: register the model package from the pipeline execution the monitor started',
      };
    const meta = (detail.CustomerMetadataProperties ?? {}) as Record<string, unknown>;
    newModelVersion = str(meta[MODEL_PACKAGE_METADATA.modelVersion]);
    sageMakerArn = str(detail.ModelPackageArn);
  } else {
    return { kind: 'invalid', reason: `detail-type ${JSON.stringify(type)} is not a SageMaker event the monitor maps` };
  }

  let params: Record<string, string>;
  try {
    params = await executions.parameters(executionArn);
  } catch (err) {
    // Retried by SQS; a permanently unknown execution ends in the lifecycle DLQ after maxReceiveCount.
    throw new Error(`reading the parameters of ${executionArn}: ${(err as Error).message}`);
  }
  const p = (name: SageMakerPipelineParameter) => str(params[name]);
  const triggerId = p('TriggerId');
  if (!triggerId)
    return { kind: 'ignored', reason: `execution ${executionArn} has no TriggerId: not started by the monitor` };
  const modality = p('Modality');
  if (modality !== undefined && !(MODALITIES as readonly string[]).includes(modality))
    return {
      kind: 'invalid',
      reason: `parameter Modality must be one of ${MODALITIES.join(' | ')}, got "${modality}"`,
    };
  const scope = p('Scope') ?? (p('CameraId') ? 'camera' : 'model');
  const common = {
    triggerId,
    ...(modality ? { modality: modality as Modality } : {}),
    ...(at ? { at } : {}),
    ...(sageMakerArn ? { sageMakerArn } : {}),
  };
  const envelope = (detail: LifecycleEnvelope['detail']): SageMakerTranslation => ({
    kind: 'lifecycle',
    envelope: {
      'detail-type': lifecycleType,
      source: SAGEMAKER_EVENTS.source,
      ...(str(event.time) ? { time: str(event.time)! } : {}),
      detail,
    },
  });
  if (scope === 'camera') {
    const cameraId = p('CameraId');
    if (!cameraId)
      return { kind: 'invalid', reason: `execution ${executionArn}: Scope is camera but CameraId is empty` };
    return envelope({ cameraId, ...common, ...(newModelVersion ? { modelVersion: newModelVersion } : {}) });
  }
  if (scope !== 'model')
    return {
      kind: 'invalid',
      reason: `execution ${executionArn}: parameter Scope must be camera | model, got "${scope}"`,
    };
  // A cohort is the cameras running ModelVersion on Modality: both are needed to find them.
  const cohortVersion = p('ModelVersion');
  if (!cohortVersion || !modality)
    return {
      kind: 'invalid',
      reason: `execution ${executionArn}: a model-scope result needs the ModelVersion and Modality parameters`,
    };
  return envelope({ ...common, modelVersion: cohortVersion });
}
