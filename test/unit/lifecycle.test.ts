// Covers the alert lifecycle in the pure core: cooldown per camera + action, silences (camera and
// camera + metric), retrain-in-flight suppression and its timeout, escalation by policy, the closed
// loop (model deployed → baselines reset, alerts resolved, suppression lifted; not undone by an
// old-model event at the deployment's time), the per-episode
// record of published vs suppressed (and why), and the lifecycle clock under reordering (the
// camera's newest event time applied, so a late event cannot land in a window that has passed).
import { describe, expect, it } from 'vitest';
import {
  applyEvents,
  applyModelLifecycle,
  cameraClock,
  EPISODE_HISTORY,
  emptyState,
  episodeOutcomes,
  type CameraState,
} from '../../lib/core/camera-state.js';
import { parsePolicy, DEFAULT_POLICY, PolicyError, type PolicyInput } from '../../lib/core/policy.js';
import { toEvents } from '../support/streams.js';
import { BASE_TIME, wireEvent } from '../support/fixtures.js';
import type { WireMetricEvent } from '../../lib/core/metric-event.js';

const policy = (extra: Partial<PolicyInput> = {}) =>
  parsePolicy({
    id: 'p',
    detectors: [
      {
        id: 'drift',
        kind: 'window-mean',
        metric: 'DriftScore',
        action: 'RetrainingRequested',
        windowSize: 1,
        threshold: 0.5,
        hysteresis: 0,
      },
      {
        id: 'lat',
        kind: 'latency-quantile',
        metric: 'LatencyMs',
        action: 'SlaBreached',
        windowSize: 5,
        quantile: 0.5,
        slaMs: 100,
        minSamples: 1,
        hysteresis: 0,
      },
    ],
    cooldownSeconds: 600,
    inFlightTimeoutSeconds: 3600,
    ...extra,
  });

/** Applies one event at second `i` and returns the published detail-types. */
const step = (
  state: CameraState,
  p: ReturnType<typeof policy>,
  i: number,
  over: Partial<WireMetricEvent> & { i?: number },
) => applyEvents(state, toEvents([wireEvent({ camera_id: 'cam', i, ...over })]), p);
const up = (i: number) => ({ i, metric: 'LatencyMs' as const, value: 500 });

describe('cooldown', () => {
  it('holds back the same action for the camera until the cooldown has passed (event time)', () => {
    const s = emptyState();
    const p = parsePolicy({
      id: 'c',
      cooldownSeconds: 600,
      detectors: [
        {
          id: 'd',
          kind: 'window-mean',
          metric: 'DriftScore',
          action: 'HyperparameterTuningRequested',
          windowSize: 1,
          threshold: 0.5,
          hysteresis: 0,
        },
      ],
    });
    const at = (i: number, value: number) => step(s, p, i, { i, value });
    expect(at(0, 0.9).triggers.map((t) => t.detailType)).toEqual(['HyperparameterTuningRequested']);
    expect(at(1, 0.1).triggers.map((t) => t.detailType)).toEqual(['AlertResolved']);
    const held = at(60, 0.9);
    expect(held.triggers).toEqual([]);
    expect(held.stats.suppressed).toEqual({ cooldown: 1 });
    expect(s.alerts['d@Rgb']).toMatchObject({ f: true, p: false, e: 2 });
    expect(at(61, 0.1).triggers).toEqual([]); // an unpublished episode resolves silently
    expect(at(700, 0.9).triggers.map((t) => t.detailType)).toEqual(['HyperparameterTuningRequested']);
  });
});

describe('silences', () => {
  it("mutes a camera + metric until a time, and not the camera's other metrics", () => {
    const s = emptyState(),
      p = policy();
    s.silences.push({ metric: 'LatencyMs', until: BASE_TIME + 100_000 });
    expect(step(s, p, 0, up(0)).stats.suppressed).toEqual({ silenced: 1 });
    expect(step(s, p, 1, { i: 1, value: 0.9 }).triggers.map((t) => t.detailType)).toEqual(['RetrainingRequested']);
  });
  it('mutes the whole camera, and stops muting after `until`', () => {
    const s = emptyState(),
      p = policy({ cooldownSeconds: 0 });
    s.silences.push({ until: BASE_TIME + 10_000 });
    expect(step(s, p, 0, { i: 0, value: 0.9 }).triggers).toEqual([]);
    step(s, p, 1, { i: 1, value: 0.1 });
    expect(step(s, p, 20, { i: 20, value: 0.9 }).triggers.map((t) => t.detailType)).toEqual(['RetrainingRequested']);
  });
});

describe('retrain in flight', () => {
  it('suppresses further retraining triggers for the camera until completion or timeout', () => {
    const s = emptyState(),
      p = policy({ cooldownSeconds: 0 });
    const first = step(s, p, 0, { i: 0, value: 0.9 }).triggers;
    expect(first.map((t) => t.detailType)).toEqual(['RetrainingRequested']);
    expect(s.inFlight?.triggerId).toBe(first[0]!.detail.triggerId);
    step(s, p, 1, { i: 1, value: 0.1 });
    expect(step(s, p, 2, { i: 2, value: 0.9 }).stats.suppressed).toEqual({ 'retrain-in-flight': 1 });
    step(s, p, 3, { i: 3, value: 0.1 });
    // one hour later the retrain is deemed lost: the next episode asks again
    expect(step(s, p, 3700, { i: 3700, value: 0.9 }).triggers.map((t) => t.detailType)).toEqual([
      'RetrainingRequested',
    ]);
  });

  it('is lifted by the closed loop, which also resets baselines and resolves published alerts', () => {
    const s = emptyState(),
      p = policy({ cooldownSeconds: 0 });
    step(s, p, 0, { i: 0, value: 0.9 });
    s.det['x@Rgb'] = { b: { n: 50 } };
    const resolved = applyModelLifecycle(
      s,
      'cam',
      { type: 'ModelDeployed', at: BASE_TIME + 5000, modelVersion: 'v2' },
      () => p,
    );
    expect(resolved.map((t) => [t.detailType, t.detail.resolvedBy])).toEqual([['AlertResolved', 'ModelDeployed']]);
    expect(s.inFlight).toBeUndefined();
    expect(s.det).toEqual({});
    expect(s.reset.Rgb).toBe(BASE_TIME + 5000);
    // old (pre-deploy) values no longer count; a new breach asks for a retrain again
    expect(step(s, p, 6, { i: 6, value: 0.9 }).triggers.map((t) => t.detailType)).toEqual(['RetrainingRequested']);
  });
});

describe('model version', () => {
  it('a deployment is not undone by an old-model event at its time, nor by an older one on another stream', () => {
    const s = emptyState(),
      p = policy({ cooldownSeconds: 0 });
    step(s, p, 0, { i: 0, value: 0.1, model_version: 'v1' });
    step(s, p, 0, { ...up(0), value: 50, model_version: 'v1' });
    step(s, p, 5, { i: 5, value: 0.1, model_version: 'v1' });
    applyModelLifecycle(s, 'cam', { type: 'ModelDeployed', at: BASE_TIME + 5000, modelVersion: 'v2' }, () => p);
    expect(s.mv.Rgb).toBe('v2');
    // The old model's event at the deployment's own second (a tie), and one on the latency stream, which is
    // still behind (newest for its stream, older than the deployment): the camera stays on v2.
    step(s, p, 5, { i: 5, value: 0.2, model_version: 'v1' });
    step(s, p, 3, { ...up(3), value: 50, model_version: 'v1' });
    expect(s.mv.Rgb).toBe('v2');
    // Events after the deployment say which model runs: v1 again is taken as a roll-back.
    step(s, p, 6, { i: 6, value: 0.1, model_version: 'v1' });
    expect(s.mv.Rgb).toBe('v1');
    expect(s.ms?.Rgb).toBe(BASE_TIME + 6000);
  });
});

describe('episode outcomes', () => {
  it('records each episode as published or suppressed, with the reason, and keeps it when the alert closes', () => {
    const s = emptyState(),
      p = policy({ cooldownSeconds: 0 });
    s.silences.push({ until: BASE_TIME + 10_000 });
    step(s, p, 0, { i: 0, value: 0.9 }); // silenced
    step(s, p, 1, { i: 1, value: 0.1 });
    step(s, p, 20, { i: 20, value: 0.9 }); // published, retrain now in flight
    step(s, p, 21, { i: 21, value: 0.1 });
    step(s, p, 22, { i: 22, value: 0.9 }); // retrain in flight
    step(s, p, 23, { i: 23, value: 0.1 });
    expect(s.alerts['drift@Rgb']).toMatchObject({ f: false, e: 3 });
    expect(episodeOutcomes(s.alerts['drift@Rgb']!)).toEqual([
      { episode: 1, outcome: 'silenced' },
      { episode: 2, outcome: 'published' },
      { episode: 3, outcome: 'retrain-in-flight' },
    ]);
    // With a cooldown, and the retrain deemed lost after 1 ms, the next episode is held by the cooldown.
    const c = emptyState(),
      withCooldown = policy({ cooldownSeconds: 600, inFlightTimeoutSeconds: 0.001 });
    step(c, withCooldown, 0, { i: 0, value: 0.9 });
    step(c, withCooldown, 1, { i: 1, value: 0.1 });
    step(c, withCooldown, 60, { i: 60, value: 0.9 });
    expect(episodeOutcomes(c.alerts['drift@Rgb']!)).toEqual([
      { episode: 1, outcome: 'published' },
      { episode: 2, outcome: 'cooldown' },
    ]);
  });

  it(`keeps the outcomes of the newest ${EPISODE_HISTORY} episodes only`, () => {
    const s = emptyState(),
      p = policy({ cooldownSeconds: 0, inFlightTimeoutSeconds: 1 });
    for (let k = 0; k < EPISODE_HISTORY + 3; k++) {
      step(s, p, 10 * k, { i: 10 * k, value: 0.9 });
      step(s, p, 10 * k + 1, { i: 10 * k + 1, value: 0.1 });
    }
    const outcomes = episodeOutcomes(s.alerts['drift@Rgb']!);
    expect(outcomes.map((o) => o.episode)).toEqual(Array.from({ length: EPISODE_HISTORY }, (_, k) => k + 4));
    expect(outcomes.every((o) => o.outcome === 'published')).toBe(true);
  });
});

describe('lifecycle clock under reordering', () => {
  // The camera's clock is moved on by another stream; then a late drift event, older than the clock,
  // opens an episode whose own event time lies inside a window that has passed on the clock.
  const lateEpisode = (s: CameraState, p: ReturnType<typeof policy>) => {
    step(s, p, 1000, { i: 1000, metric: 'LatencyMs', value: 10 });
    expect(cameraClock(s)).toBe(BASE_TIME + 1_000_000);
    return step(s, p, 30, { i: 30, value: 0.9 });
  };

  it('a retrain in flight times out on the camera clock, not on the late event time', () => {
    const s = emptyState(),
      p = policy({ cooldownSeconds: 0, inFlightTimeoutSeconds: 60 });
    step(s, p, 0, { i: 0, value: 0.9 });
    step(s, p, 1, { i: 1, value: 0.1 });
    const late = lateEpisode(s, p);
    expect(late.stats.suppressed).toEqual({});
    expect(late.triggers.map((t) => t.detailType)).toEqual(['RetrainingRequested']);
    // The new retrain is in flight from the clock's time (a window opens on the clock, too).
    expect(s.inFlight?.since).toBe(BASE_TIME + 1_000_000);
  });

  it('a silence that has ended on the camera clock no longer mutes a late event', () => {
    const s = emptyState(),
      p = policy({ cooldownSeconds: 0 });
    s.silences.push({ until: BASE_TIME + 100_000 });
    expect(lateEpisode(s, p).triggers.map((t) => t.detailType)).toEqual(['RetrainingRequested']);
  });

  it('a cooldown that has passed on the camera clock does not hold back a late episode', () => {
    const s = emptyState(),
      p = policy({ cooldownSeconds: 600, inFlightTimeoutSeconds: 1 });
    step(s, p, 0, { i: 0, value: 0.9 });
    step(s, p, 1, { i: 1, value: 0.1 });
    expect(s.cooldown.RetrainingRequested).toBe(BASE_TIME + 600_000);
    expect(lateEpisode(s, p).triggers.map((t) => t.detailType)).toEqual(['RetrainingRequested']);
    expect(s.cooldown.RetrainingRequested).toBe(BASE_TIME + 1_600_000);
  });

  it('a window still open on the camera clock suppresses a late episode, and says why', () => {
    const s = emptyState(),
      p = policy({ cooldownSeconds: 0, inFlightTimeoutSeconds: 3600 });
    step(s, p, 0, { i: 0, value: 0.9 });
    step(s, p, 1, { i: 1, value: 0.1 });
    expect(lateEpisode(s, p).stats.suppressed).toEqual({ 'retrain-in-flight': 1 });
    expect(episodeOutcomes(s.alerts['drift@Rgb']!).at(-1)).toEqual({ episode: 2, outcome: 'retrain-in-flight' });
  });
});

describe('policy', () => {
  it('escalates an accuracy drop to a retrain while drift fires (default policy)', () => {
    const acc = DEFAULT_POLICY.detectors.find((d) => d.id === 'accuracy-regression')!;
    expect(acc.action).toBe('HyperparameterTuningRequested');
    expect(acc.escalate?.action).toBe('RetrainingRequested');
  });

  it('refuses an invalid policy naming every fault', () => {
    const bad = {
      id: 'x',
      detectors: [
        { id: 'a', kind: 'window-mean', metric: 'DriftScore', action: 'Retrain', threshold: 'high' },
        { id: 'a', kind: 'regression', metric: 'LatencyMs', action: 'RetrainingRequested' },
        { id: 'c', kind: 'magic', metric: 'DriftScore', action: 'RetrainingRequested' },
      ],
    };
    let err: PolicyError | undefined;
    try {
      parsePolicy(bad);
    } catch (e) {
      err = e as PolicyError;
    }
    expect(err).toBeInstanceOf(PolicyError);
    const text = err!.message;
    expect(text).toMatch(/detectors\[0\]\.action: must be one of RetrainingRequested/);
    expect(text).toMatch(/detectors\[0\]\.threshold: must be a number/);
    expect(text).toMatch(/detectors\[2\].*kind must be one of window-mean/);
  });

  it('refuses duplicate ids and detectors on the wrong metric', () => {
    expect(() =>
      parsePolicy({
        id: 'x',
        detectors: [
          { id: 'a', kind: 'regression', metric: 'LatencyMs', action: 'RetrainingRequested' },
          { id: 'a', kind: 'window-mean', metric: 'DriftScore', action: 'RetrainingRequested', threshold: 1 },
        ],
      }),
    ).toThrow(
      /detectors\[0\]\.metric: regression watches Accuracy \| Precision \| Recall, not LatencyMs; detectors\[1\]\.id: duplicate detector id "a"/,
    );
  });
});
