// Schemas of every event the monitor reads or publishes, versioned (classic zod is fine here: this
// module is for tooling and tests, never bundled into a function). `npm run schemas` writes them
// as JSON Schema files to schemas/; a test keeps the files in step with this code.
import * as z from 'zod'; // namespace import keeps zod's locales out of Lambda bundles
import { METRICS, MODALITIES, metricEventSchema } from './metric-event.js';
import { ACTIONS, PolicySchema } from './policy.js';
import { TRIGGER_SCHEMA_VERSION, TRIGGER_SCOPES } from './trigger.js';

const uuid = z.string().regex(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
const isoTime = z.string().regex(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/);
const timeWindow = z.object({ from: isoTime, to: isoTime }).strict();

/** What a training pipeline reads from an action trigger (publishedDetail fills them on every action). */
const PAYLOAD = {
  currentWindow: timeWindow
    .optional()
    .describe('Time span of the values that fired (the data a retrain should look at). Always set on actions.'),
  referenceWindow: timeWindow
    .extend({
      modelVersion: z.string().describe('The model the baseline belongs to; "unknown" when never reported.'),
    })
    .strict()
    .optional()
    .describe('The baseline judged against: since the model was first seen or last reset, up to the current window.'),
  datasetLocator: z
    .string()
    .optional()
    .describe("The stack's datasetLocatorTemplate filled from this detail (when the stack sets one)."),
};

/** Fields every published detail carries: what was decided, by what, on which data. */
const TriggerBase = z.object({
  schemaVersion: z.literal(TRIGGER_SCHEMA_VERSION),
  triggerId: uuid.describe(
    'Deterministic: the same camera + modality + detector + episode + type gives the same id. Deduplicate on it.',
  ),
  episodeId: uuid.describe("Shared by an episode's trigger and its AlertResolved."),
  cameraId: z.string().min(1).max(128),
  modality: z.enum(MODALITIES),
  metric: z.enum(METRICS),
  detector: z.string().describe('Detector id within the policy.'),
  detectorKind: z.string().describe('window-mean | latency-quantile | regression | cusum | ewma'),
  policyId: z.string(),
  statistic: z
    .number()
    .describe('The detector statistic at the decision (window mean, quantile, drop, CUSUM S, EWMA Z).'),
  threshold: z.number(),
  sampleCount: z.number().int().min(0).describe('Values (or labelled samples, for regression) behind the statistic.'),
  firstEventAt: isoTime,
  lastEventAt: isoTime,
  changePointAt: isoTime.optional().describe('Estimated start of the change (sequential detectors).'),
  modelVersion: z.string().optional(),
  windowSize: z.number().int().optional(),
  quantile: z.number().optional(),
  windowMax: z.number().optional(),
  windowMin: z.number().optional(),
  baseline: z.number().optional(),
  current: z.number().optional(),
  zScore: z.number().optional(),
  baselineSamples: z.number().optional(),
  baselineModelVersion: z.string().optional(),
  baselineMean: z.number().optional(),
  baselineSigma: z.number().optional(),
  direction: z.enum(['up', 'down']).optional(),
  k: z.number().optional(),
  lambda: z.number().optional(),
  L: z.number().optional(),
  scope: z
    .enum(TRIGGER_SCOPES)
    .optional()
    .describe('camera: cameraId names the camera; model: a cohort (modelVersion + modality). Always set on actions.'),
  ...PAYLOAD,
});

export const TriggerDetailSchema = TriggerBase.strict();
export const AlertResolvedDetailSchema = TriggerBase.extend({
  resolvedAction: z.enum(ACTIONS).optional(),
  firedAt: isoTime,
  resolvedBy: z
    .enum(['RetrainingCompleted', 'ModelDeployed'])
    .optional()
    .describe('Present when the closed loop resolved it.'),
}).strict();

/** A decision about a cohort (model_version, modality) as a whole: docs/fleet-decisions.md. */
const ModelBase = z.object({
  schemaVersion: z.literal(TRIGGER_SCHEMA_VERSION),
  triggerId: uuid.describe('Deterministic: the same cohort + cohort episode + type gives the same id.'),
  episodeId: uuid.describe('The cohort episode, shared by its trigger and its AlertResolved.'),
  scope: z.literal('model'),
  modelVersion: z.string().min(1).max(128),
  modality: z.enum(MODALITIES),
  policyId: z.string(),
  activeCameras: z.number().int().min(0).describe('Cameras of the cohort that reported in the active window.'),
  affectedCameraCount: z.number().int().min(0).describe('Cameras with a drift or regression alert open.'),
  share: z.number().min(0).max(1).describe('affected / active.'),
  threshold: z.number().describe("The policy's cohort.minShare."),
  firstEventAt: isoTime.describe('When the first affected camera became affected.'),
  lastEventAt: isoTime,
  ...PAYLOAD,
});
export const ModelTriggerDetailSchema = ModelBase.extend({
  detectors: z.array(z.string()).describe('Detectors firing on the affected cameras.'),
  affectedCameras: z
    .array(z.string().min(1).max(128))
    .describe('Affected camera ids, capped (see affectedCamerasTruncated).'),
  affectedCamerasTruncated: z.boolean(),
  minCameras: z.number().int().min(1),
}).strict();
export const ModelAlertResolvedDetailSchema = ModelBase.extend({
  resolvedAction: z.enum(ACTIONS).optional(),
  firedAt: isoTime,
  resolvedBy: z.enum(['RetrainingCompleted', 'ModelDeployed']).optional(),
}).strict();

export const CameraAnomalyDetailSchema = z
  .object({
    schemaVersion: z.literal(TRIGGER_SCHEMA_VERSION),
    triggerId: uuid.describe("Deterministic: derived from the camera's alert episode."),
    episodeId: uuid.describe("The camera's alert episode."),
    scope: z.literal('camera'),
    cameraId: z.string().min(1).max(128),
    modality: z.enum(MODALITIES),
    modelVersion: z.string(),
    policyId: z.string(),
    metric: z.enum(METRICS),
    detector: z.string().describe('The detector whose statistic sits furthest from the peers.'),
    detectorKind: z.string(),
    detectors: z.array(z.string()).describe('Detectors firing on the camera.'),
    statistic: z.number().describe("The camera's detector statistic."),
    threshold: z.number().describe('The robust z cut (cohort.outlierZ).'),
    sampleCount: z.number().int().min(0).describe('Healthy peers compared.'),
    peerMedian: z.number().describe("The healthy peers' median of the same statistic."),
    peerMad: z.number().describe("The peers' median absolute deviation (floored at cohort.minMad)."),
    robustZ: z.number().describe('0.6745·(statistic − peerMedian)/peerMad.'),
    peerCount: z.number().int().min(0),
    activeCameras: z.number().int().min(0),
    confirmSeconds: z.number().describe('How long the camera had been affected (event time) before it was judged.'),
    firstEventAt: isoTime,
    lastEventAt: isoTime,
    ...PAYLOAD,
  })
  .strict();

export const ModelLifecycleDetailSchema = z.object({
  cameraId: z
    .string()
    .min(1)
    .max(128)
    .optional()
    .describe('The camera. Absent for a cohort result, which names modelVersion + modality instead.'),
  modality: z.enum(MODALITIES).optional(),
  modelVersion: z.string().min(1).max(128).optional(),
  triggerId: z.string().optional(),
  at: z.string().optional().describe('RFC 3339; the envelope time otherwise.'),
});

/** Every schema file, by name: `in.*` read by the monitor, `out.*` published on the bus. */
export const EVENT_SCHEMAS: Record<string, { schema: z.core.$ZodType; title: string }> = {
  'in.MetricEvent': { schema: metricEventSchema(), title: 'MetricEvent (SQS body: one object or an array of them)' },
  'in.RetrainingCompleted': {
    schema: ModelLifecycleDetailSchema,
    title: 'RetrainingCompleted detail (put on the monitor bus by the pipeline)',
  },
  'in.ModelDeployed': {
    schema: ModelLifecycleDetailSchema,
    title: 'ModelDeployed detail (put on the monitor bus by the pipeline)',
  },
  'in.Policy': { schema: PolicySchema, title: 'Detector policy (vmon policy put)' },
  'out.RetrainingRequested': {
    schema: z.union([TriggerDetailSchema, ModelTriggerDetailSchema]),
    title: 'RetrainingRequested detail (scope camera or model)',
  },
  'out.HyperparameterTuningRequested': {
    schema: z.union([TriggerDetailSchema, ModelTriggerDetailSchema]),
    title: 'HyperparameterTuningRequested detail (scope camera or model)',
  },
  'out.SlaBreached': { schema: TriggerDetailSchema, title: 'SlaBreached detail' },
  'out.AlertResolved': {
    schema: z.union([AlertResolvedDetailSchema, ModelAlertResolvedDetailSchema]),
    title: 'AlertResolved detail (scope camera or model)',
  },
  'out.CameraAnomalyDetected': {
    schema: CameraAnomalyDetailSchema,
    title: 'CameraAnomalyDetected detail (a camera unlike its healthy peers: not a model retrain)',
  },
};

export function jsonSchemaFor(name: string): Record<string, unknown> {
  const entry = EVENT_SCHEMAS[name];
  if (!entry) throw new Error(`no schema ${name}`);
  const io = name.startsWith('in.') ? 'input' : 'output';
  return {
    $id: `urn:visutility-monitor:schema:v${TRIGGER_SCHEMA_VERSION}:${name}`,
    title: entry.title,
    ...z.toJSONSchema(entry.schema, { io, unrepresentable: 'any', target: 'draft-2020-12' }),
  };
}
