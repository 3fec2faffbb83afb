// Covers the payload a training pipeline acts on (schema v2), in the pure core: scope, the current
// window (span of the values that fired) and the reference window (since the model was first seen,
// changed or reset; its version) as applyEvents builds them; the dataset locator filled from the
// stack's template (placeholders, URI encoding, model scope); the fallbacks publishedDetail fills for
// a builder that left fields out; and every published detail valid against its JSON Schema.
import { describe, expect, it } from 'vitest';
import { applyEvents, applyModelLifecycle, emptyState } from '../../lib/core/camera-state.js';
import { parsePolicy } from '../../lib/core/policy.js';
import { TriggerDetailSchema } from '../../lib/core/event-schemas.js';
import {
  fillDatasetLocator,
  publishedDetail,
  TRIGGER_SCHEMA_VERSION,
  UNKNOWN_MODEL_VERSION,
  type Trigger,
  type TriggerDetail,
} from '../../lib/core/trigger.js';
import { toEvents } from '../support/streams.js';
import { BASE_TIME, retrainOnDrift, wireEvent } from '../support/fixtures.js';
import type { WireMetricEvent } from '../../lib/core/metric-event.js';

const policy = parsePolicy(retrainOnDrift(3));
const at = (i: number) => new Date(BASE_TIME + i * 1000).toISOString();
const send = (state: ReturnType<typeof emptyState>, events: (Partial<WireMetricEvent> & { i: number })[]) =>
  applyEvents(state, toEvents(events.map((e) => wireEvent({ camera_id: 'cam-7', ...e }))), policy).triggers;
const LOCATOR = 's3://frames/{modelVersion}/{modality}/{cameraId}/{from}/{to}';

describe('trigger payload from applyEvents', () => {
  it('carries scope, the span of the values that fired and the baseline span with its model version', () => {
    const s = emptyState();
    expect(
      send(
        s,
        [0, 1, 2, 3, 4].map((i) => ({ i, value: 0.1, model_version: 'v1' })),
      ),
    ).toEqual([]);
    const [t] = send(
      s,
      [5, 6, 7].map((i) => ({ i, value: 0.9, model_version: 'v1' })),
    );
    expect(t!.detailType).toBe('RetrainingRequested');
    expect(t!.detail).toMatchObject({
      schemaVersion: TRIGGER_SCHEMA_VERSION,
      scope: 'camera',
      cameraId: 'cam-7',
      // The window of 3 that fired: one low value and the first two high ones.
      firstEventAt: at(4),
      lastEventAt: at(6),
      currentWindow: { from: at(4), to: at(6) },
      referenceWindow: { from: at(0), to: at(4), modelVersion: 'v1' },
    });
    expect(TriggerDetailSchema.safeParse(publishedDetail(t!, LOCATOR, 0)).success).toBe(true);
  });

  it('starts the reference window where a new model version appeared, and where a deploy reset it', () => {
    const s = emptyState();
    send(
      s,
      [0, 1, 2].map((i) => ({ i, value: 0.1, model_version: 'v1' })),
    );
    send(
      s,
      [10, 11, 12].map((i) => ({ i, value: 0.1, model_version: 'v2' })),
    );
    const [t] = send(
      s,
      [13, 14, 15].map((i) => ({ i, value: 0.9, model_version: 'v2' })),
    );
    expect(t!.detail.referenceWindow).toEqual({ from: at(10), to: at(12), modelVersion: 'v2' });

    applyModelLifecycle(
      s,
      'cam-7',
      { type: 'ModelDeployed', at: BASE_TIME + 20_000, modelVersion: 'v3' },
      () => policy,
    );
    const [again] = send(
      s,
      [21, 22, 23].map((i) => ({ i, value: 0.9, model_version: 'v3' })),
    );
    expect(again!.detail.referenceWindow).toEqual({ from: at(20), to: at(21), modelVersion: 'v3' });
  });

  it('says "unknown" when producers never sent a model_version', () => {
    const s = emptyState();
    const [t] = send(
      s,
      [0, 1, 2].map((i) => ({ i, value: 0.9 })),
    );
    expect(t!.detail.modelVersion).toBeUndefined();
    expect(t!.detail.referenceWindow).toEqual({ from: at(0), to: at(0), modelVersion: UNKNOWN_MODEL_VERSION });
  });
});

const detail = (over: Partial<TriggerDetail> = {}): TriggerDetail => ({
  schemaVersion: TRIGGER_SCHEMA_VERSION,
  triggerId: '0b6f4a8e-5d4c-4f3e-9a57-7b1d2c3e4f51',
  episodeId: '0b6f4a8e-5d4c-4f3e-9a57-7b1d2c3e4f52',
  cameraId: 'dock/cam 3',
  modality: 'Thermal',
  metric: 'DriftScore',
  detector: 'drift',
  detectorKind: 'window-mean',
  policyId: 'p',
  statistic: 0.8,
  threshold: 0.5,
  sampleCount: 3,
  firstEventAt: '2026-11-27T08:00:05.000Z',
  lastEventAt: '2026-11-27T08:00:07.000Z',
  scope: 'camera',
  currentWindow: { from: '2026-11-27T08:00:05.000Z', to: '2026-11-27T08:00:07.000Z' },
  referenceWindow: { from: '2026-11-27T07:00:00.000Z', to: '2026-11-27T08:00:05.000Z', modelVersion: 'det-v4' },
  ...over,
});

describe('dataset locator', () => {
  it('fills every placeholder from the detail, URI-encoded so a camera id cannot add path segments', () => {
    expect(fillDatasetLocator(LOCATOR, detail())).toBe(
      's3://frames/det-v4/Thermal/dock%2Fcam%203/2026-11-27T08:00:05.000Z/2026-11-27T08:00:07.000Z',
    );
    expect(
      fillDatasetLocator('s3://b/{scope}/{triggerId}/{referenceFrom}..{referenceTo}', detail({ scope: 'camera' })),
    ).toBe('s3://b/camera/0b6f4a8e-5d4c-4f3e-9a57-7b1d2c3e4f51/2026-11-27T07:00:00.000Z..2026-11-27T08:00:05.000Z');
  });

  it('uses * for the camera of a model-scope trigger (every camera of the cohort)', () => {
    const { cameraId: _, ...cohort } = detail({ scope: 'model' });
    expect(fillDatasetLocator(LOCATOR, cohort as TriggerDetail)).toBe(
      's3://frames/det-v4/Thermal/*/2026-11-27T08:00:05.000Z/2026-11-27T08:00:07.000Z',
    );
  });

  it('is added at publish to actions only, never to a resolution', () => {
    const t: Trigger = { detailType: 'RetrainingRequested', detail: detail() };
    expect(publishedDetail(t, LOCATOR, 0).datasetLocator).toMatch(/^s3:\/\/frames\/det-v4\//);
    expect(publishedDetail(t, undefined, 0)).not.toHaveProperty('datasetLocator');
    expect(publishedDetail({ detailType: 'AlertResolved', detail: detail() }, LOCATOR, 0)).not.toHaveProperty(
      'datasetLocator',
    );
  });
});

describe('publishedDetail fallbacks', () => {
  it('fills scope and both windows for a builder that left them out, so every mapped path exists', () => {
    const { scope: _s, currentWindow: _c, referenceWindow: _r, ...bare } = detail({ modelVersion: 'm2' });
    const d = publishedDetail({ detailType: 'RetrainingRequested', detail: bare }, undefined, 0);
    expect(d).toMatchObject({
      scope: 'camera',
      currentWindow: { from: bare.firstEventAt, to: bare.lastEventAt },
      referenceWindow: { from: bare.firstEventAt, to: bare.firstEventAt, modelVersion: 'm2' },
    });
    expect(TriggerDetailSchema.safeParse(d).success).toBe(true);
  });
});
