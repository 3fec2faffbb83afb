// Covers what a camera's hourly cohort registration costs (issue 24, docs/fleet-decisions.md "Storage")
// on in-memory ports: a plain registration is applied after the camera's state write without being
// stored in it (lib/app/camera-update.ts: one write, no pending-outbox entry, no clearing write), while
// every other record rides in the outbox and is cleared; the cohort head is written only when the
// shard's summary moves in what decisions read (summaryMoved in lib/core/cohort.ts, used by
// lib/app/cohort-signals.ts), so registrations within an hour leave it alone; a failure after the state
// write (before the shard write, or between the shard and head writes) is made good when the camera's
// messages come back (lib/app/ingest-batch.ts: redelivered, or all duplicates as after a dead-letter
// redrive), from the camera's state (registrationsAgain in lib/core/camera-state.ts), also when a newer
// message of the camera got in first; and a member record is stored in its shard without what its
// sequence gives (lib/adapters/cohort-store.ts), records of the old form still read.
import { describe, expect, it } from 'vitest';
import { updateCamera, type CameraUpdateDeps } from '../../lib/app/camera-update.js';
import { ingestBatch, type IngestRecord } from '../../lib/app/ingest-batch.js';
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
import { BASE_TIME, wireEvent } from '../support/fixtures.js';
import { RecordingDeadLetterSink } from '../support/memory-ports.js';

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

/** A cohort store whose head summary write (or shard write) fails `failures` times: a crash after the state write. */
class CrashingCohortStore extends InMemoryCohortStore {
  summaryWrites = 0;
  memberWrites = 0;
  constructor(
    private failures: number,
    private readonly at: 'head' | 'shard' = 'head',
  ) {
    super(4);
  }
  override async applyMember(signal: CohortSignal, shard: number) {
    if (this.at === 'shard' && this.failures > 0) {
      this.failures--;
      throw new Error('crashed before the shard write');
    }
    this.memberWrites++;
    return super.applyMember(signal, shard);
  }
  override async putSummary(c: CohortKey, k: number, s: ShardSummary) {
    if (this.at === 'head' && this.failures > 0) {
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
  it('a plain registration is applied after the state write, not stored: one write, no clearing write', async () => {
    const store = new CountingStore();
    const cohorts = new InMemoryCohortStore(4);
    const out = await updateCamera('cam-1', making([registration('cam-1', at(HOUR, 3))]), deps(store, cohorts), 1);
    expect(store.saved).toEqual([{ outbox: 0, signals: 0 }]);
    expect(out.writes).toBe(1);
    expect(await store.pendingOutboxes(Number.POSITIVE_INFINITY, 10)).toEqual([]);
    const members = await cohorts.members(COHORT);
    expect(members.members.map((m) => m.cameraId)).toEqual(['cam-1']);
    expect(out.cohort?.applied).toBe(1);
  });

  it('any other record rides in the outbox, is applied, then cleared', async () => {
    const store = new CountingStore();
    const cohorts = new InMemoryCohortStore(4);
    const { reg: _plain, ...affected } = registration('cam-1', at(HOUR, 3));
    affected.rec = record(at(HOUR, 3), { a: 1, d: ['drift-ewma'], f: at(HOUR, 1), k: 'e1' });
    const out = await updateCamera('cam-1', making([affected]), deps(store, cohorts), 1);
    expect(store.saved).toEqual([
      { outbox: 0, signals: 1 },
      { outbox: 0, signals: 0 },
    ]);
    expect((await store.load('cam-1')).state.signals).toBeUndefined();
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
});

describe('a registration lost after the state write is made again when the messages come back', () => {
  const MV = 'det-v4';
  const bodies = new Map<string, string>();
  /** A message of healthy drift scores of `camera` at seconds `from`… under model version MV (the same body again by id). */
  const message = (messageId: string, camera: string, from: number, receiveCount?: number): IngestRecord => {
    let body = bodies.get(messageId);
    if (body === undefined)
      bodies.set(
        messageId,
        (body = JSON.stringify(
          [0.1, 0.12, 0.11].map((value, k) => wireEvent({ camera_id: camera, value, i: from + k, model_version: MV })),
        )),
      );
    return { messageId, body, ...(receiveCount ? { receiveCount } : {}) };
  };
  const cohort: CohortKey = { modelVersion: MV, modality: 'Rgb' };

  function ingest(cohorts: InMemoryCohortStore) {
    bodies.clear();
    const store = new CountingStore();
    const publisher = { publish: async () => {} };
    const d = {
      store,
      publisher,
      deadLetters: new RecordingDeadLetterSink(),
      policy: () => DEFAULT_POLICY,
      now: () => BASE_TIME + 3_600_000,
      cohortSignals: cohortSignalApplier({ cohorts, publisher, policy: () => DEFAULT_POLICY }),
    };
    return { store, run: (records: IngestRecord[]) => ingestBatch(records, d) };
  }
  const active = async (cohorts: InMemoryCohortStore) =>
    Object.values((await cohorts.loadHead(cohort)).head.shards).reduce((n, x) => n + x.a, 0);

  it('between the shard and head writes: redelivered, all duplicates, its summary is written (no state write)', async () => {
    const cohorts = new CrashingCohortStore(1, 'head');
    const { store, run } = ingest(cohorts);
    const first = await run([message('m1', 'cam-1', 0)]);
    expect(first.failedMessageIds).toEqual(['m1']);
    expect(store.saved).toEqual([{ outbox: 0, signals: 0 }]);
    expect((await cohorts.members(cohort)).members.map((m) => m.cameraId)).toEqual(['cam-1']);
    expect(await active(cohorts)).toBe(0);
    const again = await run([message('m1', 'cam-1', 0, 2)]);
    expect(again).toMatchObject({ applied: 0, duplicates: 3, writes: 0, failedMessageIds: [] });
    expect(again.cohort).toMatchObject({ stale: 1, quietRegistrations: 0 });
    expect(await active(cohorts)).toBe(1);
  });

  it('before the shard write, a newer message first: the redelivery applies it; so does a dead-letter redrive', async () => {
    for (const receiveCount of [2, undefined]) {
      const cohorts = new CrashingCohortStore(1, 'shard');
      const { store, run } = ingest(cohorts);
      expect((await run([message('m1', 'cam-1', 0)])).failedMessageIds).toEqual(['m1']);
      // The camera's next message, same hour: no registration due, none made again.
      const next = await run([message('m2', 'cam-1', 10)]);
      expect(next.cohort).toMatchObject({ applied: 0, stale: 0 });
      expect((await cohorts.members(cohort)).members).toEqual([]);
      const back = await run([message('m1', 'cam-1', 0, receiveCount)]);
      expect(back).toMatchObject({ applied: 0, writes: 0, failedMessageIds: [] });
      expect(back.cohort).toMatchObject({ applied: 1 });
      const [member] = (await cohorts.members(cohort)).members;
      // Made from the state: the camera's newest event (second 12), healthy, not stored anywhere.
      expect(member?.rec).toMatchObject({ a: 0, l: BASE_TIME + 12_000, q: 2 * (BASE_TIME + 12_000) });
      expect(await active(cohorts)).toBe(1);
      expect((await store.load('cam-1')).state.signals).toBeUndefined();
    }
  });

  it('a redelivered message with new events: made again and carried in the outbox with the write', async () => {
    const cohorts = new CrashingCohortStore(1, 'shard');
    const { store, run } = ingest(cohorts);
    await run([message('m1', 'cam-1', 0)]);
    const back = await run([message('m1', 'cam-1', 0, 2), message('m3', 'cam-1', 20)]);
    expect(back).toMatchObject({ applied: 3, failedMessageIds: [] });
    expect(store.saved.slice(1)).toEqual([
      { outbox: 0, signals: 1 },
      { outbox: 0, signals: 0 },
    ]);
    expect((await cohorts.members(cohort)).members[0]?.rec.l).toBe(BASE_TIME + 22_000);
    expect(await active(cohorts)).toBe(1);
  });

  it('a camera that is neither redelivered nor sending duplicates makes no record again', async () => {
    const cohorts = new CrashingCohortStore(0);
    const { run } = ingest(cohorts);
    await run([message('m1', 'cam-1', 0)]);
    const writes = cohorts.memberWrites;
    await run([message('m2', 'cam-1', 10)]);
    expect(cohorts.memberWrites).toBe(writes);
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
