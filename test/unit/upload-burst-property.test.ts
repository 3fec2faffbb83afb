// Covers fleet decisions and camera state under upload bursts, offline backlogs and retried uploads, as a
// property (fast-check) through the ingest and cohort use cases with in-memory adapters: a cohort (no drift,
// one lone drifting camera, or ≥ 40 % drifting), uploads of 1–60 minutes shuffled within each period, one
// camera offline for 1–4 hours then uploading its backlog, uploads retried after the camera's next one (the
// first attempt lost or delivered too), 1–10 messages per batch. Invariant: the same decisions (the same
// triggerIds) and the same state (stream entries, alert firing flag and episode count) as one in-order run
// of the same events, minute by minute; every event applied exactly once, none too late.
// More runs: PROPERTY_RUNS=200 PROPERTY_SEED=<n> npx vitest run test/unit/upload-burst-property.test.ts
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { CameraState } from '../../lib/core/camera-state.js';
import { inMemoryFleet } from '../../lib/local/fleet-in-memory.js';
import { uploadRounds, type UploadCamera, COHORT_DRIFT_POLICY } from '../../lib/sim/upload-patterns.js';

const RUNS = Number(process.env.PROPERTY_RUNS ?? 12);
const SEED = Number(process.env.PROPERTY_SEED ?? 20261207);
const START = Date.parse('2026-11-27T00:00:00Z');
const MINUTES = 300;
const POLICY = COHORT_DRIFT_POLICY;

const projection = (s: CameraState) => ({
  streams: s.streams,
  alerts: Object.fromEntries(Object.entries(s.alerts).map(([k, a]) => [k, { f: a.f, e: a.e }])),
  outbox: s.outbox,
});

const scenario = fc
  .record({
    cameras: fc.integer({ min: 10, max: 20 }),
    mode: fc.constantFrom('none', 'lone', 'model'),
    onsetMin: fc.integer({ min: 60, max: 120 }),
    uploadMinutes: fc.constantFrom(1, 5, 10, 30, 60),
    offline: fc.record({
      camera: fc.nat(),
      fromMin: fc.integer({ min: 0, max: 150 }),
      hours: fc.integer({ min: 1, max: 4 }),
    }),
    retries: fc.array(fc.record({ camera: fc.nat(), period: fc.nat(), firstLost: fc.boolean() }), { maxLength: 4 }),
    batchSize: fc.integer({ min: 1, max: 10 }),
    seed: fc.integer({ min: 1, max: 1_000_000 }),
  })
  .map((s) => {
    const drifting = s.mode === 'none' ? 0 : s.mode === 'lone' ? 1 : Math.ceil(0.4 * s.cameras) + 1;
    const cameras: UploadCamera[] = Array.from({ length: s.cameras }, (_, c) => ({
      cameraId: `cam${String(c).padStart(2, '0')}`,
      modelVersion: 'm1',
      ...(c < drifting ? { onsetMin: s.onsetMin + Math.round((c * 30) / Math.max(1, drifting - 1)) } : {}),
    }));
    const off = cameras[s.offline.camera % s.cameras]!;
    const from = Math.floor(s.offline.fromMin / s.uploadMinutes) * s.uploadMinutes;
    off.offline = { fromMin: from, toMin: Math.min(MINUTES - s.uploadMinutes, from + 60 * s.offline.hours) };
    for (const r of s.retries) {
      const c = cameras[r.camera % s.cameras]!;
      if (c === off) continue;
      const periodMin = (r.period % Math.floor(MINUTES / s.uploadMinutes - 1)) * s.uploadMinutes;
      if (!c.retried?.some((x) => x.periodMin === periodMin))
        (c.retried ??= []).push({ periodMin, firstLost: r.firstLost });
    }
    return { ...s, drifting, cameraList: cameras };
  });

describe('upload bursts, offline backlogs and retries: the same decisions and state as in order', () => {
  it(`matches the in-order run (seed ${SEED}, ${RUNS} runs)`, { timeout: 600_000 }, async () => {
    await fc.assert(
      fc.asyncProperty(scenario, async (s) => {
        const plan = { startMs: START, minutes: MINUTES, seed: s.seed };
        // Reference: every event once, minute by minute in event time, online throughout.
        const reference = inMemoryFleet(POLICY);
        const plain = s.cameraList.map(({ offline: _o, retried: _r, ...c }) => c);
        for (const round of uploadRounds(plain, { ...plan, uploadMinutes: 1 }))
          await reference.deliver(round.map((u) => ({ messageId: u.messageId, body: u.body })));
        const bursty = inMemoryFleet(POLICY);
        const rounds = uploadRounds(s.cameraList, { ...plan, uploadMinutes: s.uploadMinutes });
        for (const round of rounds)
          await bursty.deliver(
            round.map((u) => ({ messageId: u.messageId, body: u.body })),
            s.batchSize,
          );

        const ids = (f: typeof bursty) => f.triggers.map((t) => `${t.detailType} ${t.detail.triggerId}`).sort();
        expect(ids(bursty)).toEqual(ids(reference));
        const kinds = bursty.triggers.map((t) => t.detailType).sort();
        if (s.mode === 'none') expect(kinds).toEqual([]);
        if (s.mode === 'lone') expect(kinds).toEqual(['CameraAnomalyDetected']);
        if (s.mode === 'model') expect(kinds).toEqual(['RetrainingRequested']);
        expect(bursty.totals.applied).toBe(reference.totals.applied);
        expect(bursty.totals.tooLate).toBe(0);
        for (const c of s.cameraList)
          expect(projection((await bursty.store.load(c.cameraId)).state), c.cameraId).toEqual(
            projection((await reference.store.load(c.cameraId)).state),
          );
      }),
      { numRuns: RUNS, seed: SEED },
    );
  });
});
