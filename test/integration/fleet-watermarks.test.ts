// Covers cohort watermarks on moto (real SDK clients, real DynamoDB conditional writes, EventBridge rules
// feeding the tap queue; the ingest use case in-process as in fleet-decisions.test.ts): a drift staggered
// over 30 minutes on 40 % of a model's cameras, every camera uploading 30 minutes of events per message and
// the fleet's messages shuffled within each half hour, gives exactly one model-scope RetrainingRequested and
// no CameraAnomalyDetected or camera-scope retrain; a lone drifting camera of another model, under the same
// uploads, gets its one CameraAnomalyDetected; and `vmon backtest` over the same events decides the same.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DeadLetterQueue } from '../../lib/adapters/dead-letter.js';
import { CohortEpochCache, DynamoCohortStore } from '../../lib/adapters/cohort-store.js';
import { CameraStateStore } from '../../lib/adapters/state-store.js';
import { TriggerPublisher } from '../../lib/adapters/trigger-publisher.js';
import { cohortSignalApplier } from '../../lib/app/cohort-signals.js';
import { ingestBatch, type IngestDeps } from '../../lib/app/ingest-batch.js';
import { backtestEventsWithCohorts } from '../../lib/cli/backtest.js';
import { parseBody } from '../../lib/core/metric-event.js';
import {
  staggeredCohort,
  uploadRounds,
  type UploadCamera,
  COHORT_DRIFT_POLICY,
} from '../../lib/sim/upload-patterns.js';
import { drain, startLocalAws, type LocalAws } from '../support/local-aws.js';

const START = Date.parse('2026-11-27T00:00:00Z');
const POLICY = COHORT_DRIFT_POLICY;

let aws: LocalAws;
let deps: IngestDeps;

beforeAll(async () => {
  aws = await startLocalAws();
  const cohorts = new DynamoCohortStore(aws.ddb, aws.stack.tableName);
  const publisher = new TriggerPublisher(aws.eventBridge, aws.stack.eventBusName);
  const cache = new CohortEpochCache(cohorts, 0);
  deps = {
    store: new CameraStateStore(aws.ddb, aws.stack.tableName),
    publisher,
    deadLetters: new DeadLetterQueue(aws.sqs, aws.stack.deadLetterQueueUrl),
    policy: () => POLICY,
    cohortSignals: cohortSignalApplier({ cohorts, publisher, policy: () => POLICY, onHead: cache.remember }),
    cohortEpochs: cache,
  };
});

afterAll(async () => {
  await aws?.stop();
});

describe('cohort watermarks on moto', { timeout: 240_000 }, () => {
  it('30-minute uploads shuffled: one model retrain for the staggered drift, one anomaly for the lone camera', async () => {
    const drift = staggeredCohort({
      modelVersion: 'det-v5',
      cameras: 30,
      share: 0.4,
      onsetMin: 113,
      spreadMin: 30,
      seed: 7,
    });
    const lone: UploadCamera[] = Array.from({ length: 21 }, (_, c) => ({
      cameraId: `seg-cam${String(c).padStart(2, '0')}`,
      modelVersion: 'seg-v5',
      ...(c === 0 ? { onsetMin: 80 } : {}),
    }));
    const rounds = uploadRounds([...drift, ...lone], { startMs: START, minutes: 270, uploadMinutes: 30, seed: 7 });
    let events = 0;
    for (const round of rounds)
      for (let i = 0; i < round.length; i += 10) {
        const r = await ingestBatch(
          round.slice(i, i + 10).map((u) => ({ messageId: u.messageId, body: u.body })),
          deps,
        );
        expect(r.failedMessageIds).toEqual([]);
        expect(r.tooLate).toBe(0);
        events += r.applied;
      }
    expect(events).toBe(51 * 270);

    const seen = new Map<string, { type: string; detail: Record<string, unknown> }>();
    for (const m of await drain(aws.sqs, aws.stack.tapQueueUrl, 10_000, 3000)) {
      const e = JSON.parse(m.Body!);
      seen.set(e.detail.triggerId, { type: e['detail-type'], detail: e.detail });
    }
    const published = [...seen.values()];
    expect(published.map((e) => [e.type, e.detail.scope, e.detail.modelVersion, e.detail.cameraId]).sort()).toEqual([
      ['CameraAnomalyDetected', 'camera', 'seg-v5', 'seg-cam00'],
      ['RetrainingRequested', 'model', 'det-v5', undefined],
    ]);
    const retrain = published.find((e) => e.type === 'RetrainingRequested')!.detail;
    expect(retrain.affectedCameraCount as number).toBeGreaterThanOrEqual(6);

    const bt = await backtestEventsWithCohorts(
      rounds.flat().flatMap((u) => parseBody(u.body, Date.now()).events),
      () => POLICY,
    );
    expect(bt.triggers.map((t) => t.detail.triggerId).sort()).toEqual([...seen.keys()].sort());
  });
});
