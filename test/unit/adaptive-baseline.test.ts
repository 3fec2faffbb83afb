// Covers the adaptive baseline under the shipped cusum and ewma defaults (lib/core/detectors/
// adaptive-baseline.ts): slow bounded adaptation (a daytime warm-up does not turn nights into
// alarms; a real shift is caught before it is absorbed), the per-hour-of-day baseline, the lag-1
// prewhitening on AR(1) data, the prior that arms a new stream at once, and the small state.
import { describe, expect, it } from 'vitest';
import type { MetricEvent } from '../../lib/core/metric-event.js';
import { DetectorSpecSchema, DETECTORS, detectorConfig, type DetectorSpec } from '../../lib/core/policy.js';
import { expected, observe, rhoOf, type AdaptiveBaseline } from '../../lib/core/detectors/adaptive-baseline.js';
import { rng } from '../support/streams.js';

const STEP = 300_000; // one value every 5 minutes
const spec = (kind: 'cusum' | 'ewma', over: Record<string, unknown> = {}) =>
  DetectorSpecSchema.parse({ id: 'd', kind, metric: 'LatencyMs', action: 'SlaBreached', minSigma: 0.001, ...over });

/** Runs one detector over values; returns the indices where it fired (restarting the chart after each). */
function run(s: DetectorSpec, values: number[]) {
  const config = detectorConfig(s);
  let state: { s?: number; z?: number; a?: AdaptiveBaseline } | undefined;
  const fired: number[] = [];
  const levels: number[] = [];
  let firstEvaluation = -1;
  values.forEach((value, i) => {
    const event = { id: 'x', timestamp: '', ts: i * STEP, camera_id: 'c', modality: 'Rgb', metric: s.metric, value };
    const r = DETECTORS[s.kind].update(
      state,
      { event: event as MetricEvent, outcome: 'newest', window: [], firing: false },
      config,
    );
    state = r.state;
    if (r.evaluation && firstEvaluation < 0) firstEvaluation = i;
    if (r.evaluation?.breach) {
      fired.push(i);
      levels.push(state!.a?.m ?? Number.NaN);
      if (state!.s !== undefined) state!.s = 0;
      if (state!.z !== undefined) state!.z = 0;
    }
  });
  return { fired, levels, state: state!, firstEvaluation };
}

const day = (i: number) => Math.floor((i * STEP) / 86_400_000);
/** 8 days at 5 min: a day/night cycle of ±3σ plus N(0, 1) noise, level 100. */
const daily = (seed: number, days = 8, amplitude = 3) => {
  const r = rng(seed);
  return Array.from(
    { length: (days * 86_400_000) / STEP },
    (_, i) => 100 + amplitude * Math.sin((2 * Math.PI * i * STEP) / 86_400_000) + r.normal(),
  );
};

describe('adaptive baseline (shipped default)', () => {
  for (const kind of ['cusum', 'ewma'] as const) {
    it(`${kind}: nights do not become alarms once the daily baseline is learnt; the frozen baseline alarms every day`, () => {
      const values = daily(11);
      const adaptive = run(spec(kind), values);
      const sameNoiseNoCycle = run(spec(kind), daily(11, 8, 0));
      const frozen = run(spec(kind, { baseline: 'frozen' }), values);
      const fromDay3 = (f: number[]) => f.filter((i) => day(i) >= 3);
      // no more alarms than the same noise without a cycle gives (the chart's own false-alarm rate)
      expect(fromDay3(adaptive.fired).length).toBeLessThanOrEqual(fromDay3(sameNoiseNoCycle.fired).length + 1);
      expect(new Set(fromDay3(frozen.fired).map(day)).size).toBeGreaterThanOrEqual(4);
      expect(adaptive.state.a!.hm!.every((m) => m !== null)).toBe(true);
    });

    it(`${kind}: a +1.5σ shift is caught within 25 values, before the baseline absorbs it`, () => {
      const r = rng(5);
      const values = Array.from({ length: 3000 }, (_, i) => 50 + (i >= 2500 ? 1.5 : 0) + r.normal());
      const { fired, levels } = run(spec(kind), values);
      const k = fired.findIndex((i) => i >= 2500);
      expect(fired[k]! - 2500).toBeLessThan(25);
      // held still while out of control: at detection the level has absorbed under 0.2σ of the shift
      expect(Math.abs(levels[k]! - 50)).toBeLessThan(0.2);
    });
  }

  it('adapts slowly and within bounds: a slow 2σ ramp over 10 days adds at most one alarm (the frozen baseline alarms on and on); one outlier moves the level ≤ 3σ · adaptRate', () => {
    const r = rng(8);
    const n = 300 + 10 * 288 + 200;
    const values = Array.from({ length: n }, (_, i) => 20 + Math.min(2, Math.max(0, (i - 300) / 1440)) + r.normal());
    const s = spec('cusum', { seasonality: 'none' });
    const { fired, state } = run(s, values);
    const flat = run(
      s,
      values.map((v, i) => v - Math.min(2, Math.max(0, (i - 300) / 1440))),
    );
    const frozen = run(spec('cusum', { baseline: 'frozen' }), values);
    expect(fired.length).toBeLessThanOrEqual(flat.fired.length + 1);
    expect(frozen.fired.length).toBeGreaterThan(20);
    expect(state.a!.m).toBeGreaterThan(21.6);
    const a = structuredClone(state.a!);
    const c = detectorConfig(s) as unknown as Parameters<typeof observe>[3];
    observe(a, 1e6, n * STEP, c, true);
    expect(a.m - state.a!.m).toBeLessThanOrEqual(0.01 * 3 * state.a!.s + 1e-9);
  });

  it('uses the hourly baseline after 2 days on a daily series, never on an i.i.d. one', () => {
    const c = detectorConfig(spec('cusum')) as unknown as Parameters<typeof expected>[2];
    const cyc = run(spec('cusum'), daily(3, 4)).state.a!;
    const e = expected(cyc, 4 * 86_400_000 + 6 * 3_600_000, c); // 06:00: top of the sine
    expect(e.seasonal).toBe(true);
    expect(e.mean).toBeGreaterThan(102);
    expect(e.sigma).toBeLessThan(1.6);
    const r = rng(4);
    const flat = run(
      spec('cusum'),
      Array.from({ length: 4 * 288 }, () => 100 + 3 * r.normal()),
    ).state.a!;
    expect(expected(flat, 4 * 86_400_000, c).seasonal).toBe(false);
    expect(flat.hm).toBeUndefined(); // no daily cycle: no hourly arrays in the state
  });

  it('estimates lag-1 correlation on AR(1) data and prewhitening cuts the false alarms', () => {
    const r = rng(21);
    let prev = 0;
    const values = Array.from({ length: 20_000 }, () => (prev = 0.5 * prev + Math.sqrt(0.75) * r.normal()));
    const whitened = run(spec('cusum'), values);
    const ignored = run(spec('cusum', { autocorrelation: 'ignore' }), values);
    expect(rhoOf(whitened.state.a!)).toBeGreaterThan(0.3);
    expect(rhoOf(whitened.state.a!)).toBeLessThan(0.65);
    expect(whitened.fired.length * 2).toBeLessThan(ignored.fired.length);
  });

  it('a prior (the modality fleet baseline) arms the chart from the first value; own values take over', () => {
    const r = rng(2);
    const values = Array.from({ length: 400 }, (_, i) => 0.3 + (i >= 20 && i < 40 ? 0.1 : 0) + 0.02 * r.normal());
    const withPrior = run(spec('cusum', { metric: 'DriftScore', prior: { mean: 0.3, sigma: 0.02 } }), values);
    const without = run(spec('cusum', { metric: 'DriftScore' }), values);
    expect(withPrior.firstEvaluation).toBe(0);
    expect(withPrior.fired[0]).toBeGreaterThanOrEqual(20);
    expect(withPrior.fired[0]).toBeLessThan(25);
    expect(without.firstEvaluation).toBe(200); // 200-value warm-up
    // own values took over: the baseline's mean is learnt from the stream
    expect(withPrior.state.a!.n).toBeGreaterThan(200);
  });
});
