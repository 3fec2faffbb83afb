// In-memory CohortStore with the DynamoDB adapter's semantics (conditional member, summary and head
// writes). `vmon backtest` replays cohort decisions through it, so its triggerIds equal the live ones.
import {
  emptyHead,
  type CohortHead,
  type CohortKey,
  type CohortSignal,
  type MemberRecord,
  type ShardSummary,
} from '../core/cohort.js';
import type { CohortStore, ShardState, VersionedHead } from '../app/cohort-signals.js';
import { COHORT } from '../resources.js';

interface Shard {
  version: number;
  members: Map<string, MemberRecord>;
  judged: Map<string, string>;
}

const keyOf = (c: CohortKey) => `${c.modality}#${c.modelVersion}`;

export class InMemoryCohortStore implements CohortStore {
  private readonly shards = new Map<string, Shard>();
  private readonly heads = new Map<string, { head: CohortHead; version: number; updatedAt: number }>();

  constructor(readonly shardCount: number = COHORT.shards) {}

  private shard(c: CohortKey, k: number): Shard {
    const key = `${keyOf(c)}#${k}`;
    let s = this.shards.get(key);
    if (!s) this.shards.set(key, (s = { version: 0, members: new Map(), judged: new Map() }));
    return s;
  }

  private state(s: Shard): ShardState {
    return {
      version: s.version,
      members: [...s.members].map(([cameraId, rec]) => ({ cameraId, rec })),
      judged: new Map(s.judged),
    };
  }

  private headEntry(c: CohortKey) {
    let h = this.heads.get(keyOf(c));
    if (!h) this.heads.set(keyOf(c), (h = { head: emptyHead(), version: 0, updatedAt: 0 }));
    return h;
  }

  private snapshot(c: CohortKey): VersionedHead {
    const h = this.headEntry(c);
    return { head: structuredClone(h.head), version: h.version };
  }

  async applyMember(signal: CohortSignal, k: number) {
    const s = this.shard(signal.cohort, k);
    const old = s.members.get(signal.cameraId);
    const applied = !old || old.q < signal.rec.q;
    if (applied) {
      s.members.set(signal.cameraId, structuredClone(signal.rec));
      s.version++;
    }
    return { ...this.state(s), applied, ...(applied && old ? { before: structuredClone(old) } : {}) };
  }

  async putSummary(c: CohortKey, k: number, summary: ShardSummary) {
    const h = this.headEntry(c);
    const old = h.head.shards[k];
    if (!old || old.v < summary.v) h.head.shards[k] = { ...summary };
    return this.snapshot(c);
  }

  async loadHead(c: CohortKey) {
    return this.snapshot(c);
  }

  async commitHead(c: CohortKey, head: CohortHead, expected: number, nowMs: number) {
    const h = this.headEntry(c);
    if (h.version !== expected) return { ok: false as const, current: this.snapshot(c) };
    // Decision fields only: the summaries are written by putSummary.
    const { shards, ...decision } = structuredClone(head);
    h.head = { ...decision, shards: h.head.shards };
    h.version++;
    h.updatedAt = nowMs;
    return { ok: true as const, version: h.version };
  }

  async members(c: CohortKey): Promise<ShardState> {
    const out: ShardState = { version: 0, members: [], judged: new Map() };
    for (let k = 0; k < this.shardCount; k++) {
      const s = this.state(this.shard(c, k));
      out.members.push(...s.members);
      for (const [cam, key] of s.judged) out.judged.set(cam, key);
    }
    return out;
  }

  async markJudged(c: CohortKey, k: number, cameraId: string, episodeKey: string) {
    this.shard(c, k).judged.set(cameraId, episodeKey);
  }

  async pendingHeads(updatedBeforeMs: number, limit: number): Promise<CohortKey[]> {
    const out: CohortKey[] = [];
    for (const [key, h] of this.heads) {
      if (out.length >= limit) break;
      if (h.head.outbox.length === 0 || h.updatedAt >= updatedBeforeMs) continue;
      const [modality, ...mv] = key.split('#');
      out.push({ modality: modality as CohortKey['modality'], modelVersion: mv.join('#') });
    }
    return out;
  }

  /** The cohort's current head, read synchronously (the backtest's cohort prior). */
  headOf(c: CohortKey): CohortHead {
    return this.heads.get(keyOf(c))?.head ?? emptyHead();
  }

  /** Every cohort seen (for reports): key and current head. */
  cohorts(): { cohort: CohortKey; head: CohortHead }[] {
    return [...this.heads].map(([key, h]) => {
      const [modality, ...mv] = key.split('#');
      return { cohort: { modality: modality as CohortKey['modality'], modelVersion: mv.join('#') }, head: h.head };
    });
  }
}
