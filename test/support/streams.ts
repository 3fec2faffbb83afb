// Builders for per-camera event streams used by detector and lifecycle tests (pure, no AWS).
import { applyEvents, emptyState, type CameraState } from '../../lib/core/camera-state.js';
import { parseBody, type MetricEvent } from '../../lib/core/metric-event.js';
import type { Policy } from '../../lib/core/policy.js';
import type { Trigger } from '../../lib/core/trigger.js';
import { wireEvent, type WireEvent } from './fixtures.js';

const NOW = Date.parse('2030-01-01T00:00:00Z');
export const toEvents = (wire: WireEvent[]): MetricEvent[] => {
  const r = parseBody(JSON.stringify(wire), NOW);
  if (r.rejections.length) throw new Error(r.rejections.map((x) => x.reason).join('; '));
  return r.events;
};

/** Seeded PRNG (mulberry32) and a standard normal from it (Box–Muller). */
export function rng(seed: number) {
  let a = seed >>> 0;
  const uniform = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const normal = () => Math.sqrt(-2 * Math.log(1 - uniform())) * Math.cos(2 * Math.PI * uniform());
  return { uniform, normal };
}

/** Feeds values one event at a time (one batch each); returns the index at which each trigger fired. */
export function feed(policy: Policy, values: number[], over: Partial<WireEvent> & { i?: number } = {}, state: CameraState = emptyState(), start = 0) {
  const fired: { i: number; trigger: Trigger }[] = [];
  values.forEach((value, k) => {
    const r = applyEvents(state, toEvents([wireEvent({ camera_id: 'cam-t', value, i: start + k, ...over })]), policy);
    for (const trigger of r.triggers) fired.push({ i: start + k, trigger });
  });
  return { state, fired };
}
