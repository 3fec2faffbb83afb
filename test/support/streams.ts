// Builders for per-camera event streams used by detector and lifecycle tests (pure, no AWS).
import { applyEvents, emptyState, type CameraState } from '../../lib/core/camera-state.js';
import { parseBody, type MetricEvent } from '../../lib/core/metric-event.js';
import type { Policy } from '../../lib/core/policy.js';
import type { Trigger } from '../../lib/core/trigger.js';
import { wireEvent } from './fixtures.js';
import type { WireMetricEvent } from '../../lib/core/metric-event.js';
import { mulberry32, normal } from '../../lib/sim/prng.js';

const NOW = Date.parse('2030-01-01T00:00:00Z');
export const toEvents = (wire: WireMetricEvent[]): MetricEvent[] => {
  const r = parseBody(JSON.stringify(wire), NOW);
  if (r.rejections.length) throw new Error(r.rejections.map((x) => x.reason).join('; '));
  return r.events;
};

/** Seeded uniform and standard-normal draws. */
export function rng(seed: number) {
  const uniform = mulberry32(seed);
  return { uniform, normal: normal(uniform) };
}

/** Feeds values one event at a time (one batch each); returns the index at which each trigger fired. */
export function feed(
  policy: Policy,
  values: number[],
  over: Partial<WireMetricEvent> & { i?: number } = {},
  state: CameraState = emptyState(),
  start = 0,
) {
  const fired: { i: number; trigger: Trigger }[] = [];
  values.forEach((value, k) => {
    const r = applyEvents(state, toEvents([wireEvent({ camera_id: 'cam-t', value, i: start + k, ...over })]), policy);
    for (const trigger of r.triggers) fired.push({ i: start + k, trigger });
  });
  return { state, fired };
}
