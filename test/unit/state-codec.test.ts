// Covers the compact state encoding: lossless round trip, and one item ≤ 1 KB at default windows.
import { describe, expect, it } from 'vitest';
import { applyEvents, emptyState } from '../../lib/core/camera-state.js';
import { parseBody } from '../../lib/core/metric-event.js';
import { DEFAULT_POLICY, driftPolicy } from '../../lib/core/policy.js';
import { decodeState, encodeState } from '../../lib/core/state-codec.js';
import { wireEvent } from '../support/fixtures.js';

describe('state codec', () => {
  it('round-trips a state exactly', () => {
    const wire = Array.from({ length: 40 }, (_, i) => wireEvent({ camera_id: 'c', value: (i % 7) / 7, metric: (['DriftScore', 'Accuracy', 'LatencyMs'] as const)[i % 3], i }));
    const { state } = applyEvents(emptyState(), parseBody(JSON.stringify(wire), Date.parse('2026-11-28T00:00:00Z')).events, driftPolicy(10, 0.7));
    const decoded = decodeState(encodeState(state));
    expect(decoded).toEqual(state);
  });

  it('keeps a camera with all five metrics under 1 KB at default settings', () => {
    const metrics = ['Accuracy', 'Precision', 'Recall', 'DriftScore', 'LatencyMs'] as const;
    const wire = Array.from({ length: 200 }, (_, i) => wireEvent({ camera_id: 'cam-with-a-long-name-0001', metric: metrics[i % 5], value: metrics[i % 5] === 'LatencyMs' ? 40 + i : 0.5 + (i % 10) / 100, model_version: 'resnet50-2026.11.3', i }));
    const { state } = applyEvents(emptyState(), parseBody(JSON.stringify(wire), Date.parse('2026-11-28T00:00:00Z')).events, DEFAULT_POLICY);
    const enc = encodeState(state);
    const itemBytes = enc.streams.length + enc.rest.length + 'pk'.length + 'camera#cam-with-a-long-name-0001'.length + 20;
    expect(itemBytes).toBeLessThanOrEqual(1024);
  });
});
