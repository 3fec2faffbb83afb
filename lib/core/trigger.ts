// Trigger events published on the bus. Pure: no AWS imports.
import { v5 as uuidv5 } from 'uuid';
import type { ActionType } from './policy.js';
import type { Modality, MetricKind } from './metric-event.js';

export const EVENT_SOURCE = 'visutility.monitor';
/** 2: adds scope, currentWindow, referenceWindow and datasetLocator (all v1 fields unchanged). */
export const TRIGGER_SCHEMA_VERSION = 2;
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
  /** 'camera': one camera's trigger (cameraId set); 'model': a cohort's (modelVersion + modality). */
  scope?: TriggerScope;
  currentWindow?: TimeWindow;
  referenceWindow?: ReferenceWindow;
  /** Filled from the stack's datasetLocatorTemplate when the trigger is published. */
  datasetLocator?: string;
  [extra: string]: unknown;
}

export const TRIGGER_SCOPES = ['model', 'camera'] as const;
export type TriggerScope = (typeof TRIGGER_SCOPES)[number];

/** A time span, RFC 3339 both ends. */
export interface TimeWindow {
  from: string;
  to: string;
}

/** The baseline a trigger was judged against: the span since the model (version) was first seen or reset. */
export interface ReferenceWindow extends TimeWindow {
  /** The model the baseline belongs to; UNKNOWN_MODEL_VERSION when producers never sent model_version. */
  modelVersion: string;
}

export const UNKNOWN_MODEL_VERSION = 'unknown';

export interface Trigger {
  detailType: ActionType | 'AlertResolved';
  detail: TriggerDetail;
}

/** The same camera + modality + detector + episode always gives the same id. */
export function episodeId(cameraId: string, modality: Modality, detectorId: string, episode: number): string {
  return uuidv5(`episode|${cameraId}|${modality}|${detectorId}|${episode}`, ID_NAMESPACE);
}

/** One id per (episode, event type): the firing trigger and its resolution differ. */
export function triggerId(episode: string, detailType: string): string {
  return uuidv5(`trigger|${episode}|${detailType}`, ID_NAMESPACE);
}

export const isoTime = (ms: number) => new Date(ms).toISOString();

/** Placeholders a dataset-locator template may use, each filled from the published trigger detail. */
export const DATASET_LOCATOR_PLACEHOLDERS = {
  modelVersion: 'referenceWindow.modelVersion (else modelVersion, else "unknown")',
  modality: 'modality',
  cameraId: 'cameraId; "*" for a model-scope trigger (every camera of the cohort)',
  scope: 'scope ("camera" when absent)',
  triggerId: 'triggerId',
  from: 'currentWindow.from',
  to: 'currentWindow.to',
  referenceFrom: 'referenceWindow.from',
  referenceTo: 'referenceWindow.to',
} as const;
type LocatorPlaceholder = keyof typeof DATASET_LOCATOR_PLACEHOLDERS;
export const MAX_DATASET_LOCATOR_TEMPLATE_CHARS = 512;

/** What is wrong with a dataset-locator template ([] when it is usable). */
export function datasetLocatorProblems(template: string): string[] {
  const problems: string[] = [];
  const known = Object.keys(DATASET_LOCATOR_PLACEHOLDERS);
  if (template.length > MAX_DATASET_LOCATOR_TEMPLATE_CHARS)
    problems.push(`is ${template.length} characters; at most ${MAX_DATASET_LOCATOR_TEMPLATE_CHARS}`);
  if (!/^[a-z][a-z0-9+.-]*:\/\/\S+$/.test(template))
    problems.push(
      'must be a URI with a scheme and no spaces, e.g. s3://my-bucket/frames/{modelVersion}/{cameraId}/{from}/{to}',
    );
  const unknown = [...template.matchAll(/\{([^{}]*)\}/g)].map((m) => m[1]!).filter((name) => !known.includes(name));
  if (unknown.length)
    problems.push(
      `unknown placeholder(s) ${[...new Set(unknown)].map((u) => `{${u}}`).join(', ')}; known: ${known.map((k) => `{${k}}`).join(', ')}`,
    );
  if (/[{}]/.test(template.replace(/\{[^{}]*\}/g, ''))) problems.push('has an unbalanced { or }');
  return problems;
}

/** Fills a (validated) template from a detail. Values are URI-encoded, ':' kept, so a camera id cannot add path segments. */
export function fillDatasetLocator(template: string, d: TriggerDetail): string {
  const value = (name: LocatorPlaceholder): string => {
    switch (name) {
      case 'modelVersion':
        return d.referenceWindow?.modelVersion ?? d.modelVersion ?? UNKNOWN_MODEL_VERSION;
      case 'cameraId':
        return d.scope === 'model' || !d.cameraId ? '*' : d.cameraId;
      case 'scope':
        return d.scope ?? 'camera';
      case 'from':
        return d.currentWindow?.from ?? d.firstEventAt;
      case 'to':
        return d.currentWindow?.to ?? d.lastEventAt;
      case 'referenceFrom':
        return d.referenceWindow?.from ?? d.firstEventAt;
      case 'referenceTo':
        return d.referenceWindow?.to ?? d.firstEventAt;
      default:
        return String(d[name] ?? '');
    }
  };
  return template.replace(/\{([^{}]+)\}/g, (_, name: LocatorPlaceholder) => {
    const v = value(name);
    return v === '*' ? v : encodeURIComponent(v).replace(/%3A/gi, ':');
  });
}

/**
 * The detail as published. An action trigger always carries scope, currentWindow and referenceWindow
 * (filled from firstEventAt/lastEventAt/modelVersion when a builder left them out), so every path the
 * SageMaker parameter mapping reads exists; and datasetLocator when a template is configured.
 */
export function publishedDetail(t: Trigger, datasetLocatorTemplate: string | undefined, nowMs: number): TriggerDetail {
  if (t.detailType === 'AlertResolved') return t.detail;
  const d = t.detail;
  const from = d.currentWindow?.from ?? d.firstEventAt ?? isoTime(nowMs);
  const to = d.currentWindow?.to ?? d.lastEventAt ?? from;
  const full: TriggerDetail = {
    ...d,
    scope: d.scope ?? 'camera',
    currentWindow: d.currentWindow ?? { from, to },
    referenceWindow: d.referenceWindow ?? { from, to: from, modelVersion: d.modelVersion ?? UNKNOWN_MODEL_VERSION },
  };
  if (datasetLocatorTemplate) full.datasetLocator = fillDatasetLocator(datasetLocatorTemplate, full);
  return full;
}
