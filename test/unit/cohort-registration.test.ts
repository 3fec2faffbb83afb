// Covers what a camera's hourly cohort registration costs (issue 24, docs/fleet-decisions.md "Storage")
// on in-memory ports: the record rides in the camera's outbox (lib/app/camera-update.ts), is applied and
// cleared; the cohort head is written only when the shard's summary moves in what decisions read
// (summaryMoved in lib/core/cohort.ts, used by lib/app/cohort-signals.ts), so registrations within an
// hour leave it alone; a crash after the shard write and before the head write is made good when the
// record is applied again from the outbox (stale in the shard, so its summary is written); and a member
// record is stored in its shard without what its sequence gives (lib/adapters/cohort-store.ts), records
// of the old form still read.
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
  it('the record rides in the outbox, is applied, then cleared; the shard has it', async () => {
    const store = new CountingStore();
    const cohorts = new InMemoryCohortStore(4);
    const out = await updateCamera('cam-1', making([registration('cam-1', at(HOUR, 3))]), deps(store, cohorts), 1);
    expect(store.saved).toEqual([
      { outbox: 0, signals: 1 },
      { outbox: 0, signals: 0 },
    ]);
    expect((await store.load('cam-1')).state.signals).toBeUndefined();
    const members = await cohorts.members(COHORT);
    expect(members.members.map((m) => m.cameraId)).toEqual(['cam-1']);
    expect(out.cohort?.applied).toBe(1);
  });

  it('writes the head once per shard and bucket, not for every registration in it', async () => {
    const store = new CountingStore();
    const cohorts = new CrashingCohortStore(0);
    const d = deps(store, cohorts);
    // Two cameras join (the head hears of each), then register again within the hour: quiet.
    for (const [cam, minute] of [
      ['cam-a', 1],
      ['cam-b', 2],
    ] as const)
      await updateCamera(cam, making([registration(cam, at(HOUR, minute))]), d, 1);
    expect(cohorts.summaryWrites).toBe(2);
    const head = () => cohorts.loadHead(COHORT).then((h) => Object.values(h.head.shards));
    const joined = await head();
    expect(joined.map((x) => x.a).reduce((a, b) => a + b, 0)).toBe(2);
    const again = await updateCamera('cam-a', making([registration('cam-a', at(HOUR, 40))]), d, 2);
    expect(again.cohort?.quietRegistrations).toBe(1);
    expect(cohorts.summaryWrites).toBe(2);
    expect(await head()).toEqual(joined);
    // The next hour's first registration in a shard moves its newest bucket: the head hears of it.
    const next = await updateCamera('cam-b', making([registration('cam-b', at(HOUR + 1, 2))]), d, 3);
    expect(next.cohort?.quietRegistrations).toBe(0);
    expect(cohorts.summaryWrites).toBe(3);
    expect(Math.max(...(await head()).map((x) => x.b))).toBe(HOUR + 1);
  });

  it('a crash after the shard write and before the head write is made good by the re-applied record', async () => {
    const store = new CountingStore();
    const cohorts = new CrashingCohortStore(1);
    const d = deps(store, cohorts);
    await expect(updateCamera('cam-1', making([registration('cam-1', at(HOUR, 3))]), d, 1)).rejects.toThrow(/crashed/);
    // The record was committed with the state and stays in its outbox; the head never heard of it.
    expect((await store.load('cam-1')).state.signals).toHaveLength(1);
    expect((await cohorts.loadHead(COHORT)).head.shards).toEqual({});
    // The next update (or the outbox sweep) applies it again: stale in the shard, so its summary is written.
    const again = await updateCamera('cam-1', () => ({ changed: false, triggers: [], result: null }), d, 2);
    expect(again.cohort).toMatchObject({ stale: 1, quietRegistrations: 0 });
    expect(cohorts.summaryWrites).toBe(1);
    const summaries = Object.values((await cohorts.loadHead(COHORT)).head.shards);
    expect(summaries.map((x) => x.a)).toEqual([1]);
    expect((await store.load('cam-1')).state.signals).toBeUndefined();
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
    // Shipped detectors' ids are stored as their index; a policy's own ids as they are.
    const stats = {
      'drift-window-mean': 0.3215,
      'accuracy-regression': -0.01044,
      'drift-mean-shift': 0.7,
      'my-drift-2': 1.5,
    };
    const withStats = record(at(HOUR, 9), { s: stats });
    expect(memberValue(withStats).M).toEqual({
      q: { N: String(withStats.q) },
      s: { S: '~0:0.3215,~2:-0.01044,~3:0.7,my-drift-2:1.5' },
    });
    expect(memberFromValue(memberValue(withStats))).toEqual(withStats);
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
