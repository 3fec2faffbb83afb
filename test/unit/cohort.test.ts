// Covers the pure fleet-decision core (lib/core/cohort.ts) and the camera step's cohort side: shard
// summaries, the share decision with hysteresis, cohort-scope in-flight and cooldown, the lone-camera
// test (delay, peers catching up, robust z), the policy's cohort fields, and, through the backtest's
// in-memory cohort store, whole fleets: a drift staggered over 30 minutes gives one model retrain and no
// anomaly (and would give anomalies without the confirmation delay and peer statistics), a lone camera
// gets one anomaly.
import { describe, expect, it } from 'vitest';
import {
  closeCohortEpisode,
  cohortCounts,
  decideCohort,
  emptyHead,
  judgeLoneCamera,
  openCohortEpisode,
  robustZ,
  summarizeShard,
  type AffectedMember,
  type MemberRecord,
} from '../../lib/core/cohort.js';
import { applyEvents, emptyState } from '../../lib/core/camera-state.js';
import { parseBody, type MetricEvent } from '../../lib/core/metric-event.js';
import { parsePolicy, PolicyError, type PolicyInput } from '../../lib/core/policy.js';
import { backtestEventsWithCohorts } from '../../lib/cli/backtest.js';
import { seededRandom } from '../../lib/local/faults.js';
import { BASE_TIME, wireEvent } from '../support/fixtures.js';

const MIN = 60_000;
const HOUR = 60 * MIN;
const policyOf = (extra: Partial<PolicyInput> = {}) =>
  parsePolicy({
    id: 'cohort-unit',
    detectors: [
      {
        id: 'drift-mean',
        kind: 'window-mean',
        metric: 'DriftScore',
        action: 'RetrainingRequested',
        windowSize: 3,
        threshold: 0.7,
        hysteresis: 0.05,
      },
      { id: 'p95', kind: 'latency-quantile', metric: 'LatencyMs', action: 'SlaBreached', windowSize: 5, slaMs: 200 },
    ],
    cooldownSeconds: 0,
    ...extra,
  });
const POLICY = policyOf();
const cohort = { modelVersion: 'm1', modality: 'Rgb' as const };
const rec = (over: Partial<MemberRecord> = {}): MemberRecord => ({ q: 1, a: 0, l: BASE_TIME, b: 10, r: 0, ...over });

describe('shard summaries and the share decision', () => {
  it('counts active members of the newest two buckets, affected ones of the newest epoch, not those that left', () => {
    const s = summarizeShard(
      [
        rec({ a: 1, b: 10 }),
        rec({ a: 0, b: 9 }),
        rec({ a: 1, b: 8 }), // inactive: reported two buckets ago
        rec({ a: 1, b: 10, x: 1 }), // left the cohort
      ],
      7,
    );
    expect(s).toMatchObject({ v: 7, n: 1, a: 2, b: 10 });
    const afterReset = summarizeShard([rec({ a: 1, r: 0 }), rec({ a: 1, r: 5 })], 1);
    expect(afterReset).toMatchObject({ n: 1, a: 2, r: 5 });
  });

  it('opens at minShare with at least minCameras, closes below minShare − hysteresis', () => {
    const head = emptyHead();
    const set = (n: number, a: number) => {
      head.shards = { 0: { v: 1, n, a, b: 10, r: 0, t: BASE_TIME } };
    };
    set(2, 5); // 40 % but only 2 cameras
    expect(decideCohort(head, POLICY.cohort)).toBeNull();
    set(3, 16); // 3 cameras but 18.75 %
    expect(decideCohort(head, POLICY.cohort)).toBeNull();
    set(4, 20);
    expect(decideCohort(head, POLICY.cohort)).toBe('open');
    head.open = true;
    set(7, 40); // 17.5 %: inside the hysteresis band
    expect(decideCohort(head, POLICY.cohort)).toBeNull();
    set(2, 20); // 10 % < 20 % − 5 %
    expect(decideCohort(head, POLICY.cohort)).toBe('close');
    // A stale shard (newest bucket two behind) counts nothing.
    head.shards[1] = { v: 1, n: 50, a: 50, b: 8, r: 0, t: BASE_TIME };
    expect(cohortCounts(head)).toMatchObject({ affected: 2, active: 20 });
  });

  it('holds a second retrain back while the first is in flight, and resolves only published episodes', () => {
    const head = emptyHead();
    const affected: AffectedMember[] = ['a', 'b', 'c'].map((cameraId) => ({
      cameraId,
      rec: rec({ a: 1, act: 'RetrainingRequested', d: ['drift-mean'], f: BASE_TIME, l: BASE_TIME + MIN }),
    }));
    const counts = { affected: 3, active: 10, share: 0.3, at: BASE_TIME + MIN };
    const first = openCohortEpisode(head, cohort, affected, counts, POLICY);
    expect(first.trigger?.detail).toMatchObject({
      scope: 'model',
      affectedCameras: ['a', 'b', 'c'],
      affectedCameraCount: 3,
      activeCameras: 10,
      share: 0.3,
    });
    expect(closeCohortEpisode(head, cohort, counts, POLICY)?.detailType).toBe('AlertResolved');
    const second = openCohortEpisode(head, cohort, affected, { ...counts, at: BASE_TIME + HOUR }, POLICY);
    expect(second).toEqual({ trigger: null, suppressed: 'retrain-in-flight' });
    expect(head.ep).toBe(2);
    expect(closeCohortEpisode(head, cohort, counts, POLICY)).toBeNull();
  });

  it('asks for tuning when affected cameras only show an accuracy drop, and caps the listed cameras', () => {
    const head = emptyHead();
    const affected: AffectedMember[] = Array.from({ length: 150 }, (_, i) => ({
      cameraId: `c${String(i).padStart(3, '0')}`,
      rec: rec({ a: 1, act: 'HyperparameterTuningRequested', d: ['acc'], f: BASE_TIME }),
    }));
    const r = openCohortEpisode(
      head,
      cohort,
      affected,
      { affected: 150, active: 300, share: 0.5, at: BASE_TIME },
      POLICY,
    );
    expect(r.trigger?.detailType).toBe('HyperparameterTuningRequested');
    expect(r.trigger?.detail).toMatchObject({ affectedCameraCount: 150, affectedCamerasTruncated: true });
    expect(r.trigger?.detail.affectedCameras).toHaveLength(100);
  });
});

describe('lone camera', () => {
  const peers = (n: number, l: number, s = 0.25): AffectedMember[] =>
    Array.from({ length: n }, (_, i) => ({
      cameraId: `p${i}`,
      rec: rec({ l, s: { 'drift-mean': s + 0.01 * (i % 3) } }),
    }));
  const me: AffectedMember = {
    cameraId: 'me',
    rec: rec({
      a: 1,
      d: ['drift-mean'],
      f: BASE_TIME,
      k: '0b6f4a8e-5d4c-4f3e-9a57-7b1d2c3e4f50',
      s: { 'drift-mean': 0.9 },
    }),
  };
  const at = (l: number) => ({ ...me, rec: { ...me.rec, l } });

  it('waits for the confirmation delay and for peers to catch up, then compares with their median and MAD', () => {
    const head = emptyHead();
    expect(judgeLoneCamera(at(BASE_TIME + 29 * MIN), peers(20, BASE_TIME + HOUR), head, cohort, POLICY).kind).toBe(
      'wait',
    );
    expect(judgeLoneCamera(at(BASE_TIME + 30 * MIN), peers(20, BASE_TIME + 10 * MIN), head, cohort, POLICY).kind).toBe(
      'wait',
    );
    const v = judgeLoneCamera(at(BASE_TIME + 30 * MIN), peers(20, BASE_TIME + HOUR), head, cohort, POLICY);
    expect(v.kind).toBe('anomaly');
    if (v.kind !== 'anomaly') return;
    expect(v.trigger.detail).toMatchObject({ cameraId: 'me', peerCount: 20, statistic: 0.9, peerMedian: 0.26 });
    expect(v.trigger.detail.robustZ as number).toBeGreaterThan(3.5);
  });

  it('dismisses a camera whose cohort is open, or with too few peers, or that sits among its peers', () => {
    const open = { ...emptyHead(), open: true };
    expect(judgeLoneCamera(at(BASE_TIME + HOUR), peers(20, BASE_TIME + HOUR), open, cohort, POLICY).kind).toBe(
      'dismiss',
    );
    expect(judgeLoneCamera(at(BASE_TIME + HOUR), peers(4, BASE_TIME + HOUR), emptyHead(), cohort, POLICY).kind).toBe(
      'dismiss',
    );
    const close = peers(20, BASE_TIME + HOUR, 0.85);
    expect(judgeLoneCamera(at(BASE_TIME + HOUR), close, emptyHead(), cohort, POLICY)).toMatchObject({
      kind: 'dismiss',
      why: expect.stringMatching(/robust z/),
    });
  });

  it('robust z: 0.6745·(x − median)/MAD, the MAD floored', () => {
    expect(robustZ(10, [1, 2, 3, 4, 5], 0.01)).toMatchObject({ median: 3, mad: 1, robustZ: 0.6745 * 7 });
    const floored = robustZ(1, [0.5, 0.5, 0.5], 0.1);
    expect(floored.mad).toBe(0.1);
    expect(floored.robustZ).toBeCloseTo(0.6745 * 5, 9);
  });
});

describe('camera step under the policy scopes', () => {
  const drift = (camera: string, model_version?: string) =>
    parseBody(
      JSON.stringify(
        [0.9, 0.9, 0.9].map((value, i) =>
          wireEvent({ camera_id: camera, value, i, ...(model_version ? { model_version } : {}) }),
        ),
      ),
      Date.now(),
    ).events;

  it('model scope: no camera retrain for a camera with a model version; its cohort hears of it', () => {
    const r = applyEvents(emptyState(), drift('c1', 'm1'), POLICY);
    expect(r.triggers).toEqual([]);
    expect(r.stats.suppressed).toEqual({ 'model-scope': 1 });
    expect(r.state.signals).toHaveLength(1);
    expect(r.state.signals![0]).toMatchObject({ cohort, cameraId: 'c1', rec: { a: 1, d: ['drift-mean'] } });
    const rec = r.state.signals![0]!.rec;
    expect(rec.q).toBe(2 * rec.l + 1); // sequence from the newest time: no counter kept per camera
  });

  it('without a model version, or with retrainScope "camera", the camera decides as today (scope "camera")', () => {
    const noVersion = applyEvents(emptyState(), drift('c2'), POLICY);
    expect(noVersion.triggers.map((t) => [t.detailType, t.detail.scope])).toEqual([['RetrainingRequested', 'camera']]);
    expect(noVersion.state.signals).toBeUndefined();
    const cameraScope = applyEvents(emptyState(), drift('c3', 'm1'), policyOf({ retrainScope: 'camera' }));
    expect(cameraScope.triggers.map((t) => t.detailType)).toEqual(['RetrainingRequested']);
  });

  it('SLA breaches stay per camera under model scope', () => {
    const events = parseBody(
      JSON.stringify(
        Array.from({ length: 5 }, (_, i) =>
          wireEvent({ camera_id: 'c4', metric: 'LatencyMs', value: 400, i, model_version: 'm1' }),
        ),
      ),
      Date.now(),
    ).events;
    expect(applyEvents(emptyState(), events, POLICY).triggers.map((t) => t.detailType)).toEqual(['SlaBreached']);
  });

  it('a newer cohort reset epoch resets the camera lazily, once', () => {
    const first = applyEvents(emptyState(), drift('c5', 'm1'), POLICY);
    const epoch = BASE_TIME + 10_000;
    const ctx = { epochOf: () => epoch };
    const later = parseBody(
      JSON.stringify([wireEvent({ camera_id: 'c5', value: 0.1, i: 20, model_version: 'm1' })]),
      Date.now(),
    ).events;
    const r = applyEvents(first.state, later, POLICY, ctx);
    expect(r.state.reset.Rgb).toBe(epoch);
    expect(r.state.ce?.Rgb).toBe(epoch);
    expect(r.state.alerts['drift-mean@Rgb']?.f).toBe(false);
    expect(r.state.signals?.at(-1)?.rec).toMatchObject({ a: 0, r: epoch });
  });
});

describe('cohort policy data', () => {
  it('fills defaults and refuses bad values, naming the field', () => {
    expect(POLICY.retrainScope).toBe('model');
    expect(POLICY.cohort).toMatchObject({ minShare: 0.2, minCameras: 3, minPeers: 5, confirmSeconds: 1800 });
    expect(() => policyOf({ retrainScope: 'fleet' as never })).toThrow(/retrainScope: must be "model" or "camera"/);
    expect(() => policyOf({ cohort: { minShare: 0.1, hysteresis: 0.1 } })).toThrow(PolicyError);
    expect(() => policyOf({ cohort: { minShare: 0.1, hysteresis: 0.1 } })).toThrow(/cohort\.hysteresis: must be </);
    expect(() => policyOf({ cohort: { minShare: 1.5 } })).toThrow(/cohort\.minShare: must be in \(0, 1\)/);
  });
});

// ---- whole fleets, replayed through the backtest's in-memory cohort store --------------------------

/** Cameras of one model; `onsets` (minutes) for those that drift. One DriftScore a minute for `minutes`. */
function fleetEvents(prefix: string, cameras: number, onsets: Map<number, number>, minutes: number, seed: number) {
  const rand = seededRandom(seed);
  const out: MetricEvent[] = [];
  for (let c = 0; c < cameras; c++)
    for (let m = 0; m < minutes; m++) {
      const onset = onsets.get(c);
      const value = onset !== undefined && m >= onset ? 0.85 + 0.1 * rand() : 0.2 + 0.1 * rand();
      out.push(
        ...parseBody(
          JSON.stringify(wireEvent({ camera_id: `${prefix}${c}`, value, i: m * 60, model_version: `${prefix}-model` })),
          Date.now(),
        ).events,
      );
    }
  return out;
}

describe('whole fleets (backtest)', () => {
  // 40 % of 30 cameras drift, onsets evenly spread over 30 minutes.
  const staggered = new Map(Array.from({ length: 12 }, (_, c) => [c, 60 + Math.round((c * 30) / 11)]));

  it('a drift staggered over 30 minutes: one model retrain, no camera retrain, no anomaly', async () => {
    const r = await backtestEventsWithCohorts(fleetEvents('st', 30, staggered, 150, 1), () => POLICY);
    expect(r.triggers.map((t) => [t.detailType, t.detail.scope])).toEqual([['RetrainingRequested', 'model']]);
  });

  it('without the confirmation delay, the first cameras of the same drift would be called anomalies', async () => {
    const hasty = policyOf({ cohort: { confirmSeconds: 0 } });
    const r = await backtestEventsWithCohorts(fleetEvents('st', 30, staggered, 150, 1), () => hasty);
    expect(r.triggers.filter((t) => t.detailType === 'CameraAnomalyDetected').length).toBeGreaterThan(0);
  });

  it('a lone camera among 20 healthy peers: one CameraAnomalyDetected, no retrain', async () => {
    const r = await backtestEventsWithCohorts(fleetEvents('lo', 21, new Map([[0, 70]]), 150, 2), () => POLICY);
    expect(r.triggers.map((t) => [t.detailType, t.detail.cameraId])).toEqual([['CameraAnomalyDetected', 'lo0']]);
  });
});
