// Trigger events published on the bus. Pure: no AWS imports.
import { v5 as uuidv5 } from 'uuid';
import type { ActionType } from './policy.js';
import type { Modality, MetricKind } from './metric-event.js';

export const EVENT_SOURCE = 'visutility.monitor';
export const TRIGGER_SCHEMA_VERSION = 1;
/** Namespace of every deterministic id the monitor derives (uuid v5). */
const ID_NAMESPACE = '0b6f4a8e-5d4c-4f3e-9a57-7b1d2c3e4f50';

export interface TriggerDetail {
  schemaVersion: number;
  triggerId: string;
  episodeId: string;
  cameraId: string;
  modality: Modality;
  metric: MetricKind;
  detector: string;
  detectorKind: string;
  policyId: string;
  statistic: number;
  threshold: number;
  windowSize?: number;
  sampleCount: number;
  firstEventAt: string;
  lastEventAt: string;
  modelVersion?: string;
  /** "camera" (absent on details stored before fleet decisions). */
  scope?: 'camera';
  [extra: string]: unknown;
}

/** A decision about a whole cohort (model_version, modality): no camera, a list of affected ones. */
export interface ModelTriggerDetail {
  schemaVersion: number;
  triggerId: string;
  episodeId: string;
  scope: 'model';
  modelVersion: string;
  modality: Modality;
  policyId: string;
  firstEventAt: string;
  lastEventAt: string;
  [extra: string]: unknown;
}

export type TriggerType = ActionType | 'AlertResolved' | 'CameraAnomalyDetected';

export interface Trigger {
  detailType: TriggerType;
  detail: TriggerDetail | ModelTriggerDetail;
}

export const isModelScope = (d: Trigger['detail']): d is ModelTriggerDetail => d.scope === 'model';
/** The camera a trigger is about, or `model:<version>/<modality>` for a model-scope one. */
export const triggerSubject = (d: Trigger['detail']): string =>
  isModelScope(d) ? `model:${d.modelVersion}/${d.modality}` : d.cameraId;

/** The same camera + modality + detector + episode always gives the same id. */
export function episodeId(cameraId: string, modality: Modality, detectorId: string, episode: number): string {
  return uuidv5(`episode|${cameraId}|${modality}|${detectorId}|${episode}`, ID_NAMESPACE);
}

/** One id per (episode, event type): the firing trigger and its resolution differ. */
export function triggerId(episode: string, detailType: string): string {
  return uuidv5(`trigger|${episode}|${detailType}`, ID_NAMESPACE);
}

export const isoTime = (ms: number) => new Date(ms).toISOString();
