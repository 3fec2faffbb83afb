// Covers each detector through the pure core: direction awareness, warm-up and minimum samples,
// hysteresis (one episode per excursion, AlertResolved when it clears), standardization, and
// isolation of a failing detector.
import { describe, expect, it } from 'vitest';
import { applyEvents, emptyState } from '../../lib/core/camera-state.js';
import { DETECTORS, parsePolicy, type PolicyInput } from '../../lib/core/policy.js';
import { newBaseline, standardize } from '../../lib/core/detectors/standardizer.js';
import { feed, rng, toEvents } from '../support/streams.js';
import { wireEvent } from '../support/fixtures.js';

const policy = (detectors: PolicyInput['detectors'], extra: Partial<PolicyInput> = {}) =>
  parsePolicy({ id: 't', detectors, cooldownSeconds: 0, retrainScope: 'camera', ...extra });
const noise = (seed: number, n: number, mean: number, sd: number) => {
  const r = rng(seed);
  return Array.from({ length: n }, () => mean + sd * r.normal());
};
const types = (fired: { trigger: { detailType: string } }[]) => fired.map((f) => f.trigger.detailType);

describe('window-mean', () => {
  // Tuning, not retraining: a retrain in flight would (rightly) hold back the second episode's trigger.
  const p = policy([
    {
      id: 'wm',
      kind: 'window-mean',
      metric: 'DriftScore',
      action: 'HyperparameterTuningRequested',
      windowSize: 3,
      threshold: 0.7,
      hysteresis: 0.1,
    },
  ]);
  it('waits for a full window, fires once per excursion and resolves below threshold - hysteresis', () => {
    const { fired } = feed(p, [0.9, 0.9, 0.9, 0.9, 0.65, 0.65, 0.65, 0.55, 0.55, 0.55, 0.9, 0.9, 0.9]);
    expect(fired.map((f) => [f.i, f.trigger.detailType])).toEqual([
      [2, 'HyperparameterTuningRequested'], // full window at the 3rd value
      [8, 'AlertResolved'], // 0.65 stays inside the band; the mean reaches ≤ 0.6 at i = 8
      [11, 'HyperparameterTuningRequested'], // (0.55, 0.9, 0.9) → 0.78
    ]);
    expect(fired[0]!.trigger.detail.episodeId).toBe(fired[1]!.trigger.detail.episodeId);
    expect(fired[2]!.trigger.detail.episodeId).not.toBe(fired[0]!.trigger.detail.episodeId);
  });
});

describe('latency-quantile', () => {
  const p = policy([
    {
      id: 'lat',
      kind: 'latency-quantile',
      metric: 'LatencyMs',
      action: 'SlaBreached',
      windowSize: 20,
      quantile: 0.95,
      slaMs: 200,
    },
  ]);
  it('fires on the p95, not on the mean, and not before minSamples', () => {
    // 18 fast + 2 slow: mean ≈ 69 ms but p95 > 200 ms.
    const values = [...Array(18).fill(50), 500, 500];
    const { fired } = feed(p, values, { metric: 'LatencyMs' });
    expect(fired.map((f) => f.i)).toEqual([19]);
    expect(fired[0]!.trigger.detail).toMatchObject({
      detectorKind: 'latency-quantile',
      threshold: 200,
      sampleCount: 20,
      quantile: 0.95,
    });
    expect(fired[0]!.trigger.detail.statistic).toBeGreaterThan(200);
  });
  it('stays quiet when only one value in twenty is slow (p95 interpolates below the SLA)', () => {
    const { fired } = feed(p, [...Array(19).fill(50), 400], { metric: 'LatencyMs' });
    expect(fired).toEqual([]);
  });
});

describe('regression', () => {
  const p = policy([
    {
      id: 'acc',
      kind: 'regression',
      metric: 'Accuracy',
      action: 'HyperparameterTuningRequested',
      baselineSamples: 1000,
      minSamples: 300,
      drop: 0.05,
      z: 3,
      halfLifeSamples: 500,
    },
  ]);
  const acc = (v: number, n = 100, mv = 'v1') => ({
    metric: 'Accuracy' as const,
    sample_count: n,
    model_version: mv,
    value: v,
  });

  it('learns a baseline, ignores rises, and fires on a significant drop', () => {
    const state = emptyState();
    const run = (values: number[], start: number, n = 100, mv = 'v1') =>
      values.flatMap(
        (value, k) =>
          applyEvents(state, toEvents([wireEvent({ camera_id: 'c', i: start + k, ...acc(value, n, mv) })]), p).triggers,
      );
    expect(run(Array(10).fill(0.9), 0)).toEqual([]); // baseline: 1000 labelled samples at 0.9
    expect(run(Array(10).fill(0.99), 10)).toEqual([]); // accuracy rising is not a problem
    const t = run(Array(20).fill(0.8), 20);
    expect(t.map((x) => x.detailType)).toEqual(['HyperparameterTuningRequested']);
    expect(t[0]!.detail).toMatchObject({ metric: 'Accuracy', baseline: 0.9, baselineModelVersion: 'v1' });
  });

  it('is gated on labelled samples: no sample_count, no decision', () => {
    const { fired } = feed(p, [...Array(20).fill(0.9), ...Array(50).fill(0.5)], { metric: 'Accuracy' });
    expect(fired).toEqual([]);
  });

  it('does not alarm on a tiny drop even with huge samples (effect size gate)', () => {
    const { fired } = feed(p, [...Array(5).fill(0.9), ...Array(40).fill(0.89)], {
      metric: 'Accuracy',
      sample_count: 100_000,
    });
    expect(fired).toEqual([]);
  });

  it('learns a new baseline after a model_version change', () => {
    const state = emptyState();
    const at = (v: number, i: number, mv: string) =>
      applyEvents(state, toEvents([wireEvent({ camera_id: 'c', i, ...acc(v, 100, mv) })]), p).triggers;
    for (let i = 0; i < 10; i++) at(0.9, i, 'v1');
    // v2 is simply worse than v1 was: its own baseline is 0.8, so 0.8 is no regression for v2.
    const fired = Array.from({ length: 40 }, (_, k) => at(0.8, 10 + k, 'v2')).flat();
    expect(fired).toEqual([]);
    expect((state.det['acc@Rgb'] as { mv: string }).mv).toBe('v2');
  });
});

describe('cusum and ewma on standardized values', () => {
  for (const kind of ['cusum', 'ewma'] as const) {
    const p = policy([{ id: kind, kind, metric: 'DriftScore', action: 'RetrainingRequested', warmup: 50 }]);
    it(`${kind}: quiet in control, detects a 2σ upward shift quickly, and ignores a downward one`, () => {
      const inControl = noise(7, 300, 0.3, 0.05);
      const base = feed(p, inControl);
      expect(base.fired).toEqual([]);
      const up = feed(p, noise(8, 40, 0.4, 0.05), {}, structuredClone(base.state), 300);
      expect(types(up.fired)[0]).toBe('RetrainingRequested');
      expect(up.fired[0]!.i - 300).toBeLessThan(15);
      expect(up.fired[0]!.trigger.detail.changePointAt).toBeDefined();
      const down = feed(p, noise(9, 100, 0.2, 0.05), {}, structuredClone(base.state), 300);
      expect(down.fired).toEqual([]);
    });
  }

  it('watches drops for quality metrics by default (direction-aware)', () => {
    const p = policy([
      { id: 'acc-cusum', kind: 'cusum', metric: 'Accuracy', action: 'HyperparameterTuningRequested', warmup: 50 },
    ]);
    const base = feed(p, noise(1, 100, 0.9, 0.01), { metric: 'Accuracy' });
    expect(feed(p, noise(2, 50, 0.93, 0.01), { metric: 'Accuracy' }, structuredClone(base.state), 100).fired).toEqual(
      [],
    );
    expect(
      types(feed(p, noise(3, 50, 0.87, 0.01), { metric: 'Accuracy' }, structuredClone(base.state), 100).fired),
    ).toContain('HyperparameterTuningRequested');
  });

  it('does not turn identical values into alarms (sigma floor)', () => {
    const p = policy([{ id: 'c', kind: 'cusum', metric: 'DriftScore', action: 'RetrainingRequested', warmup: 20 }]);
    const { fired } = feed(p, [...Array(20).fill(0.3), ...Array(50).fill(0.3001)]);
    expect(fired).toEqual([]);
  });

  it('the minShift gate holds back statistically significant but practically tiny shifts', () => {
    const p = policy([
      { id: 'c', kind: 'cusum', metric: 'DriftScore', action: 'RetrainingRequested', warmup: 50, minShift: 0.1 },
    ]);
    const base = feed(p, noise(4, 100, 0.3, 0.01));
    expect(feed(p, noise(5, 100, 0.33, 0.01), {}, structuredClone(base.state), 100).fired).toEqual([]);
    expect(feed(p, noise(6, 100, 0.45, 0.01), {}, structuredClone(base.state), 100).fired.length).toBeGreaterThan(0);
  });

  it('standardize learns mean and sigma during warm-up, then returns z-scores', () => {
    const b = newBaseline();
    const out = [1, 2, 3, 4, 5].map((x) => standardize(b, x, 5, 0.001));
    expect(out).toEqual([null, null, null, null, null]);
    expect(standardize(b, 3 + Math.sqrt(2.5), 5, 0.001)).toBeCloseTo(1, 10);
  });
});

describe('error isolation', () => {
  it('a throwing detector is reported and the others still decide', () => {
    const original = DETECTORS.ewma.update;
    DETECTORS.ewma.update = () => {
      throw new Error('boom');
    };
    try {
      const p = policy([
        { id: 'broken', kind: 'ewma', metric: 'DriftScore', action: 'RetrainingRequested' },
        {
          id: 'wm',
          kind: 'window-mean',
          metric: 'DriftScore',
          action: 'RetrainingRequested',
          windowSize: 1,
          threshold: 0.5,
        },
      ]);
      const r = applyEvents(emptyState(), toEvents([wireEvent({ value: 0.9 })]), p);
      expect(r.triggers.map((t) => t.detail.detector)).toEqual(['wm']);
      expect(r.stats.detectorErrors).toEqual([{ detector: 'broken', message: 'boom' }]);
    } finally {
      DETECTORS.ewma.update = original;
    }
  });
});
