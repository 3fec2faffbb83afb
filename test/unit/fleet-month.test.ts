// Covers the generated fleet-month (lib/sim/fleet-month.ts) the bench replays: every camera's five metrics
// every 10 s, valid on the wire, unique ids; a shard generates exactly its cameras' events (the same as
// unsharded); the night raises DriftScore; hourly uploaders send an hour at once; a cohort drift moves
// every camera of its model and no other.
import { describe, expect, it } from 'vitest';
import { shardOf } from '../../lib/app/cohort-signals.js';
import { toWire, validateEvent, type MetricEvent } from '../../lib/core/metric-event.js';
import { driftOnsets, fleetMonthCameras, fleetMonthEvents, type FleetMonthOptions } from '../../lib/sim/fleet-month.js';

const START = Date.UTC(2026, 2, 1);
const base: FleetMonthOptions = { cameras: 6, days: 1, seed: 5, startMs: START };
const all = (o: FleetMonthOptions) => [...fleetMonthEvents(o)];

describe('the generated fleet-month', () => {
  const batches = all(base);
  const events = batches.flat();

  it('has every camera measure five metrics every 10 s, valid on the wire, with unique ids', () => {
    expect(events.length).toBe(6 * 8640 * 5);
    expect(new Set(events.map((e) => e.id)).size).toBe(events.length);
    for (const e of events.filter((_, i) => i % 997 === 0)) {
      const r = validateEvent(toWire(e), START + 10 * 86_400_000);
      expect(r, JSON.stringify(e)).toHaveProperty('event', e);
    }
  });

  it('uploads an hour at once for hourly cameras, a minute for the others', () => {
    const cams = fleetMonthCameras(base);
    const sizes = new Map<string, Set<number>>();
    for (const b of batches)
      (sizes.get(b[0]!.camera_id) ?? sizes.set(b[0]!.camera_id, new Set()).get(b[0]!.camera_id)!).add(b.length);
    expect(cams.some((c) => c.hourly) && cams.some((c) => !c.hourly)).toBe(true);
    for (const c of cams) expect([...sizes.get(c.id)!], c.id).toEqual([c.hourly ? 360 * 5 : 6 * 5]);
  });

  it('generates for a shard exactly its cameras’ events', () => {
    const one = (e: MetricEvent) => `${e.id} ${e.ts} ${e.value}`;
    const sharded = [0, 1].flatMap((index) => all({ ...base, shard: { index, count: 2 } }).flat());
    expect(sharded.map(one).sort()).toEqual(events.map(one).sort());
    for (const e of all({ ...base, shard: { index: 1, count: 2 } }).flat()) expect(shardOf(e.camera_id, 2)).toBe(1);
  });

  it('raises DriftScore at night', () => {
    const drift = events.filter((e) => e.metric === 'DriftScore' && e.modality === 'Rgb');
    const mean = (xs: MetricEvent[]) => xs.reduce((t, e) => t + e.value, 0) / xs.length;
    const hour = (e: MetricEvent) => new Date(e.ts).getUTCHours();
    expect(mean(drift.filter((e) => hour(e) < 3))).toBeGreaterThan(
      mean(drift.filter((e) => hour(e) >= 11 && hour(e) < 14)) + 0.03,
    );
  });

  it('drifts every camera of the drifting model, and no other', () => {
    const cams = fleetMonthCameras(base);
    const model = cams[0]!.modelVersion;
    const o = { ...base, drifts: [{ modelVersion: model, onsetMs: START + 6 * 3_600_000 }] };
    const onsets = driftOnsets(o);
    expect([...onsets.keys()].sort()).toEqual(
      cams
        .filter((c) => c.modelVersion === model)
        .map((c) => c.id)
        .sort(),
    );
    const late = all(o)
      .flat()
      .filter((e) => e.metric === 'DriftScore' && e.ts > START + 8 * 3_600_000);
    for (const e of late) expect(e.value > 0.7, e.camera_id).toBe(onsets.has(e.camera_id));
  });
});
