// Covers fleet decisions on moto (real SDK clients, real DynamoDB conditional writes, real EventBridge
// rules feeding the tap queue; the ingest use case runs in-process as in the delivery property test):
// a drift whose camera onsets are staggered over 30 minutes gives exactly one model-scope
// RetrainingRequested and no camera-scope retrain or CameraAnomalyDetected; every message delivered
// twice and every camera's member records re-published count once; a lone camera among 20 healthy peers
// gets one CameraAnomalyDetected and no retrain; a second healthy model gets nothing; and the model-scope
// closed loop (ModelDeployed with modelVersion + modality, no cameraId) resolves the cohort episode,
// lifts its in-flight suppression and resets the cameras lazily.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DeadLetterQueue } from '../../lib/adapters/dead-letter.js';
import { CameraStateStore } from '../../lib/adapters/state-store.js';
import { TriggerPublisher } from '../../lib/adapters/trigger-publisher.js';
import { CohortEpochCache, DynamoCohortStore } from '../../lib/adapters/cohort-store.js';
import { applyCohortSignals, cohortSignalApplier, shardOf } from '../../lib/app/cohort-signals.js';
import { ingestBatch, type IngestDeps } from '../../lib/app/ingest-batch.js';
import { handleModelLifecycle } from '../../lib/app/model-lifecycle.js';
import { cohortCounts, type CohortSignal } from '../../lib/core/cohort.js';
import { parseBody } from '../../lib/core/metric-event.js';
import { backtestEventsWithCohorts } from '../../lib/cli/backtest.js';
import { seededRandom } from '../../lib/local/faults.js';
import { rm } from 'node:fs/promises';
import { PolicyStore } from '../../lib/adapters/policy-store.js';
import { formatBusEvent } from '../../lib/cli/events-tail.js';
import { runVmon, tempDir, writeStackFile } from './cli-support.js';
import { BASE_TIME } from '../support/fixtures.js';
import { drain, startLocalAws, type LocalAws } from '../support/local-aws.js';
import { schemaErrors } from '../support/schemas.js';
import { COHORT_DRIFT_POLICY } from '../../lib/sim/upload-patterns.js';

const MIN = 60_000;
const POLICY = COHORT_DRIFT_POLICY;

let aws: LocalAws;
let deps: IngestDeps;
let cohorts: DynamoCohortStore;
const published: { type: string; detail: Record<string, unknown> }[] = [];
/** Every signal the cameras committed, for the re-publish check. */
const signalsSeen: CohortSignal[] = [];

beforeAll(async () => {
  aws = await startLocalAws();
  cohorts = new DynamoCohortStore(aws.ddb, aws.stack.tableName);
  const publisher = new TriggerPublisher(aws.eventBridge, aws.stack.eventBusName);
  const apply = cohortSignalApplier({ cohorts, publisher, policy: () => POLICY });
  deps = {
    store: new CameraStateStore(aws.ddb, aws.stack.tableName),
    publisher,
    deadLetters: new DeadLetterQueue(aws.sqs, aws.stack.deadLetterQueueUrl),
    policy: () => POLICY,
    cohorts,
    cohortSignals: async (signals, nowMs) => {
      signalsSeen.push(...signals);
      return apply(signals, nowMs);
    },
    cohortEpochs: new CohortEpochCache(cohorts, 0),
  } as IngestDeps;
});

afterAll(async () => {
  await aws?.stop();
});

/** Distinct events from the tap (consumers dedupe by triggerId; so do we). */
async function collect(timeoutMs = 3000) {
  const seen = new Set(published.map((p) => p.detail.triggerId));
  for (const m of await drain(aws.sqs, aws.stack.tapQueueUrl, 10_000, timeoutMs)) {
    const e = JSON.parse(m.Body!);
    if (seen.has(e.detail.triggerId)) continue;
    seen.add(e.detail.triggerId);
    published.push({ type: e['detail-type'], detail: e.detail });
  }
  return published;
}

interface CameraPlan {
  cameraId: string;
  modelVersion: string;
  /** Minute of event time the drift starts (none: healthy). */
  onsetMin?: number;
  /** Minute the camera goes healthy again. */
  recoverMin?: number;
}

let idCounter = 0;
const eventId = () => `00000000-0000-4000-9000-${(idCounter++).toString(16).padStart(12, '0')}`;

/** One message per camera per `chunkMin` minutes, one DriftScore a minute; messages sent in event-time rounds. */
function messages(plans: CameraPlan[], fromMin: number, toMin: number, chunkMin: number, seed: number) {
  const rand = seededRandom(seed);
  const rounds: { messageId: string; body: string }[][] = [];
  for (let start = fromMin; start < toMin; start += chunkMin) {
    const round = plans.map((p) => {
      const events = [];
      for (let m = start; m < Math.min(toMin, start + chunkMin); m++) {
        const drifting =
          p.onsetMin !== undefined && m >= p.onsetMin && (p.recoverMin === undefined || m < p.recoverMin);
        events.push({
          id: eventId(),
          timestamp: new Date(BASE_TIME + m * MIN).toISOString(),
          camera_id: p.cameraId,
          modality: 'Rgb',
          metric: 'DriftScore',
          value: drifting ? 0.85 + 0.1 * rand() : 0.2 + 0.1 * rand(),
          model_version: p.modelVersion,
        });
      }
      return { messageId: `${p.cameraId}-${start}`, body: JSON.stringify(events) };
    });
    rounds.push(round);
  }
  return rounds;
}

async function run(rounds: { messageId: string; body: string }[][], { twice = false } = {}) {
  for (const round of rounds)
    for (let i = 0; i < round.length; i += 10) {
      const batch = round.slice(i, i + 10);
      const r = await ingestBatch(batch, deps);
      expect(r.failedMessageIds).toEqual([]);
      // At-least-once: the same messages again (a redelivery) change nothing.
      if (twice) expect((await ingestBatch(batch, deps)).applied).toBe(0);
    }
}

const fleet: CameraPlan[] = Array.from({ length: 30 }, (_, c) => ({
  cameraId: `fleet-cam${String(c).padStart(2, '0')}`,
  modelVersion: 'det-v3',
  // 12 of 30 (40 %) drift, onsets staggered evenly over 30 minutes from minute 60.
  ...(c < 12 ? { onsetMin: 60 + Math.round((c * 30) / 11) } : {}),
}));
const lone: CameraPlan[] = Array.from({ length: 21 }, (_, c) => ({
  cameraId: `lone-cam${String(c).padStart(2, '0')}`,
  modelVersion: 'seg-v7',
  ...(c === 0 ? { onsetMin: 70 } : {}),
}));
const healthy: CameraPlan[] = Array.from({ length: 6 }, (_, c) => ({
  cameraId: `calm-cam${c}`,
  modelVersion: 'cls-v1',
}));

describe('fleet decisions on moto', { timeout: 240_000 }, () => {
  it('staggered fleet drift → one model retrain; lone camera → one anomaly; healthy model → nothing', async () => {
    // Two and a half hours of every camera, 10-minute messages, each delivered twice.
    const rounds = messages([...fleet, ...lone, ...healthy], 0, 150, 10, 7);
    await run(rounds, { twice: true });
    const events = await collect();

    const retrains = events.filter((e) => e.type === 'RetrainingRequested');
    expect(retrains).toHaveLength(1);
    const model = retrains[0]!.detail;
    expect(model).toMatchObject({ scope: 'model', modelVersion: 'det-v3', modality: 'Rgb', activeCameras: 30 });
    expect(model.affectedCameraCount).toBeGreaterThanOrEqual(6);
    expect(model.share).toBeGreaterThanOrEqual(0.2);
    expect(model.detectors).toEqual(['drift-mean']);
    expect((model.affectedCameras as string[]).every((c) => c.startsWith('fleet-cam'))).toBe(true);
    expect(model.cameraId).toBeUndefined();
    expect(Date.parse(model.firstEventAt as string)).toBeGreaterThanOrEqual(BASE_TIME + 60 * MIN);

    const anomalies = events.filter((e) => e.type === 'CameraAnomalyDetected');
    expect(anomalies.map((a) => a.detail.cameraId)).toEqual(['lone-cam00']);
    const a = anomalies[0]!.detail;
    expect(a).toMatchObject({ scope: 'camera', modelVersion: 'seg-v7', modality: 'Rgb', peerCount: 20 });
    expect(a.statistic as number).toBeGreaterThan(0.7);
    expect(Math.abs((a.statistic as number) - (a.peerMedian as number))).toBeGreaterThan(0.4);
    expect(a.robustZ as number).toBeGreaterThan(3.5);
    // The confirmation delay: judged no earlier than 30 minutes after the camera became affected.
    expect(Date.parse(a.lastEventAt as string) - Date.parse(a.firstEventAt as string)).toBeGreaterThanOrEqual(30 * MIN);

    // Nothing else: no camera-scope retrain, nothing for the healthy model.
    expect(events.filter((e) => e.detail.scope === 'camera' && e.type !== 'CameraAnomalyDetected')).toEqual([]);
    expect(events.filter((e) => e.detail.modelVersion === 'cls-v1')).toEqual([]);
    for (const e of events) expect(schemaErrors(`out.${e.type}`, e.detail), e.type).toEqual([]);

    // vmon backtest over the same events decides the same, with the same triggerIds.
    const bt = await backtestEventsWithCohorts(
      rounds.flat().flatMap((m) => parseBody(m.body, Date.now()).events),
      () => POLICY,
    );
    expect(bt.triggers.map((t) => [t.detailType, t.detail.triggerId]).sort()).toEqual(
      events.map((e) => [e.type, e.detail.triggerId]).sort(),
    );
  });

  it('vmon state --model shows the cohort; vmon events tail prints model-scope and anomaly events', async () => {
    const dir = await tempDir();
    try {
      const stackFile = await writeStackFile(dir, aws.stack);
      await new PolicyStore(aws.ddb, aws.stack.tableName).put('fleet', POLICY);
      const state = await runVmon(['--stack-file', stackFile, 'state', '--model', 'det-v3', '--modality', 'Rgb']);
      expect(state.code).toBe(0);
      expect(state.stdout).toMatch(
        /^model det-v3 · Rgb\n {2}share: 0\.4 \(12 affected \/ 30 active\) {2}threshold 0\.2, at least 3 cameras/,
      );
      expect(state.stdout).toMatch(/episode: 1 open since .* \(RetrainingRequested, published\)/);
      expect(state.stdout).toMatch(/retrain in flight: /);
      expect(state.stdout).toContain('fleet-cam00  drift-mean  since 2026-11-27T09:0');
      const json = JSON.parse(
        (await runVmon(['--stack-file', stackFile, 'state', '--model', 'seg-v7', '--json'])).stdout,
      );
      expect(json).toHaveLength(1);
      expect(json[0]).toMatchObject({ cohort: { modality: 'Rgb' }, affected: [{ cameraId: 'lone-cam00' }] });
      const missing = await runVmon(['--stack-file', stackFile, 'state', '--model', 'nope']);
      expect(missing.code).toBe(4);
      expect(missing.stderr).toMatch(/no cohort for model "nope"/);
      expect((await runVmon(['--stack-file', stackFile, 'state', 'cam1', '--model', 'x'])).code).toBe(2);

      const lines = published.map((e) => formatBusEvent(JSON.stringify({ 'detail-type': e.type, detail: e.detail })));
      expect(lines.find((l) => l.includes('RetrainingRequested'))).toMatch(
        /RetrainingRequested {2}model det-v3 Rgb {2}share=0\.\d+ {2}affected=\d+\/30 {2}threshold=0\.2 {2}trigger=/,
      );
      expect(lines.find((l) => l.includes('CameraAnomalyDetected'))).toMatch(
        /CameraAnomalyDetected {2}lone-cam00 Rgb DriftScore {2}drift-mean .* peers=20 median=0\.\d+ mad=0\.\d+ z=\d/,
      );
    } finally {
      await new PolicyStore(aws.ddb, aws.stack.tableName).delete('fleet');
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('member records re-published (a crash before the outbox was cleared) count once', async () => {
    const cohort = { modelVersion: 'det-v3', modality: 'Rgb' as const };
    const before = await cohorts.members(cohort);
    const head = (await cohorts.loadHead(cohort)).head;
    const r = await applyCohortSignals(
      signalsSeen,
      { cohorts, publisher: deps.publisher, policyFor: () => POLICY },
      Date.now(),
    );
    expect(r.applied).toBe(0);
    expect(r.stale).toBe(signalsSeen.length);
    const after = await cohorts.members(cohort);
    expect(after.members).toEqual(before.members);
    const headAfter = (await cohorts.loadHead(cohort)).head;
    expect(headAfter.ep).toBe(head.ep);
    expect(cohortCounts(headAfter).affected).toBe(12);
    expect(new Set(after.members.map((m) => shardOf(m.cameraId, cohorts.shardCount))).size).toBeGreaterThan(5);
    await collect(1000);
    expect(published.filter((e) => e.type === 'RetrainingRequested')).toHaveLength(1);
  });

  it('model-scope closed loop: resolves the episode, lifts in-flight, resets cameras lazily', async () => {
    const cohort = { modelVersion: 'det-v3', modality: 'Rgb' as const };
    expect((await cohorts.loadHead(cohort)).head).toMatchObject({ open: true, inFlight: expect.any(Object) });
    const deployedAt = BASE_TIME + 150 * MIN;
    const lc = await handleModelLifecycle(
      [
        {
          messageId: 'deploy-1',
          body: JSON.stringify({
            'detail-type': 'ModelDeployed',
            time: new Date(deployedAt).toISOString(),
            detail: { modelVersion: 'det-v3', modality: 'Rgb' },
          }),
        },
      ],
      deps,
    );
    expect(lc.failedMessageIds).toEqual([]);
    const head = (await cohorts.loadHead(cohort)).head;
    expect(head).toMatchObject({ open: false, epoch: deployedAt });
    expect(head.inFlight).toBeUndefined();
    const resolved = (await collect()).filter((e) => e.type === 'AlertResolved' && e.detail.scope === 'model');
    expect(resolved).toHaveLength(1);
    expect(resolved[0]!.detail).toMatchObject({ resolvedBy: 'ModelDeployed', modelVersion: 'det-v3' });

    // The drifting cameras keep drifting on the same version: each resets lazily on its next batch
    // (baselines after the epoch only), and the cohort may ask again: in-flight was lifted.
    await run(messages(fleet, 150, 170, 10, 8));
    const drifting = await deps.store.load('fleet-cam00');
    expect(drifting.state.ce?.Rgb).toBe(deployedAt);
    expect(drifting.state.reset.Rgb).toBe(deployedAt);
    const retrains = (await collect()).filter((e) => e.type === 'RetrainingRequested');
    expect(retrains).toHaveLength(2);
    expect(retrains[1]!.detail.triggerId).not.toBe(retrains[0]!.detail.triggerId);
    expect(retrains.every((e) => e.detail.scope === 'model')).toBe(true);
  });
});
