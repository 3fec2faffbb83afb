// Covers what a camera's hourly cohort registration costs (issue 24, docs/fleet-decisions.md "Storage")
// on in-memory ports: a plain registration goes to its cohort before the camera's state write
// (lib/app/camera-update.ts), so the update makes one write, with no clearing write and no outbox index
// entry; records still pending from an earlier update go first, in order; the cohort head is written only
// when the shard's summary moves in what decisions read (summaryMoved in lib/core/cohort.ts, used by
// lib/app/cohort-signals.ts); a crash after the shard write and before the head write is made good when
// the events come back (the record applies as stale and writes its summary); records that are not
// plain registrations (an affected camera) still ride in the outbox; and a member record is stored in its
// shard without what its sequence gives (lib/adapters/cohort-store.ts), records of the old form still read.
import { describe, expect, it } from 'vitest';
import { updateCamera, type CameraUpdateDeps } from '../../lib/app/camera-update.js';
import { cohortSignalApplier } from '../../lib/app/cohort-signals.js';
import { InMemoryCohortStore } from '../../lib/adapters/cohort-memory.js';
import type { CameraState } from '../../lib/core/camera-state.js';
import {
  COHORT_BUCKET_MS,
  summarizeShard,
  summaryMoved,
  type CohortKey,
  type CohortSignal,
  type MemberRecord,
  type ShardSummary,
} from '../../lib/core/cohort.js';
import { DEFAULT_POLICY } from '../../lib/core/policy.js';
import { MemoryStateStore } from '../../lib/local/memory-state-store.js';
import { memberFromValue, memberValue } from '../../lib/adapters/cohort-store.js';
import { itemSizeBytes } from '../../lib/adapters/item-size.js';
import type { SaveResult } from '../../lib/app/ports.js';

const COHORT: CohortKey = { modelVersion: 'det-v4', modality: 'Rgb' };
const HOUR = Math.floor(Date.parse('2026-12-01T10:00:00Z') / COHORT_BUCKET_MS);
const at = (hour: number, minute: number) => (hour * 60 + minute) * 60_000;

function record(l: number, extra: Partial<MemberRecord> = {}): MemberRecord {
  const a = extra.a ?? 0;
  return { q: 2 * l + a, a, l, b: Math.floor(l / COHORT_BUCKET_MS), r: 0, ...extra };
}

const registration = (cameraId: string, l: number): CohortSignal => ({
  cohort: COHORT,
  cameraId,
  rec: record(l),
  reg: 1,
});

/** A state store that counts saves and what each saved (outbox, records). */
class CountingStore extends MemoryStateStore {
  saved: { outbox: number; signals: number }[] = [];
  override async save(cameraId: string, state: CameraState, expected: number, nowMs: number): Promise<SaveResult> {
    this.saved.push({ outbox: state.outbox.length, signals: state.signals?.length ?? 0 });
    return super.save(cameraId, state, expected, nowMs);
  }
}

/** A cohort store whose head summary write fails `failures` times (a crash between the two writes). */
class CrashingCohortStore extends InMemoryCohortStore {
  summaryWrites = 0;
  constructor(private failures: number) {
    super(4);
  }
  override async putSummary(c: CohortKey, k: number, s: ShardSummary) {
    if (this.failures > 0) {
      this.failures--;
      throw new Error('crashed before the head write');
    }
    this.summaryWrites++;
    return super.putSummary(c, k, s);
  }
}

function deps(store: CountingStore, cohorts: InMemoryCohortStore): CameraUpdateDeps {
  return {
    store,
    publisher: { publish: async () => {} },
    cohortSignals: cohortSignalApplier({
      cohorts,
      publisher: { publish: async () => {} },
      policy: () => DEFAULT_POLICY,
    }),
  };
}

/** An update that makes `signals` (as applyEvents would: appended to the camera's records). */
const making = (signals: CohortSignal[]) => (state: CameraState) => {
  state.mv.Rgb = COHORT.modelVersion;
  (state.signals ??= []).push(...structuredClone(signals));
  return { changed: true, triggers: [], result: null };
};

describe('summaryMoved', () => {
  const base = summarizeShard([record(at(HOUR, 5)), record(at(HOUR, 10))], 2);
  it('a member moving within the bucket moves nothing decisions read', () => {
    const after = summarizeShard([record(at(HOUR, 45)), record(at(HOUR, 10))], 3);
    expect(after.w).not.toBe(base.w);
    expect(summaryMoved(base, after)).toBe(false);
  });
  it('a new bucket, a new member, an affected member or a new prior camera does', () => {
    expect(summaryMoved(base, summarizeShard([record(at(HOUR + 1, 1)), record(at(HOUR, 10))], 3))).toBe(true);
    expect(
      summaryMoved(base, summarizeShard([record(at(HOUR, 5)), record(at(HOUR, 10)), record(at(HOUR, 20))], 3)),
    ).toBe(true);
    expect(summaryMoved(base, summarizeShard([record(at(HOUR, 5)), record(at(HOUR, 30), { a: 1 })], 3))).toBe(true);
    const withPrior = summarizeShard(
      [record(at(HOUR, 5)), record(at(HOUR, 30), { p: { DriftScore: [0.3, 0.02] } })],
      3,
    );
    expect(summaryMoved(base, withPrior)).toBe(true);
  });
});

describe('a camera registering with its cohort', () => {
  it('makes one state write: no clearing write, no record in the item, the shard has it', async () => {
    const store = new CountingStore();
    const cohorts = new InMemoryCohortStore(4);
    const out = await updateCamera('cam-1', making([registration('cam-1', at(HOUR, 3))]), deps(store, cohorts), 1);
    expect(out.writes).toBe(1);
    expect(store.saved).toEqual([{ outbox: 0, signals: 0 }]);
    expect((await store.load('cam-1')).state.signals).toBeUndefined();
    const members = await cohorts.members(COHORT);
    expect(members.members.map((m) => m.cameraId)).toEqual(['cam-1']);
    expect(out.cohort?.applied).toBe(1);
  });

  it('writes the head once per shard and bucket, not for every registration in it', async () => {
    const store = new CountingStore();
    const cohorts = new InMemoryCohortStore(1);
    const d = deps(store, cohorts);
    // Two cameras join (the head hears of each), then register again within the hour: quiet.
    for (const [cam, minute] of [
      ['cam-a', 1],
      ['cam-b', 2],
    ] as const)
      await updateCamera(cam, making([registration(cam, at(HOUR, minute))]), d, 1);
    const head = () => cohorts.loadHead(COHORT).then((h) => h.head.shards[0]!);
    const joined = await head();
    expect(joined.a).toBe(2);
    const again = await updateCamera('cam-a', making([registration('cam-a', at(HOUR, 40))]), d, 2);
    expect(again.cohort?.quietRegistrations).toBe(1);
    expect((await head()).v).toBe(joined.v);
    // The next hour's first registration moves the shard's newest bucket: the head hears of it.
    const next = await updateCamera('cam-b', making([registration('cam-b', at(HOUR + 1, 2))]), d, 3);
    expect(next.cohort?.quietRegistrations).toBe(0);
    expect((await head()).b).toBe(HOUR + 1);
  });

  it('a crash after the shard write and before the head write is made good when the events come back', async () => {
    const store = new CountingStore();
    const cohorts = new CrashingCohortStore(1);
    const d = deps(store, cohorts);
    const update = making([registration('cam-1', at(HOUR, 3))]);
    await expect(updateCamera('cam-1', update, d, 1)).rejects.toThrow(/crashed/);
    // Nothing was written for the camera: its events come back (redelivery) and make the same record.
    expect(store.saved).toHaveLength(0);
    expect((await cohorts.loadHead(COHORT)).head.shards).toEqual({});
    const again = await updateCamera('cam-1', update, d, 2);
    expect(again.cohort?.stale).toBe(1);
    expect(cohorts.summaryWrites).toBe(1);
    const summaries = Object.values((await cohorts.loadHead(COHORT)).head.shards);
    expect(summaries.map((s) => s.a)).toEqual([1]);
  });

  it('records still pending from an earlier update go to the cohort first, in the same write', async () => {
    const store = new CountingStore();
    const cohorts = new InMemoryCohortStore(4);
    // An earlier update committed an affected record and crashed before applying it.
    const affected: CohortSignal = {
      cohort: COHORT,
      cameraId: 'cam-1',
      rec: record(at(HOUR, 3), { a: 1, d: ['drift-ewma'], f: at(HOUR, 1), k: 'e1' }),
    };
    await store.save('cam-1', { ...(await store.load('cam-1')).state, signals: [affected] }, 0, 1);
    store.saved = [];
    const heard: CohortSignal[] = [];
    const applier = cohortSignalApplier({
      cohorts,
      publisher: { publish: async () => {} },
      policy: () => DEFAULT_POLICY,
    });
    const out = await updateCamera(
      'cam-1',
      making([registration('cam-1', at(HOUR, 50))]),
      {
        store,
        publisher: { publish: async () => {} },
        cohortSignals: (s, now) => {
          heard.push(...s);
          return applier(s, now);
        },
      },
      2,
    );
    expect(heard.map((s) => s.rec.q)).toEqual([affected.rec.q, 2 * at(HOUR, 50)]);
    expect(out.writes).toBe(1);
    expect(store.saved).toEqual([{ outbox: 0, signals: 0 }]);
  });

  it('an affected camera’s record still rides in the outbox: applied after the write, then cleared', async () => {
    const store = new CountingStore();
    const cohorts = new InMemoryCohortStore(4);
    const affected: CohortSignal = {
      cohort: COHORT,
      cameraId: 'cam-1',
      rec: record(at(HOUR, 3), { a: 1, d: ['drift-ewma'], f: at(HOUR, 1), k: 'e1' }),
    };
    const out = await updateCamera('cam-1', making([affected]), deps(store, cohorts), 1);
    expect(store.saved).toEqual([
      { outbox: 0, signals: 1 },
      { outbox: 0, signals: 0 },
    ]);
    expect(out.cohort?.applied).toBe(1);
  });
});

describe('a member record in its shard item', () => {
  it('a plain registration is its sequence alone; the rest is kept; both read back whole', () => {
    const plain = record(at(HOUR, 3));
    const stored = memberValue(plain);
    expect(stored.M?.j).toBeUndefined();
    expect(memberFromValue(stored)).toEqual(plain);
    const full = record(at(HOUR, 7), {
      a: 1,
      r: at(HOUR - 5, 0),
      d: ['drift-ewma'],
      f: at(HOUR, 1),
      k: 'e1',
      s: { 'drift-ewma': 0.4321 },
      p: { DriftScore: [0.3, 0.02] },
    });
    expect(memberFromValue(memberValue(full))).toEqual(full);
  });

  it('reads records written before issue 24 (a, l, b, r in the JSON), and the new form is smaller', () => {
    const rec = record(at(HOUR, 3), { s: { 'drift-ewma': 0.4321 } });
    const { q, ...rest } = rec;
    const old = { M: { q: { N: String(q) }, j: { S: JSON.stringify(rest) } } };
    expect(memberFromValue(old)).toEqual(rec);
    // A record whose fields do not follow from its sequence keeps them.
    const odd = { ...rec, b: 7 };
    expect(memberFromValue(memberValue(odd))).toEqual(odd);
    // The same record, old form and new: the new one drops a, l, b and r (≥ 30 bytes of the ~70).
    expect(itemSizeBytes({ 'c#cam-000001': memberValue(rec) })).toBeLessThan(
      itemSizeBytes({ 'c#cam-000001': old }) - 30,
    );
  });
});
