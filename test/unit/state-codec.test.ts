// Covers the compact state encoding: lossless round trip, one item ≤ 1 KB (1 WCU) at default
// settings with every metric, detector state and the longest camera id, what an alert's
// episode-outcome record adds to it, and that a state deflated with an older dictionary still reads.
import { describe, expect, it } from 'vitest';
import { applyEvents, emptyState, EPISODE_HISTORY } from '../../lib/core/camera-state.js';
import { parseBody } from '../../lib/core/metric-event.js';
import { DEFAULT_POLICY, driftPolicy } from '../../lib/core/policy.js';
import { decodeState, encodeState } from '../../lib/core/state-codec.js';
import { wireEvent } from '../support/fixtures.js';
import { rng } from '../support/streams.js';
import { cameraItem } from '../../lib/adapters/state-store.js';
import { itemSizeBytes, writeCapacityUnits } from '../../lib/adapters/item-size.js';

/** The default policy's drift decision (its per-metric mean-shift). */
const DRIFT_DECISION = DEFAULT_POLICY.detectors.find((d) => d.metric === 'DriftScore' && d.kind === 'mean-shift')!.id;

/**
 * A camera after 1,200 events on all five metrics under the default policy (detector state
 * included); `afterBatch` sees the state after each batch of 20.
 */
function fiveMetricState(camera: string, afterBatch?: (state: ReturnType<typeof emptyState>) => void) {
  const metrics = ['Accuracy', 'Precision', 'Recall', 'DriftScore', 'LatencyMs'] as const;
  const r = rng(3);
  const state = emptyState();
  for (let b = 0; b < 60; b++) {
    const wire = Array.from({ length: 20 }, (_, k) => {
      const i = b * 20 + k,
        metric = metrics[i % 5]!;
      const value =
        metric === 'LatencyMs'
          ? 80 + 10 * r.uniform()
          : metric === 'DriftScore'
            ? 0.25 + 0.05 * r.normal()
            : 0.9 + 0.02 * r.uniform();
      return wireEvent({
        camera_id: camera,
        metric,
        value: Math.max(0, value),
        model_version: 'yolov8n-2026.11.02',
        sample_count: 120,
        i,
      });
    });
    applyEvents(state, parseBody(JSON.stringify(wire), Date.parse('2026-11-28T00:00:00Z')).events, DEFAULT_POLICY);
    afterBatch?.(state);
  }
  delete state.signals; // cohort member records: applied and cleared after the write, as the outbox is
  return state;
}

describe('state codec', () => {
  it('round-trips a state exactly', () => {
    const wire = Array.from({ length: 40 }, (_, i) =>
      wireEvent({
        camera_id: 'c',
        value: (i % 7) / 7,
        metric: (['DriftScore', 'Accuracy', 'LatencyMs'] as const)[i % 3],
        i,
      }),
    );
    const { state } = applyEvents(
      emptyState(),
      parseBody(JSON.stringify(wire), Date.parse('2026-11-28T00:00:00Z')).events,
      driftPolicy(10, 0.7),
    );
    const decoded = decodeState(encodeState(state));
    expect(decoded).toEqual(state);
  });

  it('keeps a camera with all five metrics, a 128-character id and the default policy in one 1 KB item, after every batch', () => {
    const camera = 'c'.repeat(128);
    const sizes: number[] = [];
    const state = fiveMetricState(camera, (s) => {
      const { signals: _records, ...written } = s; // member records: applied and cleared after the write
      sizes.push(itemSizeBytes(cameraItem(camera, written as typeof s, 123456, Date.now())));
    });
    expect(sizes).toHaveLength(60);
    expect(Math.max(...sizes)).toBeLessThanOrEqual(1024);
    expect(Object.keys(state.det).length).toBeGreaterThanOrEqual(2); // CUSUM and regression carry state
    delete state.signals; // cohort member records: applied and cleared after the write, as the outbox is
    const item = cameraItem(camera, state, 123456, Date.now());
    expect(itemSizeBytes(item)).toBeLessThanOrEqual(1024);
    expect(writeCapacityUnits(item)).toBe(1);
  });

  it('adds at most 15 bytes per alert for its episode outcomes; a 32-character camera id with such an alert fits in 1 KB', () => {
    const camera = 'c'.repeat(32);
    const state = fiveMetricState(camera);
    const size = () => itemSizeBytes(cameraItem(camera, state, 123456, Date.now()));
    const key = `${DRIFT_DECISION}@Rgb`;
    state.alerts[key] = { f: false, e: 1234 };
    const withoutRecord = size();
    state.alerts[key].h = 'PCSRPCSRPCSR'.slice(0, EPISODE_HISTORY);
    expect(size() - withoutRecord).toBeLessThanOrEqual(EPISODE_HISTORY + 7);
    expect(size()).toBeLessThanOrEqual(1024);
  });

  it('reads a state deflated with the previous dictionary (v1, the drift-ewma default), bytes frozen when it was current', () => {
    const restZ = Buffer.from(
      'AYMnWhyJzsTQyBic8CwMjRBpzxKUcsHJz8gUJA5JgibGhtBUCGKA05CpETgtGuoZGCGSjqERaqLBH5vGsOi0NDU2MDU1NTIAWU5szDoHK9XW1gIA',
      'base64',
    );
    expect(restZ[0]).toBe(1);
    const state = decodeState({ restZ });
    expect(state.det['drift-ewma@Rgb']).toEqual({
      z: 0.4123,
      t: 812,
      a: { n: 900, m: 0.2512, s: 0.0431, r: 0.31, p: 0.52, q: 1.02 },
      ew: 0.012,
    });
    expect(state.alerts['drift-ewma@Rgb']).toEqual({
      f: true,
      e: 3,
      at: 1795305552000,
      p: true,
      a: 'RetrainingRequested',
      h: 'PCS',
    });
    // New items take the newest dictionary.
    expect(encodeState(state, 10).restZ![0]).toBe(2);
  });
});
