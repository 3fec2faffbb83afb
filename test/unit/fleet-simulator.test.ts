// Covers the demo's fleet simulator and verdict logic without AWS: same seed → byte-identical
// messages; every message is the producers' wire format (valid events parse, each bad part is
// rejected with a reason); messages come in event-time order; scenarios change the metric they
// claim to, after their onset; every camera's DriftScore rises at night by a modality-dependent
// amplitude; the run's start hour of day and the nights it crosses; and the summary's
// expected-vs-detected rules, with false triggers on healthy cameras per detector and at night.
import { describe, expect, it } from 'vitest';
import { parseBody } from '../../lib/core/metric-event.js';
import { FLEET_DEFAULTS, FleetSimulator, latestAtHourOfDay } from '../../lib/sim/fleet-simulator.js';
import { scenarioCounts, SCENARIOS } from '../../lib/sim/scenarios.js';
import { formatSummary, reasonGroup, summarize, type EventAccounting } from '../../lib/demo/summary.js';

const START = Date.parse('2026-11-26T00:00:00Z');
const NOW = START + 12 * 3600_000;
const small = (seed = 3) => new FleetSimulator({ cameras: 40, hours: 4, seed, startMs: START });

describe('fleet simulator', () => {
  it('is deterministic for a seed and differs across seeds', () => {
    const a = [...small().messages()].map((m) => m.body);
    const b = [...small().messages()].map((m) => m.body);
    const c = [...small(4).messages()].map((m) => m.body);
    expect(a).toEqual(b);
    expect(a).not.toEqual(c);
    // Another start time shifts the timestamps only: the demo's verdict does not depend on the clock.
    const values = (sim: FleetSimulator) => {
      [...sim.messages()];
      return sim.cameras.map((cam) => sim.sent.get(cam.id)!.Accuracy!.map((p) => p.value));
    };
    expect(values(new FleetSimulator({ cameras: 40, hours: 4, seed: 3, startMs: START + 5 * 3600_000 }))).toEqual(
      values(small()),
    );
  });

  it('speaks the wire format: valid events parse, each bad part is rejected with a reason', () => {
    let valid = 0,
      bad = 0;
    for (const m of small().messages()) {
      const parsed = parseBody(m.body, NOW);
      expect(parsed.events).toHaveLength(m.validEvents);
      expect(parsed.rejections).toHaveLength(m.badParts);
      for (const r of parsed.rejections) expect(r.reason.length).toBeGreaterThan(10);
      valid += m.validEvents;
      bad += m.badParts;
    }
    expect(valid).toBe(40 * 4 * (3600 / FLEET_DEFAULTS.sampleIntervalSec) * 5);
    expect(bad).toBeGreaterThan(0);
  });

  it('sends in event-time order, every camera hourly, and gives every scenario its cameras', () => {
    const sim = small();
    const msgs = [...sim.messages()];
    for (let i = 1; i < msgs.length; i++) expect(msgs[i]!.sendAtMs).toBeGreaterThanOrEqual(msgs[i - 1]!.sendAtMs);
    const counts = scenarioCounts(40);
    for (const s of SCENARIOS) expect(sim.cameras.filter((c) => c.scenario === s.id)).toHaveLength(counts[s.id]);
    expect(counts.healthy).toBeGreaterThan(20);
    expect(() => scenarioCounts(5)).toThrow(/too small/);
  });

  it('changes the metric each scenario is about, after its onset only', () => {
    const sim = small();
    [...sim.messages()];
    const meanOf = (id: string, metric: 'DriftScore' | 'Accuracy' | 'LatencyMs', from: number, to: number) => {
      const pts = sim.sent.get(id)![metric]!.filter((p) => p.ts >= from && p.ts < to);
      return pts.reduce((s, p) => s + p.value, 0) / pts.length;
    };
    const check = (
      scenario: string,
      metric: 'DriftScore' | 'Accuracy' | 'LatencyMs',
      direction: 1 | -1,
      minChange: number,
    ) => {
      const cam = sim.cameras.find((c) => c.scenario === scenario)!;
      const before = meanOf(cam.id, metric, START, cam.onsetMs!);
      const after = meanOf(cam.id, metric, cam.onsetMs! + 45 * 60_000, cam.onsetMs! + 80 * 60_000);
      expect(direction * (after - before), scenario).toBeGreaterThan(minChange);
    };
    check('drift', 'DriftScore', 1, 0.4);
    check('accuracy-regression', 'Accuracy', -1, 0.05);
    check('latency-regression', 'LatencyMs', 1, 200);
    const healthy = sim.cameras.find((c) => c.scenario === 'healthy')!;
    expect(Math.max(...sim.sent.get(healthy.id)!.DriftScore!.map((p) => p.value))).toBeLessThan(0.6);
  });
});

describe('demo summary', () => {
  const sim = small();
  const events: EventAccounting = {
    messagesSent: 1,
    sent: 10,
    applied: 10,
    badPartsSent: 0,
    rejected: 0,
    duplicateDeadLetters: 0,
    redriven: 0,
    lost: 0,
    badPartsLost: 0,
  };
  const state = { matching: 40, expected: 40, mismatches: [] };
  const drift = sim.cameras.filter((c) => c.scenario === 'drift');
  const healthy = sim.cameras.find((c) => c.scenario === 'healthy')!;

  it('counts a trigger before onset or of another type as unexpected, and marks missing detectors', () => {
    const s = summarize({
      cameras: sim.cameras,
      deadLetters: [],
      events,
      state,
      maxReceiveCount: 5,
      availableActions: ['RetrainingRequested'],
      triggers: [
        ...drift.map((c) => ({
          detailType: 'RetrainingRequested',
          cameraId: c.id,
          firedAtMs: c.onsetMs! + 30 * 60_000,
        })),
        { detailType: 'RetrainingRequested', cameraId: drift[0]!.id, firedAtMs: drift[0]!.onsetMs! - 60_000 },
        { detailType: 'SlaBreached', cameraId: healthy.id, firedAtMs: START },
      ],
    });
    const row = (id: string) => s.rows.find((r) => r.scenario === id)!;
    expect(row('drift')).toMatchObject({ detected: drift.length, unexpectedTriggers: 1, status: 'FAIL' });
    expect(row('drift').delayMinutes).toEqual({ median: 30, max: 30 });
    // 2% of 29 healthy cameras rounds down to no false alarm allowed.
    expect(row('healthy')).toMatchObject({ cameras: 29, unexpectedTriggers: 1, status: 'FAIL' });
    expect(row('latency-regression')).toMatchObject({
      expected: 'SlaBreached (needs detector)',
      status: 'needs detector',
    });
    expect(row('drift-recovers').status).toBe('FAIL'); // no AlertResolved came
    expect(s.ok).toBe(false);
  });

  it('counts false triggers on healthy cameras per detector and at night', () => {
    const H = 3600_000;
    const night = { from: START + H, to: START + 3 * H, whole: true };
    const base = { cameras: sim.cameras, deadLetters: [], events, state, maxReceiveCount: 5 };
    const s = summarize({
      ...base,
      availableActions: ['RetrainingRequested', 'SlaBreached'],
      nights: [night],
      triggers: [
        { detailType: 'RetrainingRequested', cameraId: healthy.id, detector: 'drift-ewma', firedAtMs: START + 2 * H },
        { detailType: 'SlaBreached', cameraId: healthy.id, detector: 'latency-p95', firedAtMs: START + 30 * 60_000 },
        // the night ends at its dawn: a trigger at dawn is a daytime one
        { detailType: 'RetrainingRequested', cameraId: healthy.id, detector: 'drift-ewma', firedAtMs: night.to },
      ],
    });
    expect(s.falseTriggersOnHealthy).toBe(3);
    expect(s.falseTriggersByDetector).toEqual([
      { detector: 'drift-ewma', count: 2, atNight: 1 },
      { detector: 'latency-p95', count: 1, atNight: 0 },
    ]);
    expect(s.night).toMatchObject({ healthyThroughWholeNight: 29, falseTriggersAtNight: 1 });
    const text = formatSummary(s);
    expect(text).toContain('drift-ewma 2 (1 at night), latency-p95 1 (0 at night)');
    expect(text).toContain(
      'night (18:00-06:00 local): 1 whole night(s) in the run; 29 healthy cameras sent through it',
    );
    // A run told of no nights has no night line; one that only clips a night has no camera through a whole one.
    expect(summarize({ ...base, availableActions: [], triggers: [] }).night).toBeNull();
    expect(
      summarize({ ...base, availableActions: [], triggers: [], nights: [{ ...night, whole: false }] }).night,
    ).toMatchObject({ healthyThroughWholeNight: 0, falseTriggersAtNight: 0 });
  });

  it('groups DLQ reasons that differ only by array position, and counts a re-sent dead letter once', () => {
    expect(reasonGroup('[3].metric: bad', 5)).toBe('metric: bad');
    expect(reasonGroup(undefined, 5)).toMatch(/after 5 failed receives/);
    const letter = { sourceMessageId: 'm1', index: '3', reason: '[3].metric: bad', receiveCount: 1 };
    const s = summarize({
      cameras: sim.cameras,
      triggers: [],
      events,
      state,
      maxReceiveCount: 5,
      availableActions: [],
      deadLetters: [
        letter,
        { ...letter, receiveCount: 2 },
        { ...letter, index: '4', reason: '[4].metric: bad' },
        { sourceMessageId: 'm2', receiveCount: 6 },
      ],
    });
    expect(s.deadLetters).toMatchObject({ total: 3, rejected: 2, redrivenMessages: 1 });
    expect(s.deadLetters.byReason).toEqual([
      { reason: 'metric: bad', count: 2 },
      { reason: reasonGroup(undefined, 5), count: 1 },
    ]);
  });
});

describe('daily cycle', () => {
  it('every camera has an AR(1) DriftScore with a night rise whose amplitude depends on the modality', () => {
    const sim = new FleetSimulator({ cameras: 30, hours: 24, seed: 3, startMs: Date.parse('2026-01-05T00:00:00Z') });
    for (const _ of sim.messages());
    const healthy = sim.cameras.filter((c) => c.scenario === 'healthy');
    const rise = (modality: string) => {
      const cams = healthy.filter((c) => c.modality === modality);
      let night = 0,
        day = 0,
        nn = 0,
        nd = 0;
      for (const c of cams)
        for (const p of sim.sent.get(c.id)!.DriftScore!) {
          // deepest night 22:00-02:00 against mid-day 10:00-14:00, in the fleet's local time
          const h = sim.hourOfDay(p.ts);
          if (h >= 22 || h < 2) {
            night += p.value;
            nn++;
          }
          if (h >= 10 && h < 14) {
            day += p.value;
            nd++;
          }
        }
      return night / nn - day / nd;
    };
    expect(rise('Rgb')).toBeGreaterThan(0.04);
    expect(rise('Thermal')).toBeLessThan(0.03);
    expect(rise('Rgb')).toBeGreaterThan(2 * rise('Thermal'));
  });

  it('starts at startHourOfDay and lists the nights (18:00 to 06:00) the run overlaps, clipped to it', () => {
    const H = 3600_000;
    const sim = (startHourOfDay: number, hours: number) =>
      new FleetSimulator({ cameras: 30, hours, seed: 3, startMs: START, startHourOfDay });
    expect(sim(12, 20).hourOfDay(START + 7.5 * H)).toBe(19.5);
    // The default demo: noon to 08:00, one whole night.
    expect(sim(12, 20).nights()).toEqual([{ from: START + 6 * H, to: START + 18 * H, whole: true }]);
    expect(sim(8, 5).nights()).toEqual([]);
    // Starting at 02:00 for 28 h: the end of one night, then a whole one.
    expect(sim(2, 28).nights()).toEqual([
      { from: START, to: START + 4 * H, whole: false },
      { from: START + 16 * H, to: START + 28 * H, whole: true },
    ]);
    // Same seed, another start hour: the same cameras and scenarios, other values at night.
    expect(sim(8, 5).cameras).toEqual(sim(12, 5).cameras);
    // By default the run ends before now and starts at startHourOfDay UTC: charts in UTC show the fleet's hours.
    const byDefault = new FleetSimulator({ cameras: 30, hours: 20, seed: 3, startHourOfDay: 12 });
    expect(new Date(byDefault.startMs).toISOString()).toMatch(/T12:00:00\.000Z$/);
    expect(byDefault.endMs).toBeLessThan(Date.now());
    expect(byDefault.endMs).toBeGreaterThan(Date.now() - 24 * H - 2 * 60_000);
    expect(latestAtHourOfDay(Date.parse('2026-11-26T11:59:00Z'), 12)).toBe(Date.parse('2026-11-25T12:00:00Z'));
    expect(latestAtHourOfDay(Date.parse('2026-11-26T12:00:00Z'), 12)).toBe(Date.parse('2026-11-26T12:00:00Z'));
    expect(latestAtHourOfDay(Date.parse('2026-11-26T03:00:00Z'), 2.5)).toBe(Date.parse('2026-11-26T02:30:00Z'));
    expect(() => sim(24, 5)).toThrow('startHourOfDay must be in [0, 24), got 24');
    expect(() => sim(-1, 5)).toThrow('startHourOfDay must be in [0, 24), got -1');
  });
});
