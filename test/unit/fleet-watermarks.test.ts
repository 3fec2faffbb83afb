// Covers fleet decisions under edge upload patterns (docs/fleet-decisions.md#watermarks), through the ingest
// and cohort use cases with in-memory adapters (lib/local/fleet-in-memory.ts), over 20 seeds per pattern:
// uploads of 1 minute, 30 minutes and 1 hour, shuffled within each upload period.
// - a staggered model drift (onsets over 30 minutes on ≥ 30 % of the cohort): exactly one model-scope
//   RetrainingRequested, no CameraAnomalyDetected, no camera-scope retrain; `vmon backtest` decides the same;
// - a lone drifting camera among 20 healthy peers: exactly one CameraAnomalyDetected, nothing else;
// - a drifting camera offline 6 hours whose backlog arrives after the cohort's episode was resolved: no new
//   anomaly, no second episode, every event applied;
// - hourly uploads retried after the camera's next one (first attempt lost, or delivered too): every event
//   applied exactly once, none too late.
// First the rule itself, pure (lib/core/cohort.ts): the low watermark over active members, idle and departed
// cameras left out; a lone camera waits for it; a backlog waits to catch up; an affected time inside a model
// episode's span is part of it; the shard summaries' watermark never runs ahead of the members'.
import { describe, expect, it } from 'vitest';
import { backtestEventsWithCohorts } from '../../lib/cli/backtest.js';
import {
  cohortWatermark,
  emptyHead,
  judgeLoneCamera,
  summarizeShard,
  summaryWatermark,
  type AffectedMember,
  type MemberRecord,
} from '../../lib/core/cohort.js';
import { parseBody } from '../../lib/core/metric-event.js';
import { DEFAULT_POLICY, type Policy } from '../../lib/core/policy.js';
import type { Trigger } from '../../lib/core/trigger.js';
import { inMemoryFleet } from '../../lib/local/fleet-in-memory.js';
import {
  staggeredCohort,
  uploadRounds,
  type UploadCamera,
  COHORT_DRIFT_POLICY,
} from '../../lib/sim/upload-patterns.js';

const START = Date.parse('2026-11-27T00:00:00Z');
const PATTERNS = [1, 30, 60];
const SEEDS = Array.from({ length: 20 }, (_, i) => i + 1);
const POLICY = COHORT_DRIFT_POLICY;

async function run(cameras: UploadCamera[], minutes: number, uploadMinutes: number, seed: number, policy: Policy) {
  const fleet = inMemoryFleet(policy);
  const rounds = uploadRounds(cameras, { startMs: START, minutes, uploadMinutes, seed });
  for (const round of rounds) await fleet.deliver(round.map((u) => ({ messageId: u.messageId, body: u.body })));
  return { fleet, rounds };
}

const MIN = 60_000;
const HOUR = 60 * MIN;
const BUCKET = Math.floor(START / HOUR) + 10;
const member = (cameraId: string, over: Partial<MemberRecord> = {}): AffectedMember => ({
  cameraId,
  rec: { q: 1, a: 0, l: START + 10 * HOUR, b: BUCKET, r: 0, s: { 'drift-mean': 0.25 }, ...over },
});
const lone = member('lone', {
  a: 1,
  d: ['drift-mean'],
  f: START + 10 * HOUR,
  l: START + 10 * HOUR + 40 * MIN,
  k: '0b6f4a8e-5d4c-4f3e-9a57-7b1d2c3e4f51',
  s: { 'drift-mean': 0.9 },
});
const confirmAt = START + 10 * HOUR + 30 * MIN;
const peers = (n: number, l: number) => Array.from({ length: n }, (_, i) => member(`p${i}`, { l }));

describe('the watermark rule', () => {
  it('is the oldest newest-event time among active members; idle and departed cameras are left out', () => {
    const members = [...peers(5, START + 10 * HOUR + 50 * MIN), member('slow', { l: START + 10 * HOUR + 5 * MIN })];
    expect(cohortWatermark(members)).toBe(START + 10 * HOUR + 5 * MIN);
    const idle = member('idle', { l: START + 7 * HOUR, b: BUCKET - 3 });
    const left = member('left', { l: START, x: 1 });
    expect(cohortWatermark([...members, idle, left])).toBe(START + 10 * HOUR + 5 * MIN);
    expect(cohortWatermark(members, 'slow')).toBe(START + 10 * HOUR + 50 * MIN);
  });

  it('a lone camera waits until every active peer has reported past its confirmation time', () => {
    const behind = [...peers(20, confirmAt + MIN), member('queued', { l: confirmAt - 20 * MIN })];
    expect(judgeLoneCamera(lone, [lone, ...behind], emptyHead(), cohort, POLICY)).toEqual({
      kind: 'wait',
      until: confirmAt,
    });
    // The same camera idle (silent for hours): it no longer holds the cohort back.
    const idle = [...peers(20, confirmAt + MIN), member('queued', { l: START + 7 * HOUR, b: BUCKET - 3 })];
    expect(judgeLoneCamera(lone, [lone, ...idle], emptyHead(), cohort, POLICY).kind).toBe('anomaly');
  });

  it('a backlog behind its cohort waits; an affected time inside a model episode is part of it', () => {
    const current = peers(20, START + 16 * HOUR).map((m) => ({ ...m, rec: { ...m.rec, b: BUCKET + 6 } }));
    expect(judgeLoneCamera(lone, [lone, ...current], emptyHead(), cohort, POLICY)).toEqual({ kind: 'wait' });
    const caughtUp = { ...lone, rec: { ...lone.rec, l: START + 16 * HOUR, b: BUCKET + 6 } };
    const resolved = {
      ...emptyHead(),
      ep: 1,
      spans: [[1, START + 10 * HOUR - 5 * MIN, START + 13 * HOUR]] as [number, number, number][],
    };
    expect(judgeLoneCamera(caughtUp, [caughtUp, ...current], resolved, cohort, POLICY)).toEqual({
      kind: 'dismiss',
      why: 'part of model episode 1',
    });
    expect(judgeLoneCamera(caughtUp, [caughtUp, ...current], emptyHead(), cohort, POLICY).kind).toBe('anomaly');
  });

  it("the summaries' watermark is never ahead of the members'", () => {
    const a = [member('a', { l: START + 10 * HOUR + 30 * MIN }), member('b', { l: START + 10 * HOUR + 50 * MIN })];
    const b = [member('c', { l: START + 10 * HOUR + 20 * MIN }), member('d', { l: START + 9 * HOUR, b: BUCKET - 1 })];
    const head = {
      ...emptyHead(),
      shards: {
        0: summarizeShard(
          a.map((m) => m.rec),
          1,
        ),
        1: summarizeShard(
          b.map((m) => m.rec),
          1,
        ),
      },
    };
    expect(summaryWatermark(head)).toBe(START + 9 * HOUR);
    expect(summaryWatermark(head)).toBeLessThanOrEqual(cohortWatermark([...a, ...b]));
  });
});

const cohort = { modelVersion: 'm1', modality: 'Rgb' as const };
const modelScope = (ts: Trigger[]) => ts.filter((t) => t.detail.scope === 'model' && t.detailType !== 'AlertResolved');
const anomalies = (ts: Trigger[]) => ts.filter((t) => t.detailType === 'CameraAnomalyDetected');
const cameraRetrains = (ts: Trigger[]) =>
  ts.filter((t) => t.detail.scope === 'camera' && t.detailType !== 'CameraAnomalyDetected');

describe('staggered model drift under upload bursts', { timeout: 240_000 }, () => {
  for (const P of PATTERNS)
    it(`${P}-minute uploads, shuffled: one model retrain, no anomaly, no camera retrain (20 seeds)`, async () => {
      for (const seed of SEEDS) {
        // 30–40 % of 50 cameras, onsets over 30 minutes from a minute that rarely meets an upload boundary.
        const onsetMin = 90 + ((seed * 17) % 60);
        const cameras = staggeredCohort({
          modelVersion: 'det-v9',
          cameras: 50,
          share: seed % 2 ? 0.3 : 0.4,
          onsetMin,
          spreadMin: 30,
          seed,
        });
        const { fleet, rounds } = await run(cameras, onsetMin + 150, P, seed, POLICY);
        const label = `${P} min, seed ${seed}`;
        expect(
          modelScope(fleet.triggers).map((t) => t.detailType),
          label,
        ).toEqual(['RetrainingRequested']);
        expect(anomalies(fleet.triggers), label).toEqual([]);
        expect(cameraRetrains(fleet.triggers), label).toEqual([]);
        expect(fleet.totals.applied, label).toBe(fleet.totals.events);
        if (seed <= 2) {
          // vmon backtest replays the same events in event-time order: the same decisions, same triggerIds.
          const events = rounds.flat().flatMap((u) => parseBody(u.body, Date.now()).events);
          const bt = await backtestEventsWithCohorts(events, () => POLICY);
          expect(bt.triggers.map((t) => t.detail.triggerId).sort(), label).toEqual(
            fleet.triggers.map((t) => t.detail.triggerId).sort(),
          );
        }
      }
    });

  it('under the default policy too (30-minute uploads, 3 seeds)', async () => {
    for (const seed of [1, 2, 3]) {
      const cameras = staggeredCohort({
        modelVersion: 'det-v9',
        cameras: 40,
        share: 0.3,
        onsetMin: 113,
        spreadMin: 30,
        seed,
      });
      const { fleet } = await run(cameras, 270, 30, seed, DEFAULT_POLICY);
      expect(modelScope(fleet.triggers).map((t) => t.detailType)).toEqual(['RetrainingRequested']);
      expect(anomalies(fleet.triggers)).toEqual([]);
      expect(cameraRetrains(fleet.triggers)).toEqual([]);
    }
  });
});

describe('a lone drifting camera under upload bursts', { timeout: 240_000 }, () => {
  for (const P of PATTERNS)
    it(`${P}-minute uploads, shuffled: exactly one CameraAnomalyDetected, nothing else (20 seeds)`, async () => {
      for (const seed of SEEDS) {
        const cameras: UploadCamera[] = Array.from({ length: 21 }, (_, c) => ({
          cameraId: `seg-cam${String(c).padStart(2, '0')}`,
          modelVersion: 'seg-v3',
          ...(c === seed % 21 ? { onsetMin: 60 + ((seed * 7) % 45) } : {}),
        }));
        const { fleet } = await run(cameras, 240, P, seed, POLICY);
        const label = `${P} min, seed ${seed}`;
        expect(
          fleet.triggers.map((t) => [t.detailType, t.detail.cameraId]),
          label,
        ).toEqual([['CameraAnomalyDetected', `seg-cam${String(seed % 21).padStart(2, '0')}`]]);
        const a = fleet.triggers[0]!.detail;
        // Judged only after the confirmation delay, against peers that had all reported past it.
        expect(Date.parse(a.lastEventAt as string) - Date.parse(a.firstEventAt as string)).toBeGreaterThanOrEqual(
          30 * 60_000,
        );
        expect(a.peerCount, label).toBe(20);
      }
    });
});

describe('a camera offline 6 hours, its backlog after the episode was resolved', { timeout: 240_000 }, () => {
  for (const P of PATTERNS)
    it(`${P}-minute uploads: no new anomaly, no second episode, every event applied (20 seeds)`, async () => {
      for (const seed of SEEDS) {
        // 14 of 40 drift from minute 100 and recover at 200: the cohort's episode opens, then resolves.
        const cameras = staggeredCohort({
          modelVersion: 'cls-v2',
          cameras: 40,
          share: 0.35,
          onsetMin: 100,
          spreadMin: 30,
          recoverMin: 200,
          seed,
        });
        // One drifting and one healthy camera are offline from minute 60 to 420 and then upload their backlog.
        const drifting = cameras.find((c) => c.onsetMin !== undefined)!;
        const healthy = cameras.find((c) => c.onsetMin === undefined)!;
        for (const c of [drifting, healthy]) c.offline = { fromMin: 60, toMin: 420 };
        const { fleet } = await run(cameras, 480, P, seed, POLICY);
        const label = `${P} min, seed ${seed}`;
        expect(
          fleet.triggers.map((t) => `${t.detailType}/${t.detail.scope}`),
          label,
        ).toEqual(['RetrainingRequested/model', 'AlertResolved/model']);
        const head = fleet.cohorts.headOf({ modelVersion: 'cls-v2', modality: 'Rgb' });
        expect(head.ep, label).toBe(1);
        expect(head.open, label).toBe(false);
        expect(fleet.totals, label).toMatchObject({ applied: fleet.totals.events, tooLate: 0, duplicates: 0 });
        // The backlog camera did drift (its own alert fired and closed) without being called an anomaly.
        const state = (await fleet.store.load(drifting.cameraId)).state;
        expect(state.alerts['drift-mean@Rgb']?.e, label).toBe(1);
      }
    });
});

describe('hourly uploads retried after the next one', { timeout: 240_000 }, () => {
  for (const firstLost of [true, false])
    it(`${firstLost ? 'first attempt lost' : 'first attempt delivered too'}: every event applied exactly once (20 seeds)`, async () => {
      for (const seed of SEEDS) {
        const cameras: UploadCamera[] = Array.from({ length: 6 }, (_, c) => ({
          cameraId: `cam${c}`,
          modelVersion: 'm1',
          ...(c < 3
            ? {
                retried: [
                  { periodMin: 60 * (1 + (seed % 4)), firstLost },
                  { periodMin: 360, firstLost },
                ],
              }
            : {}),
        }));
        const fleet = inMemoryFleet(DEFAULT_POLICY);
        const rounds = uploadRounds(cameras, { startMs: START, minutes: 480, uploadMinutes: 60, seed });
        // One message per batch: the retry is its own batch, after the camera's next upload.
        for (const round of rounds)
          await fleet.deliver(
            round.map((u) => ({ messageId: u.messageId, body: u.body })),
            1,
          );
        const distinct = new Set(
          rounds.flat().flatMap((u) => (JSON.parse(u.body) as { id: string }[]).map((e) => e.id)),
        );
        const label = `seed ${seed}`;
        expect(fleet.totals.applied, label).toBe(distinct.size);
        expect(fleet.totals.tooLate, label).toBe(0);
        expect(fleet.totals.duplicates, label).toBe(firstLost ? 0 : 6 * 60);
        expect(fleet.totals.late, label).toBe(firstLost ? 6 * 60 : 0);
        // Nothing is left of the gaps once filled.
        for (const c of cameras) expect((await fleet.store.load(c.cameraId)).state.gp, label).toBeUndefined();
      }
    });
});
