// Fleet decisions, the use case: applies the member records a camera committed in its outbox to the
// camera's cohort (idempotent shard write, blind summary write to the cohort head), then takes the rare
// model-scope decision with a conditional head write that carries its trigger (the cohort outbox), and
// judges lone cameras. Also the model-scope closed loop. Storage is behind the CohortStore port.
import {
  affectedMembers,
  closeCohortEpisode,
  cohortWatermark,
  cohortCounts,
  decideCohort,
  judgeLoneCamera,
  MAX_WAITING,
  openCohortEpisode,
  summarizeShard,
  summaryWatermark,
  type AffectedMember,
  type CohortHead,
  type CohortKey,
  type CohortSignal,
  type LoneVerdict,
  type MemberRecord,
  type ShardSummary,
  summaryMoved,
} from '../core/cohort.js';
import type { Modality } from '../core/metric-event.js';
import type { Policy } from '../core/policy.js';
import type { Trigger } from '../core/trigger.js';
import type { TriggerSink } from './ports.js';

export interface ShardState {
  /** The shard item's version after the write (or now, when the record was older than the stored one). */
  version: number;
  members: AffectedMember[];
  /** Camera episode keys already judged by the lone-camera test, by camera. */
  judged: Map<string, string>;
}

export interface VersionedHead {
  head: CohortHead;
  /** Version of the head's decision fields (0: none yet). */
  version: number;
}

/** Where cohorts live. Every write is idempotent or conditional; none is a read-modify-write retried under load. */
export interface CohortStore {
  readonly shardCount: number;
  /**
   * Writes the member record if it is newer than the stored one; returns the shard either way (after the
   * write), and when applied, the camera's record the write replaced (`before`; absent for a new member).
   */
  applyMember(signal: CohortSignal, shard: number): Promise<ShardState & { applied: boolean; before?: MemberRecord }>;
  /** Writes a shard summary over an older one; returns the head (current either way). */
  putSummary(cohort: CohortKey, shard: number, summary: ShardSummary): Promise<VersionedHead>;
  loadHead(cohort: CohortKey): Promise<VersionedHead>;
  /** Writes the head's decision fields if their version is still `expected`; the current head otherwise. */
  commitHead(
    cohort: CohortKey,
    head: CohortHead,
    expected: number,
    nowMs: number,
  ): Promise<{ ok: true; version: number } | { ok: false; current: VersionedHead }>;
  /** Every member of the cohort (reads all shards: only when a decision is near). */
  members(cohort: CohortKey): Promise<ShardState>;
  markJudged(cohort: CohortKey, shard: number, cameraId: string, episodeKey: string): Promise<void>;
  /** Cohort heads whose outbox holds triggers since before `updatedBeforeMs`. */
  pendingHeads(updatedBeforeMs: number, limit: number): Promise<CohortKey[]>;
}

export interface CohortDeps {
  cohorts: CohortStore;
  publisher: TriggerSink;
  /** The policy that governs a signal: the signalling camera's, resolved as for its events. */
  policyFor: (cameraId: string, modality: Modality) => Policy;
  /** Sees the head every summary write returns (the ingest's cohort cache takes the cohort prior from it). */
  onHead?: (cohort: CohortKey, head: CohortHead) => void;
}

export interface CohortOutcome {
  /** Member records that changed their shard (the others were redelivered or stale). */
  applied: number;
  stale: number;
  /** Triggers published while applying (cohort decisions, lone cameras, pending head outboxes). */
  published: Trigger[];
  /** Conditional head writes that lost to another writer. */
  headConflicts: number;
  /** Summary writes dropped because a newer summary was there. */
  staleSummaries: number;
  /** Plain registrations whose shard summary did not move: no head write, nothing to decide. */
  quietRegistrations: number;
  /** Decisions held back by cohort cooldown / in-flight retrain. */
  suppressed: number;
}

export const emptyCohortOutcome = (): CohortOutcome => ({
  applied: 0,
  stale: 0,
  published: [],
  headConflicts: 0,
  staleSummaries: 0,
  quietRegistrations: 0,
  suppressed: 0,
});

export function mergeCohortOutcome(into: CohortOutcome, from: CohortOutcome): CohortOutcome {
  into.applied += from.applied;
  into.stale += from.stale;
  into.published.push(...from.published);
  into.headConflicts += from.headConflicts;
  into.staleSummaries += from.staleSummaries;
  into.quietRegistrations += from.quietRegistrations;
  into.suppressed += from.suppressed;
  return into;
}

/** The applier camera updates call: cohort signals with the current policies. */
export function cohortSignalApplier(
  deps: Omit<CohortDeps, 'policyFor'> & {
    policy: () => Promise<CohortDeps['policyFor'] | Policy> | CohortDeps['policyFor'] | Policy;
  },
) {
  return async (signals: readonly CohortSignal[], nowMs: number) => {
    const p = await deps.policy();
    const policyFor = typeof p === 'function' ? p : () => p;
    return applyCohortSignals(
      signals,
      { cohorts: deps.cohorts, publisher: deps.publisher, policyFor, ...(deps.onHead ? { onHead: deps.onHead } : {}) },
      nowMs,
    );
  };
}

/** FNV-1a of the camera id: the shard a camera's member record lives in. */
export function shardOf(cameraId: string, shards: number): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < cameraId.length; i++) {
    h ^= cameraId.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0) % shards;
}

const MAX_HEAD_ATTEMPTS = 5;

/**
 * Applies signals in the order the camera made them. Throws when a write fails: the signals stay in the
 * camera's outbox and are applied again (every step is idempotent or conditional).
 */
export async function applyCohortSignals(
  signals: readonly CohortSignal[],
  deps: CohortDeps,
  nowMs: number,
  outcome: CohortOutcome = emptyCohortOutcome(),
): Promise<CohortOutcome> {
  for (const signal of signals) {
    const { cohort, cameraId } = signal;
    const policy = deps.policyFor(cameraId, cohort.modality);
    const shard = shardOf(cameraId, deps.cohorts.shardCount);
    const s = await deps.cohorts.applyMember(signal, shard);
    if (s.applied) outcome.applied++;
    else outcome.stale++;
    const summary = summarizeShard(
      s.members.map((m) => m.rec),
      s.version,
    );
    // A plain registration that moved nothing the decisions read: the head keeps its summary. A record
    // applied again (after a crash, or redelivered) always writes it, so a summary lost with a crash is made good.
    if (signal.reg && s.applied && !summaryMoved(summaryBefore(s, cameraId), summary)) {
      outcome.quietRegistrations++;
      continue;
    }
    let current = await deps.cohorts.putSummary(cohort, shard, summary);
    if (current.head.shards[shard]?.v !== summary.v) outcome.staleSummaries++;
    deps.onHead?.(cohort, current.head);
    current = await flushHeadOutbox(cohort, current, deps, nowMs, outcome);
    current = await decide(cohort, current, policy, deps, nowMs, outcome);
    current = await judge(signal, shard, s, current, policy, deps, nowMs, outcome);
    await releaseWaiting(cohort, current, deps, nowMs, outcome);
  }
  return outcome;
}

/** The shard's summary before an applied member write (the camera's previous record in place of the new one). */
function summaryBefore(s: ShardState & { before?: MemberRecord }, cameraId: string): ShardSummary {
  const recs: MemberRecord[] = [];
  for (const m of s.members) if (m.cameraId !== cameraId) recs.push(m.rec);
  if (s.before) recs.push(s.before);
  return summarizeShard(recs, s.version - 1);
}

/** Publishes what a committed head write decided and clears it (best effort: a later applier or the sweep retries). */
async function flushHeadOutbox(
  cohort: CohortKey,
  current: VersionedHead,
  deps: Pick<CohortDeps, 'cohorts' | 'publisher'>,
  nowMs: number,
  outcome: CohortOutcome,
): Promise<VersionedHead> {
  if (current.head.outbox.length === 0) return current;
  await deps.publisher.publish(current.head.outbox);
  outcome.published.push(...current.head.outbox);
  const head = { ...current.head, outbox: [] };
  const r = await deps.cohorts.commitHead(cohort, head, current.version, nowMs);
  if (!r.ok) {
    outcome.headConflicts++;
    return r.current;
  }
  return { head, version: r.version };
}

async function decide(
  cohort: CohortKey,
  current: VersionedHead,
  policy: Policy,
  deps: CohortDeps,
  nowMs: number,
  outcome: CohortOutcome,
): Promise<VersionedHead> {
  if (decideCohort(current.head, policy.cohort) === null) return current;
  // Near a decision (rare): the exact count from every member, then one conditional head write.
  const all = await deps.cohorts.members(cohort);
  for (let attempt = 1; attempt <= MAX_HEAD_ATTEMPTS; attempt++) {
    const head: CohortHead = structuredClone(current.head);
    const affected = affectedMembers(all.members, head);
    const counts = exactCounts(all.members, head, affected.length);
    const move = decideCohort(head, policy.cohort, counts);
    if (move === null) return current;
    if (move === 'open') {
      const r = openCohortEpisode(head, cohort, affected, counts, policy);
      if (r.trigger) head.outbox.push(r.trigger);
      else outcome.suppressed++;
    } else {
      const resolved = closeCohortEpisode(head, cohort, counts, policy);
      if (resolved) head.outbox.push(resolved);
    }
    const w = await deps.cohorts.commitHead(cohort, head, current.version, nowMs);
    if (w.ok) return flushHeadOutbox(cohort, { head, version: w.version }, deps, nowMs, outcome);
    // Another applier decided first: look again at what it wrote (it publishes its own trigger).
    outcome.headConflicts++;
    current = w.current;
  }
  return current;
}

/** Affected/active from the members themselves (the summaries may lag by a shard write). */
function exactCounts(members: readonly AffectedMember[], head: CohortHead, affected: number) {
  const fromSummaries = cohortCounts(head);
  const newest = Math.max(0, ...members.filter((m) => !m.rec.x).map((m) => m.rec.b));
  const active = members.filter((m) => !m.rec.x && m.rec.b >= newest - 1).length;
  const at = Math.max(fromSummaries.at, ...members.map((m) => m.rec.l));
  return { affected, active, share: active > 0 ? affected / active : 0, at };
}

/**
 * Writes the head's waiting list (conditional; a lost write is retried on the current head): `edit` returns
 * the new list, or null when nothing is to change.
 */
async function commitWaiting(
  cohort: CohortKey,
  current: VersionedHead,
  edit: (head: CohortHead) => { waiting: [string, number][]; wait?: number } | null,
  deps: CohortDeps,
  nowMs: number,
  outcome: CohortOutcome,
): Promise<VersionedHead> {
  for (let attempt = 1; attempt <= MAX_HEAD_ATTEMPTS; attempt++) {
    const change = edit(current.head);
    if (!change) return current;
    const head: CohortHead = structuredClone(current.head);
    if (change.wait !== undefined) head.wait = change.wait;
    if (change.waiting.length > 0) head.waiting = change.waiting;
    else delete head.waiting;
    const w = await deps.cohorts.commitHead(cohort, head, current.version, nowMs);
    if (w.ok) return { head, version: w.version };
    outcome.headConflicts++;
    current = w.current;
  }
  return current;
}

/** Asks the members for the watermark `until` (head.wait) and lists the camera as waiting on it. */
const askWatermark = (
  cohort: CohortKey,
  current: VersionedHead,
  cameraId: string,
  until: number,
  deps: CohortDeps,
  nowMs: number,
  outcome: CohortOutcome,
) =>
  commitWaiting(
    cohort,
    current,
    (head) => {
      const waiting = head.waiting ?? [];
      if ((head.wait ?? -Infinity) >= until && waiting.some(([id]) => id === cameraId)) return null;
      return {
        waiting: [...waiting.filter(([id]) => id !== cameraId), [cameraId, until] as [string, number]].slice(
          -MAX_WAITING,
        ),
        wait: Math.max(head.wait ?? -Infinity, until),
      };
    },
    deps,
    nowMs,
    outcome,
  );

/**
 * The lone-camera test for one member's newest record: publishes its anomaly or dismisses it (marked
 * judged either way), or, waiting on the watermark, lists it in the head (judged once it passes).
 */
async function judgeMember(
  cohort: CohortKey,
  me: AffectedMember,
  shard: number,
  members: readonly AffectedMember[],
  current: VersionedHead,
  policy: Policy,
  deps: CohortDeps,
  nowMs: number,
  outcome: CohortOutcome,
): Promise<VersionedHead> {
  const verdict: LoneVerdict = current.head.open
    ? { kind: 'dismiss', why: 'cohort episode open' }
    : judgeLoneCamera(me, members, current.head, cohort, policy);
  if (verdict.kind === 'wait')
    return verdict.until === undefined
      ? current
      : askWatermark(cohort, current, me.cameraId, verdict.until, deps, nowMs, outcome);
  // Publish before marking: a crash in between publishes the same triggerId again, never loses it.
  if (verdict.kind === 'anomaly') {
    await deps.publisher.publish([verdict.trigger]);
    outcome.published.push(verdict.trigger);
  }
  await deps.cohorts.markJudged(cohort, shard, me.cameraId, me.rec.k!);
  return current;
}

async function judge(
  signal: CohortSignal,
  shard: number,
  s: ShardState,
  current: VersionedHead,
  policy: Policy,
  deps: CohortDeps,
  nowMs: number,
  outcome: CohortOutcome,
): Promise<VersionedHead> {
  const rec = signal.rec;
  if (rec.a !== 1 || rec.k === undefined || rec.f === undefined) return current;
  if (s.judged.get(signal.cameraId) === rec.k) return current;
  // Only the camera's newest record is judged (a stale one may no longer hold).
  const stored = s.members.find((m) => m.cameraId === signal.cameraId);
  if (stored && stored.rec.q !== rec.q) return current;
  if (rec.l < rec.f + policy.cohort.confirmSeconds * 1000) return current;
  const members = current.head.open ? [] : (await deps.cohorts.members(signal.cohort)).members;
  return judgeMember(
    signal.cohort,
    { cameraId: signal.cameraId, rec },
    shard,
    members,
    current,
    policy,
    deps,
    nowMs,
    outcome,
  );
}

/**
 * Judges the cameras waiting on the watermark once it has passed their time: the summaries say when it may
 * have (no read); the members then decide. Rare: only while a lone camera waits.
 */
async function releaseWaiting(
  cohort: CohortKey,
  current: VersionedHead,
  deps: CohortDeps,
  nowMs: number,
  outcome: CohortOutcome,
) {
  const waiting = current.head.waiting ?? [];
  if (waiting.length === 0) return;
  const hint = current.head.open ? Infinity : summaryWatermark(current.head);
  if (!waiting.some(([, until]) => until <= hint)) return;
  const all = await deps.cohorts.members(cohort);
  const watermark = cohortWatermark(all.members);
  const done = new Set<string>();
  for (const [cameraId, until] of waiting) {
    const me = all.members.find((m) => m.cameraId === cameraId);
    // Gone, healthy again, judged meanwhile (its own record), or a newer episode: nothing to wait for.
    if (me?.rec.a !== 1 || me.rec.k === undefined || all.judged.get(cameraId) === me.rec.k) {
      done.add(cameraId);
      continue;
    }
    if (!current.head.open && until > watermark) continue;
    const policy = deps.policyFor(cameraId, cohort.modality);
    const shard = shardOf(cameraId, deps.cohorts.shardCount);
    // Judged, or still waiting for another reason (behind its cohort): its own next record takes it up.
    current = await judgeMember(cohort, me, shard, all.members, current, policy, deps, nowMs, outcome);
    done.add(cameraId);
  }
  if (done.size === 0) return;
  await commitWaiting(
    cohort,
    current,
    (head) => {
      const left = (head.waiting ?? []).filter(([id]) => !done.has(id));
      return left.length === (head.waiting ?? []).length ? null : { waiting: left };
    },
    deps,
    nowMs,
    outcome,
  );
}

/**
 * The model-scope closed loop: a RetrainingCompleted / ModelDeployed for a cohort closes its open episode
 * (AlertResolved), lifts its in-flight suppression and sets its reset epoch; cameras reset lazily.
 */
export async function resetCohort(
  cohort: CohortKey,
  signal: { type: 'RetrainingCompleted' | 'ModelDeployed'; at: number },
  deps: CohortDeps & { policy: Policy },
  nowMs: number,
): Promise<CohortOutcome> {
  const outcome = emptyCohortOutcome();
  let current = await deps.cohorts.loadHead(cohort);
  for (let attempt = 1; attempt <= MAX_HEAD_ATTEMPTS; attempt++) {
    const head: CohortHead = structuredClone(current.head);
    const counts = cohortCounts(head);
    const resolved = closeCohortEpisode(head, cohort, counts, deps.policy, signal.type, signal.at);
    if (resolved) head.outbox.push(resolved);
    head.epoch = Math.max(head.epoch, signal.at);
    delete head.inFlight;
    const w = await deps.cohorts.commitHead(cohort, head, current.version, nowMs);
    if (w.ok) {
      await flushHeadOutbox(cohort, { head, version: w.version }, deps, nowMs, outcome);
      return outcome;
    }
    outcome.headConflicts++;
    current = w.current;
  }
  throw new Error(`cohort ${cohort.modelVersion}/${cohort.modality}: head kept changing during the reset`);
}

/** The sweep's half for cohorts: publishes head outboxes a crashed applier left behind. */
export async function sweepCohortOutboxes(
  deps: Pick<CohortDeps, 'cohorts' | 'publisher'>,
  opts: { nowMs: number; graceMs: number; maxCohorts: number },
): Promise<CohortOutcome> {
  const outcome = emptyCohortOutcome();
  for (const cohort of await deps.cohorts.pendingHeads(opts.nowMs - opts.graceMs, opts.maxCohorts))
    await flushHeadOutbox(cohort, await deps.cohorts.loadHead(cohort), deps, opts.nowMs, outcome);
  return outcome;
}
