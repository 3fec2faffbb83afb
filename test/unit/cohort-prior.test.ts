// Covers the cohort prior, pure (lib/core/cohort-prior.ts, its use in lib/core/cohort.ts and
// lib/core/camera-state.ts) and through `vmon backtest`'s replay (lib/cli/backtest.ts): the compact text
// the cohort items store it in; the prior computed
// from member records (medians over healthy current members; a drifting minority, alarmed cameras, records
// of an older reset epoch and too few cameras do not make or move it); a camera reports its baseline only
// once its own warm-up is done; a new camera's chart arms from its first value on the pinned prior, its
// own values take over at the end of the warm-up (the pin is dropped), an explicit policy prior wins, and
// with no cohort prior it warms up as before; a fleet replay arms a joining camera at once and catches a
// drift it has from its first event, which without cohort data it never catches.
import { describe, expect, it } from 'vitest';
import {
  cohortPriorOf,
  emptyHead,
  summarizeShard,
  type CohortSignal,
  type MemberRecord,
} from '../../lib/core/cohort.js';
import {
  cameraBaselines,
  cohortPriors,
  decodeMetricNumbers,
  encodeMetricNumbers,
  MIN_PRIOR_CAMERAS,
} from '../../lib/core/cohort-prior.js';
import { applyEvents, emptyState, type CohortContext } from '../../lib/core/camera-state.js';
import type { MetricEvent } from '../../lib/core/metric-event.js';
import { parsePolicy, type PolicyInput } from '../../lib/core/policy.js';
import { PRIOR_WEIGHT } from '../../lib/core/priors.js';
import { backtestEventsWithCohorts } from '../../lib/cli/backtest.js';
import { seededRandom } from '../../lib/local/faults.js';
import { BASE_TIME } from '../support/fixtures.js';
import { DEFAULT_POLICY } from '../../lib/core/policy.js';
import { cameraItem } from '../../lib/adapters/state-store.js';
import { itemSizeBytes } from '../../lib/adapters/item-size.js';

const MIN = 60_000;
const WARMUP = 200;
const policyOf = (extra: Record<string, unknown> = {}) =>
  parsePolicy({
    id: 'prior-unit',
    detectors: [
      {
        id: 'drift-cusum',
        kind: 'cusum',
        metric: 'DriftScore',
        action: 'RetrainingRequested',
        warmup: WARMUP,
        ...extra,
      },
      { id: 'drift-ewma', kind: 'ewma', metric: 'DriftScore', action: 'RetrainingRequested', warmup: WARMUP, ...extra },
    ],
    cooldownSeconds: 0,
  } as PolicyInput);
const POLICY = policyOf();
/** The EWMA's λ at its defaults (the charts take λ · z first). */
const LAMBDA = (POLICY.detectors.find((d) => d.id === 'drift-ewma') as { lambda: number }).lambda;

const rec = (level: number, scale: number, over: Partial<MemberRecord> = {}): MemberRecord => ({
  q: 1,
  a: 0,
  l: BASE_TIME,
  b: 10,
  r: 0,
  p: { DriftScore: [level, scale] },
  ...over,
});

/** Gaussian values around `level` (Box-Muller on the seeded generator). */
function gaussian(rand: () => number) {
  return () => Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
}

let eventId = 0;
function stream(camera: string, from: number, count: number, value: (i: number) => number, mv?: string): MetricEvent[] {
  return Array.from({ length: count }, (_, i) => {
    const ts = from + i * MIN;
    return {
      id: `00000000-0000-4000-8000-${String(++eventId).padStart(12, '0')}`,
      timestamp: new Date(ts).toISOString(),
      ts,
      camera_id: camera,
      modality: 'Rgb',
      metric: 'DriftScore',
      value: value(i),
      ...(mv ? { model_version: mv } : {}),
    } as MetricEvent;
  });
}

describe('the prior from member records', () => {
  it('is the median of healthy members: alarmed cameras, a drifting minority and older epochs do not move it', () => {
    const members = [
      rec(0.2, 0.05),
      rec(0.21, 0.05),
      rec(0.19, 0.06),
      rec(0.2, 0.04),
      rec(0.22, 0.05),
      rec(0.9, 0.3, { a: 1 }), // alarmed: left out
      rec(0.6, 0.05), // drifting, not yet alarmed: a minority, the median holds
      rec(0.1, 0.05, { r: -1 }), // made before the shard's newest reset epoch
    ];
    members[0]!.r = 0;
    const s = summarizeShard(members, 3);
    expect(s.p?.DriftScore?.[2]).toBe(6); // five healthy + the undetected drifting one
    expect(s.p?.DriftScore?.[0]).toBeCloseTo(0.205, 3);
    const prior = cohortPriorOf({ ...emptyHead(), shards: { 0: s } }).DriftScore!;
    expect(prior.mean).toBeCloseTo(0.205, 3);
    expect(prior.n).toBe(PRIOR_WEIGHT);
    expect(prior.cameras).toBe(6);
    // √(within² + between²): within 0.05, between 1.4826 × MAD of the levels (0.01).
    expect(prior.sigma).toBeGreaterThan(0.05);
    expect(prior.sigma).toBeLessThan(0.06);
  });

  it('combines shards by camera-weighted medians, counts only active current-epoch shards, and needs enough cameras', () => {
    const shard = (levels: number[], over: Partial<MemberRecord> = {}) =>
      summarizeShard(
        levels.map((l) => rec(l, 0.05, over)),
        1,
      );
    const head = {
      ...emptyHead(),
      shards: { 0: shard([0.2]), 1: shard([0.21, 0.19]), 2: shard([0.2]), 3: shard([5]), 4: shard([7], { b: 3 }) },
    };
    const prior = cohortPriorOf(head).DriftScore!;
    expect(prior.cameras).toBe(5); // shard 4 is stale (bucket 3 < newest − 1)
    expect(prior.mean).toBeCloseTo(0.2, 3); // the one far-off camera (5) does not pull it
    expect(cohortPriorOf({ ...head, epoch: 1 }).DriftScore).toBeUndefined(); // all summaries predate the epoch
    const few = cohortPriors([{ p: { DriftScore: [0.2, 0.05, MIN_PRIOR_CAMERAS - 1, 0] } }]);
    expect(few.DriftScore).toBeUndefined();
  });

  it('a camera reports its own baseline only after its warm-up, and a record goes out when it completes', () => {
    const rand = gaussian(seededRandom(1));
    const state = emptyState();
    const first = stream('cam-a', BASE_TIME, WARMUP - 1, () => 0.3 + 0.05 * rand(), 'm1');
    applyEvents(state, first, POLICY);
    expect(cameraBaselines(state.det, 'Rgb', POLICY)).toEqual({});
    delete state.signals;
    applyEvents(
      state,
      stream('cam-a', BASE_TIME + WARMUP * MIN, 2, () => 0.3, 'm1'),
      POLICY,
    );
    const [level, scale] = cameraBaselines(state.det, 'Rgb', POLICY).DriftScore!;
    expect(level).toBeCloseTo(0.3, 1);
    expect(scale).toBeGreaterThan(0.03);
    // Same activity bucket, still healthy: only the completed warm-up makes this record.
    const signals = state.signals as CohortSignal[] | undefined; // (tsc narrowed it at the delete)
    expect(signals?.map((s) => s.rec.p?.DriftScore)).toEqual([[level, scale]]);
  });
});

describe('the compact text of baselines in cohort items', () => {
  it('round-trips, and a corrupt one is refused naming it', () => {
    const p = { DriftScore: [0.2031, 0.0493, 12, 0.0061], LatencyMs: [81.5, 3.2] };
    const text = encodeMetricNumbers(p);
    expect(text).toBe('3:0.2031,0.0493,12,0.0061;4:81.5,3.2');
    expect(decodeMetricNumbers(text)).toEqual(p);
    expect(() => decodeMetricNumbers('9:1,2')).toThrow(/corrupt cohort baselines "9:1,2"/);
    expect(() => decodeMetricNumbers('3:1,x')).toThrow(/corrupt cohort baselines/);
  });
});

describe('a new camera on the cohort prior', () => {
  const PRIOR = { mean: 0.2, sigma: 0.05, n: PRIOR_WEIGHT };
  const ctx = (prior = PRIOR): CohortContext => ({ epochOf: () => undefined, priorOf: () => prior });

  it('arms from its first value on the cohort prior; its own values take over at the end of the warm-up', () => {
    const rand = gaussian(seededRandom(2));
    const state = emptyState();
    // Its own level (0.25) differs from the cohort's (0.2): the blend moves toward it.
    const r = applyEvents(
      state,
      stream('new', BASE_TIME, 1, () => 0.25, 'm1'),
      POLICY,
      ctx(),
    );
    expect(r.stats.applied).toBe(1);
    const st = state.det['drift-ewma@Rgb'] as { t: number; z: number };
    expect(st.t).toBe(1); // the chart took its first value
    expect(st.z).toBeCloseTo(LAMBDA * ((0.25 - 0.2) / 0.05), 6); // λ · z against the prior's mean and sigma
    applyEvents(
      state,
      stream('new', BASE_TIME + MIN, WARMUP - 1, () => 0.25 + 0.02 * rand(), 'm1'),
      POLICY,
      ctx(),
    );
    const [level] = cameraBaselines(state.det, 'Rgb', POLICY).DriftScore!;
    expect(level).toBeCloseTo(0.25, 2); // the baseline is its own, not the prior's
  });

  it('warms up as before with no cohort prior; an explicit policy prior wins over the cohort one', () => {
    const state = emptyState();
    applyEvents(
      state,
      stream('new', BASE_TIME, 10, () => 0.2, 'm1'),
      POLICY,
      { epochOf: () => undefined },
    );
    expect((state.det['drift-ewma@Rgb'] as { t: number }).t).toBe(0); // not armed: warming up

    const explicit = policyOf({ prior: { mean: 1, sigma: 0.1, n: 10 } });
    const s2 = emptyState();
    applyEvents(
      s2,
      stream('new', BASE_TIME, 1, () => 0.2, 'm1'),
      explicit,
      ctx(),
    );
    // Against the spec's prior (mean 1, sigma 0.1): z = −8, Huber-clipped at −2.5; the cohort's would give 0.
    expect((s2.det['drift-ewma@Rgb'] as { z: number }).z).toBeCloseTo(LAMBDA * -2.5, 6);
  });

  // The prior itself stores nothing; the charts' own fields appear from the first value instead of after
  // the warm-up (measured: 1,008 B at most during the warm-up vs 958 B warming up alone; both reach the
  // same steady state once warmed up).
  it('keeps the item ≤ 1 KB throughout the warm-up on the prior: five metrics, a 128-character id, default policy', () => {
    const camera = 'c'.repeat(128);
    const metrics = ['Accuracy', 'Precision', 'Recall', 'DriftScore', 'LatencyMs'] as const;
    const rand = gaussian(seededRandom(5));
    const state = emptyState();
    let largest = 0;
    // The default policy's drift decision (its per-metric mean-shift).
    const drift = DEFAULT_POLICY.detectors.find((d) => d.metric === 'DriftScore' && d.kind === 'mean-shift')!;
    const warmup = drift.kind === 'mean-shift' ? drift.warmup : 200;
    // 20 events a batch, one in five a DriftScore: the default policy's warm-up spans these batches, and a few after.
    for (let b = 0; b < warmup / 4 + 5; b++) {
      const events = Array.from({ length: 20 }, (_, k) => {
        const i = b * 20 + k;
        const metric = metrics[i % 5]!;
        const value = metric === 'LatencyMs' ? 80 + 10 * rand() : metric === 'DriftScore' ? 0.2 + 0.05 * rand() : 0.9;
        return {
          ...stream(camera, BASE_TIME + i * 1000, 1, () => value, 'yolov8n-2026.11.02')[0]!,
          metric,
          sample_count: 120,
        };
      });
      applyEvents(state, events, DEFAULT_POLICY, ctx());
      delete state.signals; // applied and cleared after the write, as the outbox is
      // Armed on the prior: it decides from its second value (its CUSUMs are there after the first batch).
      if (b === 0) expect((state.det[`${drift.id}@Rgb`] as { u?: number[] }).u).toHaveLength(2);
      largest = Math.max(largest, itemSizeBytes(cameraItem(camera, state, 123456, BASE_TIME)));
    }
    expect(largest).toBeLessThanOrEqual(1024);
  });

  it('a camera without a model version has no cohort and gets no prior', () => {
    const state = emptyState();
    applyEvents(
      state,
      stream('new', BASE_TIME, 3, () => 0.2),
      POLICY,
      ctx(),
    );
    expect((state.det['drift-ewma@Rgb'] as { t: number }).t).toBe(0);
  });
});

describe('fleet replay (vmon backtest) with the cohort prior', () => {
  /** 12 established cameras (levels spread by 0.01, noise 0.05), then one joining with a drift from its first event. */
  function fleet(newCameraVersion: string | undefined, shiftSigmas: number) {
    const rand = gaussian(seededRandom(7));
    const events: MetricEvent[] = [];
    for (let c = 0; c < 12; c++) {
      const level = 0.2 + 0.01 * rand();
      events.push(...stream(`old-${c}`, BASE_TIME, 400, () => level + 0.05 * rand(), 'm1'));
    }
    const join = BASE_TIME + 300 * MIN;
    events.push(...stream('joiner', join, 100, () => 0.2 + shiftSigmas * 0.05 + 0.05 * rand(), newCameraVersion));
    return { events, join };
  }
  const policy = () => POLICY;
  // Model scope (the default): the camera's drift goes to its cohort, not out as a camera trigger; its
  // alert state says whether and how often its chart fired.
  const joiner = (r: Awaited<ReturnType<typeof backtestEventsWithCohorts>>) => {
    const state = r.states.get('joiner')!;
    return { t: (state.det['drift-ewma@Rgb'] as { t: number }).t, episodes: state.alerts['drift-ewma@Rgb']?.e ?? 0 };
  };

  it('a camera joining an established cohort arms at once and catches a drift it has from its first event', async () => {
    const { events } = fleet('m1', 2);
    const r = await backtestEventsWithCohorts(events, policy);
    expect(joiner(r)).toEqual({ t: 100, episodes: 1 }); // every value charted; the drift caught
    // It armed on the cohort's level and spread (the joiner, affected, is not part of it).
    const head = r.cohorts.find((c) => c.cohort.modelVersion === 'm1')!.head;
    const { mean, sigma, n, cameras } = cohortPriorOf(head).DriftScore!;
    expect(cameras).toBe(12);
    expect(mean).toBeCloseTo(0.2, 1);
    expect(sigma).toBeGreaterThan(0.04);
    expect(sigma).toBeLessThan(0.07);
    expect(n).toBe(PRIOR_WEIGHT);
  });

  it('with no cohort (no model version) the same camera warms up for 200 values and never sees the drift', async () => {
    const { events } = fleet(undefined, 2);
    const r = await backtestEventsWithCohorts(events, policy);
    expect(joiner(r)).toEqual({ t: 0, episodes: 0 }); // 100 values: still warming up, blind
  });
});
