// Covers the per-metric decision (`mean-shift`, lib/core/detectors/mean-shift.ts) and its budget:
// thresholds derived from the policy's false-alarm budget by the Markov chain (run-length.ts, checked
// against the textbook CUSUM), the budget split over a metric's decisions, policies without the new
// field still parsing (the previous default, with its drift-ewma chart, running as written), arming after its 50-value warm-up (a prior: from the 2nd value, on its own level), both directions in one decision, a level
// shift caught and a lone spike not, the first-day rule (a breach in a stream's first day held until
// its daily question is settled: a daily cycle's first turn never fires, a level that stays fires a day
// after the first value; "decide" and the frozen baseline fire at once), and a Monte Carlo check that
// the whole decision keeps its budget.
import { describe, expect, it } from 'vitest';
import { DEFAULT_POLICY, detectorConfig, parsePolicy, type PolicyInput } from '../../lib/core/policy.js';
import { cusumArl0, cusumThreshold, tToNormal } from '../../lib/core/detectors/run-length.js';
import { meanShift, shiftThresholds, type MeanShiftConfig } from '../../lib/core/detectors/mean-shift.js';
import { feed, rng } from '../support/streams.js';

const policy = (detectors: PolicyInput['detectors'], extra: Partial<PolicyInput> = {}) =>
  parsePolicy({ id: 't', detectors, cooldownSeconds: 0, retrainScope: 'camera', ...extra });
const decision = (over: Record<string, unknown> = {}) =>
  ({
    id: 'shift',
    kind: 'mean-shift',
    metric: 'DriftScore',
    action: 'HyperparameterTuningRequested',
    seasonality: 'none',
    ...over,
  }) as PolicyInput['detectors'][number];
const noise = (seed: number, n: number, mean = 0.2, sd = 0.01) => {
  const r = rng(seed);
  return Array.from({ length: n }, () => mean + sd * r.normal());
};

/** The decision (daily seasonality, its default) on 5-minute values from midnight: breach indexes, change points. */
function run(values: number[], over: Record<string, unknown>) {
  const c = detectorConfig(
    policy([decision({ seasonality: 'daily', ...over })]).detectors[0]!,
  ) as unknown as MeanShiftConfig;
  let state: ReturnType<typeof meanShift.update>['state'] | undefined;
  const breaches: number[] = [];
  const changePointAt: number[] = [];
  let firing = false;
  values.forEach((value, i) => {
    const out = meanShift.update(
      state,
      { event: { ts: i * 300_000, value } as never, outcome: 'newest', window: [], firing },
      c,
    );
    state = out.state;
    const ev = out.evaluation;
    if (ev?.breach && !firing) {
      breaches.push(i);
      changePointAt.push(((ev.details as { changePointMs?: number }).changePointMs ?? NaN) / 300_000);
    }
    if (ev) firing = ev.breach || (firing && !ev.clear);
  });
  return { breaches, changePointAt };
}

describe('run lengths from the Markov chain', () => {
  it('matches the textbook CUSUM within a few percent and inverts to the threshold', () => {
    // Unclipped textbook: one-sided k 0.5 h 5 has ARL0 ≈ 930 and ARL1(+1σ) ≈ 10.4; clipping at 10σ is none.
    expect(cusumArl0(0.5, 5, 0, 10)).toBeGreaterThan(880);
    expect(cusumArl0(0.5, 5, 0, 10)).toBeLessThan(980);
    expect(cusumArl0(0.5, 5, 1, 10)).toBeCloseTo(10.4, 0);
    const h = cusumThreshold(0.5, 2000);
    expect(cusumArl0(0.5, h)).toBeCloseTo(2000, -1);
    expect(cusumThreshold(0.5, 4000)).toBeGreaterThan(h);
  });
  it('turns a t value into the normal value of the same tail', () => {
    expect(tToNormal(2.228, 10)).toBeCloseTo(1.96, 1); // t(10) 97.5 %
    expect(tToNormal(-2.042, 30)).toBeCloseTo(-1.96, 1);
  });
});

describe('the false-alarm budget', () => {
  it('defaults to 0.5 per 1,000 evaluations; stored policies without it still parse', () => {
    expect(DEFAULT_POLICY.falseAlarmBudget.per1kEvaluations).toBe(0.5);
    const p = policy([decision()]);
    expect((detectorConfig(p.detectors[0]!) as unknown as MeanShiftConfig).falseAlarmsPer1k).toBe(0.5);
  });
  it('splits a metric budget over its decisions, and a lower budget means higher thresholds', () => {
    const p = policy([decision({ id: 'a' }), decision({ id: 'b', direction: 'both' })], {
      falseAlarmBudget: { per1kEvaluations: 1, byMetric: { DriftScore: 0.4 } },
    });
    for (const d of p.detectors) expect((detectorConfig(d) as unknown as MeanShiftConfig).falseAlarmsPer1k).toBe(0.2);
    const [h1, h2] = shiftThresholds(0.5, 'up');
    const [l1, l2] = shiftThresholds(0.1, 'up');
    expect(l1).toBeGreaterThan(h1!);
    expect(l2).toBeGreaterThan(h2!);
    // both directions share the same budget: each side's charts get higher thresholds
    expect(shiftThresholds(0.5, 'both')[0]).toBeGreaterThan(h1!);
  });
  it('runs a policy stored with the previous default (its drift-ewma chart) as written', () => {
    const stored = {
      schemaVersion: 1,
      id: 'default',
      detectors: [
        {
          id: 'drift-window-mean',
          metric: 'DriftScore',
          action: 'RetrainingRequested',
          kind: 'window-mean',
          windowSize: 10,
          threshold: 0.7,
        },
        {
          id: 'drift-ewma',
          metric: 'DriftScore',
          action: 'RetrainingRequested',
          kind: 'ewma',
          warmup: 90,
          minShift: 0.12,
          adaptRate: 0.02,
          lambda: 0.15,
          L: 2.75,
        },
        {
          id: 'accuracy-regression',
          metric: 'Accuracy',
          action: 'HyperparameterTuningRequested',
          kind: 'regression',
          escalate: { ifFiring: ['drift-window-mean', 'drift-ewma'], action: 'RetrainingRequested' },
        },
      ],
      cooldownSeconds: 0,
      retrainScope: 'camera',
    };
    const p = parsePolicy(stored);
    expect(p.detectors.map((d) => `${d.id}:${d.kind}`)).toEqual([
      'drift-window-mean:window-mean',
      'drift-ewma:ewma',
      'accuracy-regression:regression',
    ]);
    expect(p.falseAlarmBudget.per1kEvaluations).toBe(0.5);
    // Its EWMA decides after its own 90 values and catches a 0.2 rise (past its 0.12 gate, under the 0.7 level).
    const { fired } = feed(p, [...noise(13, 150, 0.2, 0.02), ...noise(14, 30, 0.4, 0.02)]);
    const first = fired.find((f) => f.trigger.detailType === 'RetrainingRequested')!;
    expect(first.trigger.detail.detector).toBe('drift-ewma');
    expect(first.i).toBeGreaterThanOrEqual(150);
  });
  it('refuses a budget out of range, naming the field', () => {
    expect(() => policy([decision()], { falseAlarmBudget: { per1kEvaluations: 0 } })).toThrow(
      /falseAlarmBudget\.per1kEvaluations: must be in \(0, 100\]/,
    );
    expect(() => policy([decision({ direction: 'sideways' })])).toThrow(/direction: must be "up", "down" or "both"/);
    expect(() => policy([decision({ firstDay: 'later' })])).toThrow(
      /detectors\[0\]\.firstDay: must be "hold" or "decide"/,
    );
  });
});

describe('the decision on a stream', () => {
  it('decides from the 51st value, catches a level shift in either direction, and fires once per episode', () => {
    const p = policy([decision({ direction: 'both' })]);
    const base = noise(1, 400);
    const { fired, state } = feed(p, [...base, ...noise(2, 60, 0.23)]);
    const det = state.det['shift@Rgb'] as { a: { n: number } };
    expect(det.a.n).toBe(460);
    const up = fired.filter((f) => f.trigger.detailType !== 'AlertResolved');
    expect(up).toHaveLength(1);
    expect(up[0]!.i).toBeGreaterThanOrEqual(400);
    expect(up[0]!.i).toBeLessThan(420); // +3σ: a few values
    const down = feed(policy([decision({ direction: 'both' })]), [...base, ...noise(3, 60, 0.17)]).fired;
    expect(down.filter((f) => f.trigger.detailType !== 'AlertResolved').map((f) => f.i >= 400)).toEqual([true]);
  });
  it('gives no decision during the warm-up and one from the first value after it', () => {
    const c = detectorConfig(policy([decision()]).detectors[0]!) as unknown as MeanShiftConfig;
    let state: ReturnType<typeof meanShift.update>['state'] | undefined;
    const evaluated: number[] = [];
    noise(4, 60).forEach((value, i) => {
      const r = meanShift.update(
        state,
        { event: { ts: i * 60_000, value } as never, outcome: 'newest', window: [], firing: false },
        c,
      );
      state = r.state;
      if (r.evaluation) evaluated.push(i);
    });
    expect(evaluated[0]).toBe(50);
    expect(evaluated).toHaveLength(10);
  });
  it('with a prior decides from the second value, on its own level: an offset from the prior is no alarm', () => {
    const c = detectorConfig(
      policy([decision({ prior: { mean: 0.26, sigma: 0.01, n: 50 }, direction: 'both' })]).detectors[0]!,
    ) as unknown as MeanShiftConfig;
    let state: ReturnType<typeof meanShift.update>['state'] | undefined;
    const evaluated: number[] = [];
    let breaches = 0;
    // 6σ below the prior's mean: another camera's level, not a change of this one.
    noise(7, 120).forEach((value, i) => {
      const r = meanShift.update(
        state,
        { event: { ts: i * 60_000, value } as never, outcome: 'newest', window: [], firing: false },
        c,
      );
      state = r.state;
      if (r.evaluation) evaluated.push(i);
      if (r.evaluation?.breach) breaches++;
    });
    expect(evaluated[0]).toBe(1);
    expect(breaches).toBe(0);
  });
  it('does not read a level far above its noise as a persistent stream after a 50-value warm-up', () => {
    // The first value's deviation from 0 once entered the lag-1 sum: ρ ≈ 0.8, a day without decisions.
    for (const seed of [8, 9, 10]) {
      const { state } = feed(policy([decision({ seasonality: 'daily' })]), noise(seed, 60, 0.2, 0.001));
      const a = (state.det['shift@Rgb'] as { a: { r: number; h0?: number } }).a;
      expect(a.h0).toBeUndefined();
      expect(Math.abs(a.r)).toBeLessThan(0.5);
    }
  });
  it('does not fire on a lone spike that decays, however large', () => {
    const values = noise(5, 400);
    values[300] = 5; // 480σ
    values[301] = 0.2 + 0.5 * (5 - 0.2);
    expect(feed(policy([decision({ direction: 'both' })]), values).fired).toHaveLength(0);
  });
  it("holds a breach in the stream's first day: a day/night cycle met after a quiet night is never fired on", () => {
    // 5-minute values from midnight: a quiet night, 09:00-18:00 at 3× the level (NAB's daily square
    // wave, with noise), three days. The first morning is a breach; it is held, and dropped when the
    // level comes back in the evening; the cycle is then the hourly means' to predict.
    const r = rng(11);
    const values = Array.from({ length: 3 * 288 }, (_, i) => {
      const hour = (i % 288) / 12;
      return (hour >= 9 && hour < 18 ? 60 : 20) + r.normal();
    });
    const breaches = (over: Record<string, unknown>) => run(values, over).breaches;
    expect(breaches({})).toEqual([]);
    // Deciding at once fires on the first morning (what the hold is for).
    const decided = breaches({ firstDay: 'decide' })[0]!;
    expect(decided).toBeGreaterThanOrEqual(108); // 09:00
    expect(decided).toBeLessThan(120);
  });
  it('fires a level that moved in the first day and stayed once the day is over, with the change point where it moved', () => {
    const r = rng(12);
    const values = Array.from({ length: 400 }, (_, i) => (i >= 100 ? 0.23 : 0.2) + 0.01 * r.normal());
    const held = run(values, {});
    expect(held.breaches[0]).toBe(288); // a day after the first value: the daily question settled
    expect(held.changePointAt[0]).toBeGreaterThanOrEqual(100);
    expect(held.changePointAt[0]).toBeLessThan(110);
    const decided = run(values, { firstDay: 'decide' }).breaches[0]!;
    expect(decided).toBeGreaterThanOrEqual(100);
    expect(decided).toBeLessThan(110);
    // The frozen baseline (the seed's charts) has no daily question: it fires at once too.
    const frozen = run(values, { baseline: 'frozen' }).breaches[0]!;
    expect(frozen).toBeGreaterThanOrEqual(100);
    expect(frozen).toBeLessThan(110);
  });
  it('keeps the whole decision (both directions) near its budget on i.i.d. noise', () => {
    // 40,000 evaluations at 2 per 1,000: about 80 expected; Poisson noise allows well under 1.5×.
    const c = detectorConfig(
      policy([decision({ direction: 'both' })], { falseAlarmBudget: { per1kEvaluations: 2 } }).detectors[0]!,
    ) as unknown as MeanShiftConfig;
    const r = rng(6);
    let state: ReturnType<typeof meanShift.update>['state'] | undefined;
    let alarms = 0,
      evaluations = 0;
    for (let i = 0; i < 40_050; i++) {
      const out = meanShift.update(
        state,
        { event: { ts: i * 60_000, value: r.normal() } as never, outcome: 'newest', window: [], firing: false },
        c,
      );
      state = out.state;
      if (!out.evaluation) continue;
      evaluations++;
      if (out.evaluation.breach) {
        alarms++;
        state.u = state.u?.map(() => 0);
        state.d = state.d?.map(() => 0);
        delete state.f;
      }
    }
    const per1k = (1000 * alarms) / evaluations;
    expect(per1k).toBeGreaterThan(0.5);
    expect(per1k).toBeLessThan(1.5 * 2);
  });
});
