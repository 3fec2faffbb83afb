// Covers the adaptive baseline under the shipped cusum and ewma defaults (lib/core/detectors/
// adaptive-baseline.ts): slow bounded adaptation (a daytime warm-up does not turn nights into
// alarms; a real shift is caught before it is absorbed; held only while the chart fires, so AR(1)
// data alarms about as often as i.i.d. data), the per-hour-of-day baseline (a persistent warm-up
// waits for its first day; the profile learns while the chart fires), the lag-1 prewhitening on
// AR(1) data (ρ a correlation, also on heavy tails), the prior that arms a new stream at once, and
// the small state.
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

  it('uses the hourly baseline once a day of it explains the spread on a daily series, never on an i.i.d. one', () => {
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

  /** 14 days at 5 min of a NAB-like day/night square wave: 20 at night, 80 from 09:00 to 18:00, ±2 noise. */
  const squareDays = (seed: number, days = 14) => {
    const r = rng(seed);
    return Array.from({ length: (days * 86_400_000) / STEP }, (_, i) => {
      const hour = ((i * STEP) % 86_400_000) / 3_600_000;
      return (hour >= 9 && hour < 18 ? 80 : 20) + 2 * r.normal();
    });
  };

  for (const kind of ['cusum', 'ewma'] as const)
    for (const direction of ['up', 'down'] as const)
      it(`${kind} ${direction}: a day/night square wave fires no more than its noise alone would (the persistent warm-up waits for a day); the frozen baseline fires every day`, () => {
        const values = squareDays(7);
        const daily = run(spec(kind, { direction }), values);
        const noiseAlone = run(
          spec(kind, { direction }),
          values.map((v) => v - (v > 50 ? 80 : 20)),
        );
        expect(daily.fired.length).toBeLessThanOrEqual(noiseAlone.fired.length + 2);
        // charted only after the warm-up and one day of hourly means
        expect(daily.firstEvaluation).toBeGreaterThanOrEqual(200 + 288);
        expect(daily.state.a!.hk).toBe(1);
        const frozen = run(spec(kind, { direction, baseline: 'frozen' }), values);
        expect(new Set(frozen.fired.map(day)).size).toBeGreaterThanOrEqual(10);
      });

  it('the hourly profile keeps learning while the chart fires: a cycle that grows by 3σ in the afternoons alarms at first, then is learnt', () => {
    const days = 24;
    const base = daily(12, days);
    const grown = base.map((v, i) => {
      const hour = ((i * STEP) % 86_400_000) / 3_600_000;
      return v + (i * STEP >= 4 * 86_400_000 && hour >= 12 && hour < 18 ? 3 : 0);
    });
    const alarmDays = (values: number[]) => run(spec('cusum'), values).fired.map(day);
    const grownDays = alarmDays(grown);
    expect(grownDays).toContain(4);
    // over the last week, no more alarms than the unchanged cycle gives
    const lastWeek = (ds: number[]) => ds.filter((d) => d >= days - 7).length;
    expect(lastWeek(grownDays)).toBeLessThanOrEqual(lastWeek(alarmDays(base)) + 1);
  });

  it('holding the baseline only while the chart fires: AR(1) data alarms at most 1.6× as often as i.i.d. data', () => {
    const rate = (values: number[]) => run(spec('cusum', { seasonality: 'none' }), values).fired.length;
    let iid = 0,
      ar1 = 0;
    for (let seed = 0; seed < 4; seed++) {
      const r = rng(100 + seed);
      iid += rate(Array.from({ length: 20_000 }, () => r.normal()));
      let prev = 0;
      ar1 += rate(Array.from({ length: 20_000 }, () => (prev = 0.5 * prev + Math.sqrt(0.75) * r.normal())));
    }
    expect(iid).toBeGreaterThan(40); // ≈ 1.3 per 1,000: the comparison has counts to stand on
    expect(ar1).toBeLessThanOrEqual(1.6 * iid);
  });

  it('ρ is a correlation on heavy-tailed AR(1) data too (squared residuals normalise it)', () => {
    const r = rng(31);
    let prev = 0;
    // AR(1) with φ 0.5 and Student-t(3)-like innovations (normal over the root of a scaled χ²)
    const values = Array.from({ length: 20_000 }, () => {
      const chi = (r.normal() ** 2 + r.normal() ** 2 + r.normal() ** 2) / 3;
      return (prev = 0.5 * prev + r.normal() / Math.sqrt(chi));
    });
    const rho = rhoOf(run(spec('cusum', { seasonality: 'none' }), values).state.a!);
    expect(rho).toBeGreaterThan(0.3);
    expect(rho).toBeLessThan(0.65);
  });
});
