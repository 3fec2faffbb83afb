// Covers allowed lateness measured in time (lib/core/lateness.ts, applyEvents in lib/core/camera-state.ts):
// an hourly upload arriving after the next one is applied once and its retry is a duplicate; a new camera's
// uploads in reverse order; events beyond allowedLatenessMs are too late and counted in the state; after a
// model change, events before its start are duplicates, never applied twice; gaps past MAX_GAPS move the
// stream's floor; `vmon state` shows the too-late count and open gaps; and what the gaps cost in the camera
// item at the reference rate (5 metrics every 10 s); isGap's early-settling count equals its definition
// (wider than GAP_CADENCES times the median spacing, cadenceOf) on drawn streams.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { cameraItem } from '../../lib/adapters/state-store.js';
import { itemSizeBytes, writeCapacityUnits } from '../../lib/adapters/item-size.js';
import { applyEvents, emptyState, type CameraState } from '../../lib/core/camera-state.js';
import {
  cadenceOf,
  DEFAULT_ALLOWED_LATENESS_MS,
  GAP_CADENCES,
  isGap,
  MAX_GAPS,
  pruneGaps,
} from '../../lib/core/lateness.js';
import { METRICS, parseBody, type MetricKind } from '../../lib/core/metric-event.js';
import { DEFAULT_POLICY, parsePolicy, type PolicyInput } from '../../lib/core/policy.js';
import { formatCameraState } from '../../lib/cli/state.js';

const START = Date.parse('2026-11-27T00:00:00Z');
const HOUR = 3600_000;
const CAMERA = 'c'.repeat(32);

/** One camera's events every 10 s over [fromH, toH) hours, for these metrics; ids are stable per (metric, time). */
function upload(fromH: number, toH: number, opts: { metrics?: readonly MetricKind[]; model?: string } = {}) {
  const wire = [];
  for (let t = START + fromH * HOUR; t < START + toH * HOUR; t += 10_000)
    for (const metric of opts.metrics ?? ['DriftScore'])
      wire.push({
        id: `00000000-0000-4000-8${METRICS.indexOf(metric)}00-${(t / 10_000).toString(16).padStart(12, '0')}`,
        timestamp: new Date(t).toISOString(),
        camera_id: CAMERA,
        modality: 'Rgb',
        metric,
        value: metric === 'LatencyMs' ? 80 + ((t / 10_000) % 7) : 0.2 + ((t / 10_000) % 5) / 100,
        model_version: opts.model ?? 'm1',
      });
  const parsed = parseBody(JSON.stringify(wire), START + 24 * HOUR);
  if (parsed.rejections.length) throw new Error(JSON.stringify(parsed.rejections[0]));
  return parsed.events;
}

const apply = (state: CameraState, events: ReturnType<typeof upload>, policy = DEFAULT_POLICY) =>
  applyEvents(state, events, policy).stats;

describe('allowed lateness in time', () => {
  it('defaults to 3 hours: an hourly upload retried once, after the next one, with an hour to spare', () => {
    expect(DEFAULT_POLICY.allowedLatenessMs).toBe(DEFAULT_ALLOWED_LATENESS_MS);
    expect(DEFAULT_ALLOWED_LATENESS_MS).toBe(3 * HOUR);
    expect(() => parsePolicy({ ...DEFAULT_POLICY, allowedLatenessMs: -1 } as PolicyInput)).toThrow(
      /allowedLatenessMs.*must be >= 0/,
    );
  });

  it('applies an hourly upload arriving after the next one once; its retry is a duplicate', () => {
    const state = emptyState();
    expect(apply(state, upload(0, 1)).applied).toBe(360);
    expect(apply(state, upload(2, 3)).applied).toBe(360);
    expect(state.gp?.['Rgb.DriftScore']).toEqual([START + HOUR - 10_000, START + 2 * HOUR]);
    const late = apply(state, upload(1, 2));
    expect(late).toMatchObject({ applied: 360, late: 360, duplicates: 0, tooLate: 0 });
    expect(state.gp).toBeUndefined(); // the gap is filled: nothing left in the item
    expect(apply(state, upload(1, 2))).toMatchObject({ applied: 0, duplicates: 360, tooLate: 0 });
    expect(apply(state, upload(0, 3))).toMatchObject({ applied: 0, duplicates: 1080, tooLate: 0 });
  });

  it('a new camera whose second upload arrives first: both applied, each once', () => {
    const state = emptyState();
    apply(state, upload(1, 2));
    expect(apply(state, upload(0, 1))).toMatchObject({ applied: 360, late: 360, tooLate: 0 });
    expect(apply(state, upload(0, 2))).toMatchObject({ applied: 0, duplicates: 720 });
    expect(state.gp).toBeUndefined();
  });

  it('counts events beyond the allowed lateness as too late, in the state too', () => {
    const policy = parsePolicy({ ...DEFAULT_POLICY, allowedLatenessMs: HOUR } as PolicyInput);
    const state = emptyState();
    apply(state, upload(0, 1), policy);
    apply(state, upload(2, 4), policy); // hour 1 is missing; two hours later it is beyond the lateness
    expect(state.gp).toBeUndefined();
    expect(apply(state, upload(1, 2), policy)).toMatchObject({ applied: 0, tooLate: 360 });
    expect(state.tl).toBe(360);
    // Within the lateness, a gap is still filled.
    apply(state, upload(4.25, 4.75), policy);
    expect(apply(state, upload(4, 4.25), policy)).toMatchObject({ applied: 90, tooLate: 0 });
    expect(state.tl).toBe(360);
    // vmon state shows the count and the gaps still open.
    apply(state, upload(5, 5.25), policy);
    const text = formatCameraState({ cameraId: CAMERA, version: 1, state });
    expect(text).toContain('too late: 360 event(s) older than the allowed lateness, counted and not applied');
    expect(text).toMatch(
      /gap awaiting late events: Rgb\.DriftScore 2026-11-27T04:44:50\.000Z → 2026-11-27T05:00:00\.000Z/,
    );
    expect(text).not.toMatch(/^(tl|gp):/m);
  });

  it('after a model change, older events outside a gap are duplicates (never applied twice)', () => {
    const state = emptyState();
    apply(state, upload(0, 1, { model: 'm1' }));
    apply(state, upload(1, 2, { model: 'm2' }));
    expect(state.mo?.Rgb).toBe(1);
    expect(apply(state, upload(0, 1, { model: 'm1' }))).toMatchObject({ applied: 0, duplicates: 360 });
  });

  it('forgets the oldest gaps past MAX_GAPS and moves the floor to the end of the last one forgotten', () => {
    const gaps = Array.from({ length: MAX_GAPS + 2 }, (_, i) => [i * 100, i * 100 + 50]).flat();
    expect(pruneGaps(gaps, -1)).toBe(150);
    expect(gaps).toHaveLength(2 * MAX_GAPS);
    expect(gaps[0]).toBe(200);
    expect(pruneGaps(gaps, 1000)).toBeUndefined(); // gaps wholly beyond the horizon just go
    expect(gaps[0]).toBe(1000);
  });

  it('the camera item at the reference rate: unchanged in order, a few bytes per stream while an upload is missing', () => {
    const inOrder = emptyState();
    const missing = emptyState();
    for (let h = 0; h < 4; h++) {
      applyEvents(inOrder, upload(h, h + 1, { metrics: METRICS }), DEFAULT_POLICY);
      if (h !== 2) applyEvents(missing, upload(h, h + 1, { metrics: METRICS }), DEFAULT_POLICY);
    }
    // Member records ride in the outbox and are cleared after the write, as in the ingest.
    delete inOrder.signals;
    delete missing.signals;
    const size = (s: CameraState) => itemSizeBytes(cameraItem(CAMERA, s, 1, START));
    expect(inOrder.gp).toBeUndefined();
    expect(Object.keys(missing.gp ?? {})).toHaveLength(METRICS.length);
    const perGap = (size(missing) - size({ ...missing, gp: undefined })) / METRICS.length;
    // The codec packs a gap with its stream: a count byte and two varints back from the newest entry
    // (lib/core/state-codec.ts v2; ~47 B as JSON before it).
    expect(perGap).toBeGreaterThanOrEqual(3);
    expect(perGap).toBeLessThanOrEqual(15);
    expect(size(inOrder)).toBeLessThanOrEqual(1024);
    expect(writeCapacityUnits(cameraItem(CAMERA, inOrder, 1, START))).toBe(1);
    console.log(
      `camera item, 5 metrics every 10 s, default policy, 32-char id: ${size(inOrder)} B in order, ${size(missing)} B with an hourly upload missing (${perGap.toFixed(0)} B per stream gap, ${writeCapacityUnits(cameraItem(CAMERA, missing, 1, START))} WCU)`,
    );
  });
});

describe('isGap', () => {
  it('is "wider than GAP_CADENCES median spacings" (cadenceOf), for any held entries and span', () => {
    fc.assert(
      fc.property(
        fc.array(fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 20 }), fc.integer({ min: 1, max: 9000 })), {
          maxLength: 24,
        }),
        fc.integer({ min: 0, max: 12_000 }),
        fc.nat(),
        (spacings, span, cut) => {
          let ts = 1_767_225_600_000;
          const entries = spacings.map((d) => ({ ts: (ts += d) }));
          const end = entries.length === 0 ? 0 : cut % (entries.length + 1);
          expect(isGap(entries, span, end)).toBe(span > GAP_CADENCES * cadenceOf(entries, end));
        },
      ),
      { numRuns: 5_000 },
    );
  });
});
