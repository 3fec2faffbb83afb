// Covers the local loop (lib/local/training-pipeline.ts) on moto with the real ingest and
// model-lifecycle handlers: a RetrainingRequested reaches the simulated training pipeline through
// the retraining queue, a duplicate delivery of it is dropped by triggerId, the camera's next breach
// is suppressed while it trains, and when its (simulated) training time has passed it puts
// RetrainingCompleted and ModelDeployed on the bus: the suppression is lifted, the baselines reset at
// the reported time and the deployed version recorded; healthy values on the new model then decide nothing.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ReceiveMessageCommand, SendMessageCommand } from '@aws-sdk/client-sqs';
import type { LocalEventSourceMapping } from '../../lib/local/event-source-mapping.js';
import { SimulatedTrainingPipeline, type TrainingRun } from '../../lib/local/training-pipeline.js';
import { PolicyStore } from '../../lib/adapters/policy-store.js';
import { CameraStateStore } from '../../lib/adapters/state-store.js';
import {
  drain,
  startLocalAws,
  startMonitorHandlers,
  useFunctionEnv,
  waitFor,
  type LocalAws,
} from '../support/local-aws.js';
import { BASE_TIME, retrainOnDrift, wireEvent } from '../support/fixtures.js';

let aws: LocalAws;
let pipeline: SimulatedTrainingPipeline;
const mappings: LocalEventSourceMapping[] = [];
/** The simulated clock: the time of the last event sent. The pipeline trains against it. */
let clock = BASE_TIME;
const TRAINING_MS = 30 * 60_000;
const phases: [string, TrainingRun['triggerId']][] = [];

beforeAll(async () => {
  aws = await startLocalAws({ visibilityTimeoutSeconds: 2 });
  useFunctionEnv(aws.stack, { POLICY_CACHE_SECONDS: '1' });
  mappings.push(...(await startMonitorHandlers(aws, { maxBatchingWindowMs: 50, pollers: 1 })));
  pipeline = new SimulatedTrainingPipeline(aws.sqs, aws.eventBridge, {
    queueUrl: aws.stack.retrainingQueueUrl,
    eventBusName: aws.stack.eventBusName,
    trainingMs: TRAINING_MS,
    clock: () => clock,
    pollMs: 50,
    onRun: (run, phase) => phases.push([phase, run.triggerId]),
  }).start();
});

afterAll(async () => {
  await pipeline?.stop();
  await Promise.all(mappings.map((m) => m.stop()));
  await aws?.stop();
});

const cameras = () => new CameraStateStore(aws.ddb, aws.stack.tableName);
/** Sends DriftScores one simulated minute apart, advancing the clock. */
async function sendAt(minute: number, values: number[], model_version: string) {
  const events = values.map((value, k) => {
    const ts = BASE_TIME + (minute + k) * 60_000;
    return wireEvent({ camera_id: 'camT', value, model_version, timestamp: new Date(ts).toISOString() });
  });
  await aws.sqs.send(
    new SendMessageCommand({ QueueUrl: aws.stack.ingestQueueUrl, MessageBody: JSON.stringify(events) }),
  );
  const newest = BASE_TIME + (minute + values.length - 1) * 60_000;
  // The pipeline trains against this clock: advance it only once the events are applied, so a deployment
  // never lands before the events sent ahead of it (at a tie in event time the old model's event applied
  // after the deployment would put its version back, and the outcome would depend on arrival order).
  await waitFor(
    async () => (await cameras().load('camT')).state.streams['Rgb.DriftScore']?.at(-1)?.ts ?? 0,
    (ts) => ts >= newest,
  );
  clock = newest;
}

describe('simulated training pipeline (local loop)', () => {
  it('trains once per triggerId, suppresses while training, then deploys: reset and recovery', async () => {
    await new PolicyStore(aws.ddb, aws.stack.tableName).put('camera:camT', retrainOnDrift(2));
    await new Promise((r) => setTimeout(r, 1100)); // policy cache TTL

    await sendAt(0, [0.1, 0.9, 0.9], 'det-v1');
    const [run] = await waitFor(
      () => pipeline.runs,
      (r) => r.length > 0,
    );
    expect(run).toMatchObject({ scope: 'camera', cameraId: 'camT', modality: 'Rgb', modelVersion: 'det-v1' });
    expect(run!.finishedAt).toBeUndefined();

    // A second delivery of the same request (at-least-once) is dropped by triggerId.
    const copy = await waitFor(
      async () => {
        const tapped = await drain(aws.sqs, aws.stack.tapQueueUrl, 10, 300);
        return tapped.find((m) => JSON.parse(m.Body!).detail.triggerId === run!.triggerId);
      },
      (m) => m !== undefined,
    );
    await aws.sqs.send(new SendMessageCommand({ QueueUrl: aws.stack.retrainingQueueUrl, MessageBody: copy!.Body! }));
    await waitFor(
      () => pipeline.counters.duplicates,
      (n) => n === 1,
    );
    expect(pipeline.counters.duplicates).toBe(1);
    expect(pipeline.runs).toHaveLength(1);

    // While it trains the drift dips and comes back: the new breach is suppressed (retrain in flight).
    await sendAt(3, [0.1, 0.1, 0.9, 0.9], 'det-v1');
    const during = await waitFor(
      async () => (await cameras().load('camT')).state,
      (s) => s.alerts['drift@Rgb']?.e === 2,
    );
    expect(during.alerts['drift@Rgb']).toMatchObject({ f: true, e: 2, p: false });
    expect(during.inFlight?.triggerId).toBe(run!.triggerId);
    expect(run!.finishedAt).toBeUndefined();

    // Training time passes on the clock: completion and deployment come back through the lifecycle path.
    await sendAt(40, [0.9], 'det-v1');
    const deployed = await waitFor(
      async () => (await cameras().load('camT')).state,
      (s) => s.mv.Rgb === run!.deployedVersion,
    );
    expect(run!.finishedAt).toBe(BASE_TIME + 40 * 60_000);
    expect(deployed.mv.Rgb).toBe('det-v1-r1');
    expect(deployed.inFlight).toBeUndefined();
    expect(deployed.reset.Rgb).toBe(BASE_TIME + 40 * 60_000);
    expect(deployed.alerts['drift@Rgb']?.f ?? false).toBe(false);
    expect(phases).toEqual([
      ['started', run!.triggerId],
      ['deployed', run!.triggerId],
    ]);

    // Recovery on the new model: healthy values open no episode and nothing new reaches the pipeline.
    await sendAt(41, [0.1, 0.12, 0.09, 0.1], 'det-v1-r1');
    const recovered = await waitFor(
      async () => (await cameras().load('camT')).state,
      (s) => (s.streams['Rgb.DriftScore']?.at(-1)?.ts ?? 0) === BASE_TIME + 44 * 60_000,
    );
    expect(recovered.alerts['drift@Rgb']?.f ?? false).toBe(false);
    expect(pipeline.runs).toHaveLength(1);
    const left = await aws.sqs.send(
      new ReceiveMessageCommand({ QueueUrl: aws.stack.retrainingQueueUrl, WaitTimeSeconds: 1 }),
    );
    expect(left.Messages ?? []).toEqual([]);
    expect(pipeline.counters.errors).toBe(0);
  });
});
