// (10) Cohort watermarks (docs/fleet-decisions.md#watermarks): how long after the truth the fleet decides
// under each upload pattern, through the ingest and cohort use cases with in-memory adapters
// (lib/local/fleet-in-memory.ts), seeded:
// - model scope: a drift staggered over 30 minutes on 40 % of 50 cameras; the delay is from the event time
//   the share truly crossed minShare (the k-th camera's alert, k = max(minCameras, ⌈minShare × 50⌉)) to the
//   cohort's event time when the episode opened. `watermarkAddedDelayS` is its median under smooth 60 s
//   uploads: the model-scope decision does not wait for the watermark, so what is left is the upload itself;
//   anomalies for drifting cameras are counted (goal 0);
// - a lone drifting camera among 20 peers: how far past its confirmation time its own event time was when
//   it was judged (it waits until every active peer has reported past that time).
import { inMemoryFleet } from '../../lib/local/fleet-in-memory.js';
import {
  staggeredCohort,
  uploadRounds,
  type UploadCamera,
  COHORT_DRIFT_POLICY,
} from '../../lib/sim/upload-patterns.js';

const START = Date.parse('2026-11-27T00:00:00Z');
const POLICY = COHORT_DRIFT_POLICY;

export interface WatermarkPatternResult {
  uploadMinutes: number;
  seeds: number;
  /** Median seconds from the true share crossing to the model-scope decision (event time). */
  modelDelayS: number;
  modelRetrains: number;
  /** CameraAnomalyDetected for cameras in the model-scope drift, over every seed (goal 0). */
  driftAnomalies: number;
  loneAnomalies: number;
  /** Median seconds of the lone camera's event time past its confirmation when judged. */
  loneJudgedAfterConfirmS: number;
}

export interface WatermarkResult {
  watermarkAddedDelayS: number;
  patterns: WatermarkPatternResult[];
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[s.length >> 1]! : Number.NaN;
};

async function deliverAll(cameras: UploadCamera[], minutes: number, uploadMinutes: number, seed: number) {
  const fleet = inMemoryFleet(POLICY);
  for (const round of uploadRounds(cameras, { startMs: START, minutes, uploadMinutes, seed }))
    await fleet.deliver(round.map((u) => ({ messageId: u.messageId, body: u.body })));
  return fleet;
}

export async function benchWatermarks(opts: { seeds: number }): Promise<WatermarkResult> {
  const patterns: WatermarkPatternResult[] = [];
  for (const uploadMinutes of [1, 30, 60]) {
    const delays: number[] = [];
    const lone: number[] = [];
    let retrains = 0,
      driftAnomalies = 0,
      loneAnomalies = 0;
    for (let seed = 1; seed <= opts.seeds; seed++) {
      const onsetMin = 90 + ((seed * 17) % 60);
      const cameras = staggeredCohort({ modelVersion: 'm', cameras: 50, share: 0.4, onsetMin, spreadMin: 30, seed });
      const fleet = await deliverAll(cameras, onsetMin + 150, uploadMinutes, seed);
      retrains += fleet.triggers.filter(
        (t) => t.detail.scope === 'model' && t.detailType === 'RetrainingRequested',
      ).length;
      driftAnomalies += fleet.triggers.filter((t) => t.detailType === 'CameraAnomalyDetected').length;
      const firedAt: number[] = [];
      for (const c of cameras) {
        const at = (await fleet.store.load(c.cameraId)).state.alerts['drift-mean@Rgb']?.at;
        if (at !== undefined) firedAt.push(at);
      }
      firedAt.sort((a, b) => a - b);
      const k = Math.max(POLICY.cohort.minCameras, Math.ceil(POLICY.cohort.minShare * cameras.length));
      const openedAt = fleet.cohorts.headOf({ modelVersion: 'm', modality: 'Rgb' }).openedAt;
      if (openedAt !== undefined && firedAt.length >= k) delays.push((openedAt - firedAt[k - 1]!) / 1000);

      const peers: UploadCamera[] = Array.from({ length: 21 }, (_, c) => ({
        cameraId: `lone-${c}`,
        modelVersion: 'l',
        ...(c === 0 ? { onsetMin: 60 + ((seed * 7) % 45) } : {}),
      }));
      const loneFleet = await deliverAll(peers, 300, uploadMinutes, seed);
      for (const t of loneFleet.triggers.filter((t) => t.detailType === 'CameraAnomalyDetected')) {
        loneAnomalies++;
        const confirmAt = Date.parse(t.detail.firstEventAt as string) + POLICY.cohort.confirmSeconds * 1000;
        lone.push((Date.parse(t.detail.lastEventAt as string) - confirmAt) / 1000);
      }
    }
    patterns.push({
      uploadMinutes,
      seeds: opts.seeds,
      modelDelayS: median(delays),
      modelRetrains: retrains,
      driftAnomalies,
      loneAnomalies,
      loneJudgedAfterConfirmS: median(lone),
    });
  }
  return { watermarkAddedDelayS: patterns.find((p) => p.uploadMinutes === 1)!.modelDelayS, patterns };
}
