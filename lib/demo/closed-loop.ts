// The demo's closed-loop phase, after the fleet run: one camera's model, driven step by step in
// simulated time through the real ingest and model-lifecycle handlers, with the simulated training
// pipeline (lib/local/training-pipeline.ts) on the retraining queue. It shows suppression while the
// model trains, then the baseline reset at deployment and recovery on the new model.
import type { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { PurgeQueueCommand, SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { CameraStateStore } from '../adapters/state-store.js';
import type { CameraState } from '../core/camera-state.js';
import { LocalEventSourceMapping } from '../local/event-source-mapping.js';
import type { LocalStack } from '../local/local-stack.js';
import { drainQueue } from '../local/queues.js';
import { SimulatedTrainingPipeline, type TrainingRun } from '../local/training-pipeline.js';
import { mulberry32 } from '../sim/prng.js';
import type { DetectorSpec } from '../core/policy.js';
import { detectorLines } from '../report/detector-lines.js';
import type { ReportChart, ReportTable } from '../report/html-report.js';

export const LOOP_CAMERA = 'loop-cam-01';
const MODALITY = 'Rgb';
const FIRST_MODEL = 'det-v1';
const STEP_MS = 3 * 60_000;
/** How long the simulated pipeline trains, in simulated time. */
export const LOOP_TRAINING_MS = 90 * 60_000;
const DRIFT_KEY = 'drift-window-mean@Rgb';

type Handler = (event: SQSEvent) => Promise<SQSBatchResponse>;

export interface ClosedLoopContext {
  sqs: SQSClient;
  eventBridge: EventBridgeClient;
  ddb: DynamoDBClient;
  stack: LocalStack;
  ingest: Handler;
  lifecycle: Handler;
  /** Simulated time the phase starts (after the fleet run). */
  startMs: number;
  seed: number;
}

export interface LoopMoment {
  t: number;
  what: string;
}

export interface ClosedLoopResult {
  camera: string;
  timeline: LoopMoment[];
  /** DriftScore as sent, for the chart. */
  sent: { t: number; value: number; modelVersion: string }[];
  /** Everything the monitor published for the camera, in order. */
  published: { t: number; type: string; detector?: string; resolvedBy?: string }[];
  run?: TrainingRun;
  duplicatesDropped: number;
  suppressedWhileTraining: boolean;
  resetAtDeploy: boolean;
  retrainsAfterDeploy: number;
  ok: boolean;
  problems: string[];
}

async function waitUntil(check: () => boolean | Promise<boolean>, what: string, timeoutMs = 20_000) {
  const until = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > until) throw new Error(`closed-loop phase: timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export async function runClosedLoop(ctx: ClosedLoopContext): Promise<ClosedLoopResult> {
  const { sqs, stack } = ctx;
  // The fleet's requests are reported by the scenario table; this phase starts with an empty hand-off queue.
  await sqs.send(new PurgeQueueCommand({ QueueUrl: stack.retrainingQueueUrl }));
  const cameras = new CameraStateStore(ctx.ddb, stack.tableName);
  const result: ClosedLoopResult = {
    camera: LOOP_CAMERA,
    timeline: [],
    sent: [],
    published: [],
    duplicatesDropped: 0,
    suppressedWhileTraining: false,
    resetAtDeploy: false,
    retrainsAfterDeploy: 0,
    ok: false,
    problems: [],
  };
  const note = (t: number, what: string) => result.timeline.push({ t, what });
  let clock = ctx.startMs;
  let handled = 0;
  const mappings = [
    new LocalEventSourceMapping(sqs, ctx.ingest, {
      queueUrl: stack.ingestQueueUrl,
      batchSize: 10,
      maxBatchingWindowMs: 20,
      pollers: 1,
      onBatch: (b) => {
        handled += b.records.length - b.failedIds.size;
      },
    }).start(),
    new LocalEventSourceMapping(sqs, ctx.lifecycle, {
      queueUrl: stack.lifecycleQueueUrl,
      batchSize: 10,
      pollers: 1,
    }).start(),
  ];
  const deployed: TrainingRun[] = [];
  const pipeline = new SimulatedTrainingPipeline(sqs, ctx.eventBridge, {
    queueUrl: stack.retrainingQueueUrl,
    eventBusName: stack.eventBusName,
    trainingMs: LOOP_TRAINING_MS,
    clock: () => clock,
    pollMs: 50,
    onRun: (run, phase) => {
      if (phase === 'started')
        note(
          clock,
          `training pipeline takes ${run.triggerId.slice(0, 8)}… and trains for ${LOOP_TRAINING_MS / 60_000} min`,
        );
      else {
        // At the run's own finish time: the clock may have moved on before this callback ran.
        note(run.finishedAt ?? clock, `pipeline reports RetrainingCompleted and ModelDeployed ${run.deployedVersion}`);
        deployed.push(run);
      }
    },
  }).start();

  const readTap = async () => {
    for (const m of await drainQueue(sqs, stack.tapQueueUrl)) {
      const e = JSON.parse(m.Body!) as { 'detail-type': string; detail: Record<string, unknown> };
      if (e.detail.cameraId !== LOOP_CAMERA) continue;
      const t = Date.parse(String(e.detail.lastEventAt ?? e.detail.firstEventAt));
      const resolvedBy = typeof e.detail.resolvedBy === 'string' ? e.detail.resolvedBy : undefined;
      const detector = typeof e.detail.detector === 'string' ? e.detail.detector : undefined;
      result.published.push({
        t,
        type: e['detail-type'],
        ...(detector ? { detector } : {}),
        ...(resolvedBy ? { resolvedBy } : {}),
      });
      note(t, `monitor publishes ${e['detail-type']}${resolvedBy ? ` (resolved by ${resolvedBy})` : ''}`);
    }
  };
  const random = mulberry32(ctx.seed);
  let sent = 0;
  let seq = 0;
  /** One DriftScore per step, each applied before the next (one message each, so order is kept). */
  const step = async (value: number, modelVersion: string) => {
    clock += STEP_MS;
    const v = Math.min(1, Math.max(0, value + (random() - 0.5) * 0.04));
    result.sent.push({ t: clock, value: v, modelVersion });
    const event = {
      id: `7d1f0000-0000-4000-8000-${String(++seq).padStart(12, '0')}`,
      timestamp: new Date(clock).toISOString(),
      camera_id: LOOP_CAMERA,
      modality: MODALITY,
      metric: 'DriftScore',
      value: v,
      model_version: modelVersion,
    };
    await sqs.send(new SendMessageCommand({ QueueUrl: stack.ingestQueueUrl, MessageBody: JSON.stringify([event]) }));
    sent++;
    await waitUntil(() => handled >= sent, 'the ingest handler');
    await readTap();
  };
  const state = async (): Promise<CameraState> => (await cameras.load(LOOP_CAMERA)).state;
  const retrains = () => result.published.filter((p) => p.type === 'RetrainingRequested').length;

  try {
    note(clock + STEP_MS, `healthy on ${FIRST_MODEL}`);
    for (let i = 0; i < 12; i++) await step(0.25, FIRST_MODEL);
    note(clock + STEP_MS, 'drift begins');
    for (let i = 0; i < 20 && retrains() === 0; i++) await step(0.9, FIRST_MODEL);
    if (retrains() !== 1) throw new Error(`expected one RetrainingRequested on drift, got ${retrains()}`);
    await waitUntil(() => pipeline.runs.length === 1, 'the training pipeline to take the request');
    const run = pipeline.runs[0]!;
    result.run = run;
    // A second delivery of the same request (at-least-once): the pipeline drops it by triggerId.
    await sqs.send(
      new SendMessageCommand({
        QueueUrl: stack.retrainingQueueUrl,
        MessageBody: JSON.stringify({ 'detail-type': 'RetrainingRequested', detail: { triggerId: run.triggerId } }),
      }),
    );
    await waitUntil(() => pipeline.counters.duplicates === 1, 'the duplicate to be dropped');
    result.duplicatesDropped = pipeline.counters.duplicates;
    note(clock, 'a redelivered copy of the request is dropped by triggerId');

    // While it trains the drift dips and returns: the new episode is suppressed (retrain in flight).
    note(clock + STEP_MS, 'drift dips while the model trains');
    for (let i = 0; i < 10 && deployed.length === 0; i++) await step(0.3, FIRST_MODEL);
    note(clock + STEP_MS, 'drift returns while the model trains');
    while (deployed.length === 0) {
      await step(0.9, FIRST_MODEL);
      const s = await state();
      const alert = s.alerts[DRIFT_KEY];
      if (!result.suppressedWhileTraining && alert?.f && alert.p === false && s.inFlight?.triggerId === run.triggerId) {
        result.suppressedWhileTraining = true;
        note(clock, `episode ${alert.e} breaches: suppressed, a retrain is in flight (no RetrainingRequested)`);
      }
      if (clock - ctx.startMs > 24 * 3_600_000) throw new Error('the training pipeline never deployed');
    }
    const newModel = deployed[0]!.deployedVersion;
    await waitUntil(async () => (await state()).mv[MODALITY] === newModel, 'the lifecycle handler to apply the deploy');
    const after = await state();
    result.resetAtDeploy = after.reset[MODALITY] === deployed[0]!.finishedAt && after.inFlight === undefined;
    note(deployed[0]!.finishedAt!, `lifecycle handler: baselines reset, suppression lifted, model ${newModel}`);
    await readTap();

    note(clock + STEP_MS, `healthy again on ${newModel}`);
    const before = retrains();
    for (let i = 0; i < 20; i++) await step(0.25, newModel);
    result.retrainsAfterDeploy = retrains() - before;
    const final = await state();
    if (final.alerts[DRIFT_KEY]?.f) result.problems.push('the drift alert still fires after the deploy');
    note(clock, `recovered: ${result.retrainsAfterDeploy} retraining request(s) after the deploy`);
  } catch (err) {
    result.problems.push((err as Error).message);
  } finally {
    await pipeline.stop();
    await Promise.all(mappings.map((m) => m.stop()));
  }
  if (!result.suppressedWhileTraining) result.problems.push('no suppressed breach while the model trained');
  if (!result.resetAtDeploy) result.problems.push('the deploy did not reset the baselines at its time');
  if (result.retrainsAfterDeploy !== 0) result.problems.push('retraining requested again after the deploy');
  if (result.duplicatesDropped !== 1) result.problems.push('the duplicate request was not dropped');
  result.ok = result.problems.length === 0;
  // At the same minute, what the monitor published comes before what others did about it.
  const rank = (m: LoopMoment) => (m.what.startsWith('monitor publishes') ? 0 : 1);
  result.timeline.sort((a, b) => a.t - b.t || rank(a) - rank(b));
  return result;
}

/** The phase for the console, after the scenario table. */
export function formatClosedLoop(r: ClosedLoopResult): string {
  const start = r.timeline[0]?.t ?? 0;
  const lines = [
    `closed loop for one model (${r.camera}, simulated training pipeline): ${r.ok ? 'ok' : 'FAIL'}`,
    ...r.timeline.map((m) => `  +${String(Math.round((m.t - start) / 60_000)).padStart(4)} min  ${m.what}`),
    ...r.problems.map((p) => `  PROBLEM: ${p}`),
  ];
  return lines.join('\n');
}

/** The phase for the HTML report: the timeline as a table and the camera's DriftScore with what happened. */
/**
 * The timeline as a table and a chart, both in simulated minutes from the start. With the policy's
 * DriftScore detectors, the chart draws each one's statistic against its threshold (replayed from what
 * was sent; the replay does not see the deploy's reset) and pins each trigger on the detector that fired.
 */
export function closedLoopReport(
  r: ClosedLoopResult,
  threshold: number,
  specs: readonly DetectorSpec[] = [],
): { table: ReportTable; chart: ReportChart } {
  const start = r.timeline[0]?.t ?? 0;
  const minute = (t: number) => Math.round(((t - start) / 60_000) * 100) / 100;
  const lines = detectorLines(
    { cameraId: r.camera, modality: 'Rgb', metric: 'DriftScore' },
    specs,
    r.sent.map((p) => ({ ts: p.t, value: p.value })),
    r.published.map((p) => ({
      t: p.t,
      ...(p.detector ? { detector: p.detector } : {}),
      label: `${p.type}${p.detector ? ` · ${p.detector}` : ''}${p.resolvedBy ? ` (${p.resolvedBy})` : ''}`,
    })),
  );
  const inMinutes = (points: readonly { t: number; value: number }[]) =>
    points.map((p) => ({ t: minute(p.t), value: p.value }));
  return {
    table: {
      title: `Closed loop for one model (${r.camera}): ${r.ok ? 'ok' : 'FAIL'}`,
      columns: ['sim minute', 'what happened'],
      rows: [
        ...r.timeline.map((m) => [Math.round((m.t - start) / 60_000), m.what]),
        ...r.problems.map((p) => ['-', `PROBLEM: ${p}`]),
      ],
    },
    // In simulated minutes from the start, as the table beside it.
    chart: {
      title: `${r.camera} · Rgb · closed loop through the simulated training pipeline`,
      yName: 'DriftScore',
      ...(lines.rightName ? { rightName: lines.rightName } : {}),
      xType: 'value',
      xName: 'sim minute',
      series: [
        { name: 'DriftScore sent', points: inMinutes(r.sent) },
        ...lines.series.map((x) => ({ ...x, points: inMinutes(x.points) })),
      ],
      thresholds: specs.length ? lines.thresholds : [{ value: threshold, label: 'threshold' }],
      markers: lines.markers.map((m) => ({ ...m, t: minute(m.t) })),
      events: [
        ...(r.run ? [{ t: minute(r.run.startedAt), label: 'training starts' }] : []),
        ...(r.run?.finishedAt !== undefined
          ? [{ t: minute(r.run.finishedAt), label: `deployed ${r.run.deployedVersion}` }]
          : []),
      ],
    },
  };
}
