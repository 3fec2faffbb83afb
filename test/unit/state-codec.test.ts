// Covers the compact state encoding: lossless round trip, and one item ≤ 1 KB (1 WCU) at default
// settings with every metric, detector state, the longest camera id and an alert holding its full
// episode-outcome history.
import { describe, expect, it } from 'vitest';
import { applyEvents, emptyState, EPISODE_HISTORY } from '../../lib/core/camera-state.js';
import { parseBody } from '../../lib/core/metric-event.js';
import { DEFAULT_POLICY, driftPolicy } from '../../lib/core/policy.js';
import { decodeState, encodeState } from '../../lib/core/state-codec.js';
import { wireEvent } from '../support/fixtures.js';
import { rng } from '../support/streams.js';
import { cameraItem } from '../../lib/adapters/state-store.js';
import { itemSizeBytes, writeCapacityUnits } from '../../lib/adapters/item-size.js';

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

  it('keeps a camera with all five metrics, a 128-character id and the default policy in one 1 KB item', () => {
    const metrics = ['Accuracy', 'Precision', 'Recall', 'DriftScore', 'LatencyMs'] as const;
    const r = rng(3);
    const camera = 'c'.repeat(128);
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
    }
    expect(Object.keys(state.det).length).toBeGreaterThanOrEqual(2); // CUSUM and regression carry state
    // An alert that has had many episodes and keeps its full outcome history (published / suppressed).
    state.alerts['drift-ewma@Rgb'] = { f: false, e: 1234, h: 'PCSRPCSRPCSR'.slice(0, EPISODE_HISTORY) };
    const item = cameraItem(camera, state, 123456, Date.now());
    expect(itemSizeBytes(item)).toBeLessThanOrEqual(1024);
    expect(writeCapacityUnits(item)).toBe(1);
  });
});
