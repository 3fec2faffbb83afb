// Covers the original module's DriftDetector semantics through the pure core: rolling means,
// firing when the mean first passes the threshold, one window per camera and modality, dedup.
import { describe, expect, it } from 'vitest';
import { applyEvents, emptyState } from '../../lib/core/camera-state.js';
import { parseBody, type MetricEvent } from '../../lib/core/metric-event.js';
import { driftPolicy } from '../../lib/core/policy.js';
import { mean, lastValues } from '../../lib/core/stream-window.js';
import { ORIGINAL_SCORES, wireEvent } from '../support/fixtures.js';

const events = (wire: object[]): MetricEvent[] =>
  parseBody(JSON.stringify(wire), Date.parse('2026-11-28T00:00:00Z')).events;

describe('window-mean drift detector (original scenario: window 3, threshold 0.7)', () => {
  const policy = driftPolicy(3, 0.7);

  it('computes rolling means 0.2, 0.25, 0.467, 0.717, 0.883 and fires once, at the 4th event', () => {
    const state = emptyState();
    const means: number[] = [];
    const firedAt: number[] = [];
    ORIGINAL_SCORES.forEach((value, i) => {
      const r = applyEvents(state, events([wireEvent({ camera_id: 'cam99', value, i })]), policy);
      means.push(mean(lastValues(state.streams['Rgb.DriftScore']!, 3)));
      if (r.triggers.length) firedAt.push(i);
    });
    expect(means.map((m) => Number(m.toFixed(3)))).toEqual([0.2, 0.25, 0.467, 0.717, 0.883]);
    expect(firedAt).toEqual([3]);
  });

  it('gives the same trigger when the scenario arrives in one batch', () => {
    const r = applyEvents(
      emptyState(),
      events(ORIGINAL_SCORES.map((value, i) => wireEvent({ camera_id: 'cam99', value, i }))),
      policy,
    );
    expect(r.triggers).toHaveLength(1);
    const d = r.triggers[0]!.detail;
    expect(r.triggers[0]!.detailType).toBe('RetrainingRequested');
    expect(d).toMatchObject({
      cameraId: 'cam99',
      modality: 'Rgb',
      metric: 'DriftScore',
      detector: 'drift-window-mean',
      threshold: 0.7,
      windowSize: 3,
      sampleCount: 3,
    });
    expect(d.statistic).toBeCloseTo(0.7167, 3);
    expect(d.firstEventAt).toBe('2026-11-27T08:00:01.000Z');
    expect(d.lastEventAt).toBe('2026-11-27T08:00:03.000Z');
  });

  it('never lets two cameras share a window', () => {
    // Interleaved: cam A drifts, cam B stays low. A shared window (the original bug) would mix them.
    const wire = ORIGINAL_SCORES.flatMap((value, i) => [
      wireEvent({ camera_id: 'camA', value, i }),
      wireEvent({ camera_id: 'camB', value: 0.1, i }),
    ]);
    const byCam = new Map<string, MetricEvent[]>();
    for (const e of events(wire)) byCam.set(e.camera_id, [...(byCam.get(e.camera_id) ?? []), e]);
    const a = applyEvents(emptyState(), byCam.get('camA')!, policy);
    const b = applyEvents(emptyState(), byCam.get('camB')!, policy);
    expect(a.triggers.map((t) => t.detail.cameraId)).toEqual(['camA']);
    expect(b.triggers).toEqual([]);
    expect(lastValues(b.state.streams['Rgb.DriftScore']!, 3).every((v) => Math.abs(v - 0.1) < 1e-6)).toBe(true);
  });

  it('keeps one window per modality of the same camera', () => {
    const wire = ORIGINAL_SCORES.map((value, i) =>
      wireEvent({ camera_id: 'cam1', modality: 'Thermal', value, i }),
    ).concat(ORIGINAL_SCORES.map((_v, i) => wireEvent({ camera_id: 'cam1', modality: 'Depth', value: 0.1, i })));
    const r = applyEvents(emptyState(), events(wire), policy);
    expect(r.triggers.map((t) => t.detail.modality)).toEqual(['Thermal']);
    expect(Object.keys(r.state.streams).sort()).toEqual(['Depth.DriftScore', 'Thermal.DriftScore']);
  });

  it('counts a redelivered event once and gives the same triggerId for the same episode', () => {
    const wire = ORIGINAL_SCORES.map((value, i) => wireEvent({ camera_id: 'cam7', value, i }));
    const first = applyEvents(emptyState(), events(wire), policy);
    const again = applyEvents(structuredClone(first.state), events(wire), policy);
    expect(again.stats).toMatchObject({ applied: 0, duplicates: 5 });
    expect(again.triggers).toEqual([]);
    const fresh = applyEvents(emptyState(), events(wire), policy);
    expect(fresh.triggers[0]!.detail.triggerId).toBe(first.triggers[0]!.detail.triggerId);
  });
});
