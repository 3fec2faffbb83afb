// DynamoDB CohortStore (docs/fleet-decisions.md). In the state table: a head item per cohort and
// COHORT.shards shard items, each holding one attribute per member camera. Writes are conditional and
// never retried on a lost condition: a member record over an older one (idempotent), a shard summary over
// an older one (blind), the head's decision fields on their version (only when a decision is near).
import {
  BatchGetItemCommand,
  ConditionalCheckFailedException,
  GetItemCommand,
  QueryCommand,
  UpdateItemCommand,
  type AttributeValue,
  type DynamoDBClient,
} from '@aws-sdk/client-dynamodb';
import {
  COHORT_BUCKET_MS,
  cohortPriorOf,
  emptyHead,
  type CohortHead,
  type CohortKey,
  type CohortSignal,
  type MemberRecord,
  type ShardSummary,
} from '../core/cohort.js';
import type { MetricKind, Modality } from '../core/metric-event.js';
import type { BaselinePrior } from '../core/detectors/adaptive-baseline.js';
import {
  decodeMetricNumbers,
  encodeMetricNumbers,
  type MetricBaselines,
  type ShardPrior,
} from '../core/cohort-prior.js';
import type { CohortStore, ShardState, VersionedHead } from '../app/cohort-signals.js';
import { COHORT, STATE_TABLE } from '../resources.js';

type Item = Record<string, AttributeValue>;
const PK = STATE_TABLE.partitionKey.name;
const MEMBER = 'c#';
const JUDGED = 'j#';
const SUMMARY = 's#';
/** Head attributes: decision fields as JSON, their version, last update. */
const H = { decision: 'd', version: 'hv', updatedAt: STATE_TABLE.pendingOutboxIndex.sortKey.name };
const SUMMARY_FIELDS = ['v', 'n', 'a', 'b', 'r', 't'] as const;
/** The summary's part of the cohort watermark (absent in summaries written before it: read as 0). */
const SUMMARY_WATERMARK = 'w';
/** The summary's cohort-prior part (cohort-prior.ts), as compact text: one short string per shard. */
const SUMMARY_PRIOR = 'p';

const isConditionFailure = (err: unknown) =>
  err instanceof ConditionalCheckFailedException || (err as Error).name === 'ConditionalCheckFailedException';

const n = (x: number): AttributeValue => ({ N: String(x) });

/**
 * A member record as stored in its shard (the attribute `c#<camera>`): its sequence `q` as a number (the
 * write's condition reads it), the detector statistics `s` and baselines `p` as compact text, and JSON
 * `j` of the rest without what `q` gives (newest time l = ⌊q/2⌋, affected = q mod 2, bucket = l's hour)
 * and without a zero reset epoch; no JSON at all when nothing is left (a healthy camera's registration).
 * A shard write is billed by the shard item's size, so every byte here is paid by every member write
 * to the shard.
 */
export function memberValue(rec: MemberRecord): AttributeValue {
  const { q, a, l, b, r, s, p, ...rest } = rec;
  const derived = q === 2 * l + a && b === Math.floor(l / COHORT_BUCKET_MS);
  const json = { ...(derived ? {} : { a, l, b }), ...(r !== 0 ? { r } : {}), ...rest };
  return {
    M: {
      q: n(q),
      ...(s && Object.keys(s).length > 0 ? { s: { S: encodeStats(s) } } : {}),
      ...(p ? { p: { S: encodeMetricNumbers(p) } } : {}),
      ...(Object.keys(json).length > 0 ? { j: { S: JSON.stringify(json) } } : {}),
    },
  };
}

/** Reads every form: records written before issue 24 hold a, l, b, r, s and p in their JSON. */
export function memberFromValue(value: AttributeValue): MemberRecord {
  const m = value.M ?? {};
  const q = Number(m.q?.N ?? 0);
  const l = Math.floor(q / 2);
  const rec = {
    a: q % 2,
    l,
    b: Math.floor(l / COHORT_BUCKET_MS),
    r: 0,
    ...JSON.parse(m.j?.S ?? '{}'),
    ...(m.s?.S !== undefined ? { s: m.s.S } : {}),
    ...(m.p?.S !== undefined ? { p: m.p.S } : {}),
    q,
  } as MemberRecord;
  if (typeof rec.p === 'string') rec.p = decodeMetricNumbers(rec.p) as MetricBaselines;
  if (typeof rec.s === 'string') rec.s = decodeStats(rec.s);
  return rec;
}

/**
 * The default policy's drift and regression detector ids, by the index that stands for them in a stored
 * record (`~0`). Frozen: records written with it must read forever; append, never reorder.
 */
const KNOWN_DETECTORS: readonly string[] = [
  'drift-window-mean',
  'drift-ewma',
  'accuracy-regression',
  'drift-mean-shift',
];

/**
 * Detector statistics as `id:value,id:value`, a shipped detector's id as `~index` (a policy's ids are
 * a-z, 0-9 and "-": policy.ts, so `~` never starts one): ~60 bytes under their JSON with the default
 * policy, in a record that every write to the shard pays for.
 */
const encodeStats = (s: Record<string, number>) =>
  Object.entries(s)
    .map(([id, v]) => {
      const known = KNOWN_DETECTORS.indexOf(id);
      return `${known >= 0 ? `~${known}` : id}:${v}`;
    })
    .join(',');
const decodeStats = (text: string): Record<string, number> =>
  Object.fromEntries(
    text
      .split(',')
      .filter(Boolean)
      .map((kv) => {
        const at = kv.lastIndexOf(':');
        const id = kv.slice(0, at);
        const known = id.startsWith('~') ? KNOWN_DETECTORS[Number(id.slice(1))] : undefined;
        if (id.startsWith('~') && known === undefined) throw new Error(`member record: unknown detector ${id}`);
        return [known ?? id, Number(kv.slice(at + 1))];
      }),
  );

function shardFromItem(item: Item | undefined): ShardState {
  const out: ShardState = { version: Number(item?.sv?.N ?? 0), members: [], judged: new Map() };
  for (const [name, value] of Object.entries(item ?? {})) {
    if (name.startsWith(MEMBER) && value.M)
      out.members.push({ cameraId: name.slice(MEMBER.length), rec: memberFromValue(value) });
    else if (name.startsWith(JUDGED) && value.S) out.judged.set(name.slice(JUDGED.length), value.S);
  }
  return out;
}

function headFromItem(item: Item | undefined): VersionedHead {
  const head = emptyHead();
  if (!item) return { head, version: 0 };
  if (item[H.decision]?.S) Object.assign(head, JSON.parse(item[H.decision]!.S!));
  head.shards = {};
  for (const [name, value] of Object.entries(item))
    if (name.startsWith(SUMMARY) && value.M) {
      const m = value.M;
      const summary = Object.fromEntries(
        SUMMARY_FIELDS.map((f) => [f, Number(m[f]?.N ?? 0)]),
      ) as unknown as ShardSummary;
      if (m[SUMMARY_WATERMARK]?.N !== undefined) summary.w = Number(m[SUMMARY_WATERMARK]!.N);
      const prior = m[SUMMARY_PRIOR]?.S;
      if (prior) summary.p = decodeMetricNumbers(prior) as ShardPrior;
      head.shards[name.slice(SUMMARY.length)] = summary;
    }
  return { head, version: Number(item[H.version]?.N ?? 0) };
}

export class DynamoCohortStore implements CohortStore {
  /** Writes by kind, for the bench's cost figures. */
  readonly counters = { memberWrites: 0, summaryWrites: 0, headWrites: 0, shardReads: 0, headReads: 0 };

  constructor(
    private readonly ddb: DynamoDBClient,
    private readonly tableName: string,
    readonly shardCount: number = COHORT.shards,
  ) {}

  private headKey(c: CohortKey): Item {
    return { [PK]: { S: COHORT.headKey(c.modality, c.modelVersion) } };
  }

  private shardKey(c: CohortKey, k: number): Item {
    return { [PK]: { S: COHORT.shardKey(c.modality, c.modelVersion, k) } };
  }

  async applyMember(
    signal: CohortSignal,
    k: number,
  ): Promise<ShardState & { applied: boolean; before?: MemberRecord }> {
    const name = `${MEMBER}${signal.cameraId}`;
    const value = memberValue(signal.rec);
    this.counters.memberWrites++;
    try {
      // The item before the write: with the record set in it, it is the item after (the write is atomic),
      // and it gives the record replaced, so the use case can tell whether the shard's summary moved.
      const r = await this.ddb.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: this.shardKey(signal.cohort, k),
          UpdateExpression: 'SET #c = :rec, #sv = if_not_exists(#sv, :zero) + :one',
          ConditionExpression: 'attribute_not_exists(#c) OR #c.#q < :q',
          ExpressionAttributeNames: { '#c': name, '#q': 'q', '#sv': 'sv' },
          ExpressionAttributeValues: { ':rec': value, ':q': n(signal.rec.q), ':zero': n(0), ':one': n(1) },
          ReturnValues: 'ALL_OLD',
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      );
      const old = r.Attributes ?? {};
      const after = shardFromItem({ ...old, [name]: value, sv: n(Number(old.sv?.N ?? 0) + 1) });
      return { ...after, applied: true, ...(old[name]?.M ? { before: memberFromValue(old[name]!) } : {}) };
    } catch (err) {
      if (!isConditionFailure(err)) throw err;
      const old = (err as ConditionalCheckFailedException).Item;
      return { ...(old ? shardFromItem(old) : await this.readShard(signal.cohort, k)), applied: false };
    }
  }

  private async readShard(c: CohortKey, k: number): Promise<ShardState> {
    this.counters.shardReads++;
    const r = await this.ddb.send(
      new GetItemCommand({ TableName: this.tableName, Key: this.shardKey(c, k), ConsistentRead: true }),
    );
    return shardFromItem(r.Item);
  }

  async putSummary(c: CohortKey, k: number, summary: ShardSummary): Promise<VersionedHead> {
    this.counters.summaryWrites++;
    try {
      const r = await this.ddb.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: this.headKey(c),
          UpdateExpression: 'SET #s = :sum',
          ConditionExpression: 'attribute_not_exists(#s) OR #s.#v < :v',
          ExpressionAttributeNames: { '#s': `${SUMMARY}${k}`, '#v': 'v' },
          ExpressionAttributeValues: {
            ':sum': {
              M: {
                ...Object.fromEntries(SUMMARY_FIELDS.map((f) => [f, n(summary[f])])),
                ...(summary.w !== undefined ? { [SUMMARY_WATERMARK]: n(summary.w) } : {}),
                ...(summary.p ? { [SUMMARY_PRIOR]: { S: encodeMetricNumbers(summary.p) } } : {}),
              },
            },
            ':v': n(summary.v),
          },
          ReturnValues: 'ALL_NEW',
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      );
      return headFromItem(r.Attributes);
    } catch (err) {
      if (!isConditionFailure(err)) throw err;
      const old = (err as ConditionalCheckFailedException).Item;
      return old ? headFromItem(old) : this.loadHead(c);
    }
  }

  async loadHead(c: CohortKey): Promise<VersionedHead> {
    this.counters.headReads++;
    const r = await this.ddb.send(
      new GetItemCommand({ TableName: this.tableName, Key: this.headKey(c), ConsistentRead: true }),
    );
    return headFromItem(r.Item);
  }

  async commitHead(c: CohortKey, head: CohortHead, expected: number, nowMs: number) {
    const { shards: _summaries, ...decision } = head;
    const pending = head.outbox.length > 0;
    const ix = STATE_TABLE.pendingOutboxIndex;
    this.counters.headWrites++;
    try {
      await this.ddb.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: this.headKey(c),
          UpdateExpression: `SET #d = :d, #hv = :next, #u = :now${pending ? ', #ob = :pending' : ' REMOVE #ob'}`,
          ConditionExpression: expected === 0 ? 'attribute_not_exists(#hv)' : '#hv = :expected',
          ExpressionAttributeNames: {
            '#d': H.decision,
            '#hv': H.version,
            '#u': H.updatedAt,
            '#ob': ix.partitionKey.name,
          },
          ExpressionAttributeValues: {
            ':d': { S: JSON.stringify(decision) },
            ':next': n(expected + 1),
            ':now': n(nowMs),
            ...(pending ? { ':pending': { S: ix.value } } : {}),
            ...(expected === 0 ? {} : { ':expected': n(expected) }),
          },
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      );
      return { ok: true as const, version: expected + 1 };
    } catch (err) {
      if (!isConditionFailure(err)) throw err;
      const old = (err as ConditionalCheckFailedException).Item;
      return { ok: false as const, current: old ? headFromItem(old) : await this.loadHead(c) };
    }
  }

  async members(c: CohortKey): Promise<ShardState> {
    const out: ShardState = { version: 0, members: [], judged: new Map() };
    let keys = Array.from({ length: this.shardCount }, (_, k) => this.shardKey(c, k));
    while (keys.length > 0) {
      const chunk = keys.slice(0, 100);
      keys = keys.slice(100);
      this.counters.shardReads += chunk.length;
      const r = await this.ddb.send(
        new BatchGetItemCommand({ RequestItems: { [this.tableName]: { Keys: chunk, ConsistentRead: true } } }),
      );
      for (const item of r.Responses?.[this.tableName] ?? []) {
        const s = shardFromItem(item);
        out.members.push(...s.members);
        for (const [cam, key] of s.judged) out.judged.set(cam, key);
      }
      keys.push(...(r.UnprocessedKeys?.[this.tableName]?.Keys ?? []));
    }
    return out;
  }

  async markJudged(c: CohortKey, k: number, cameraId: string, episodeKey: string): Promise<void> {
    this.counters.memberWrites++;
    await this.ddb.send(
      new UpdateItemCommand({
        TableName: this.tableName,
        Key: this.shardKey(c, k),
        UpdateExpression: 'SET #j = :k',
        ExpressionAttributeNames: { '#j': `${JUDGED}${cameraId}` },
        ExpressionAttributeValues: { ':k': { S: episodeKey } },
      }),
    );
  }

  async pendingHeads(updatedBeforeMs: number, limit: number): Promise<CohortKey[]> {
    const ix = STATE_TABLE.pendingOutboxIndex;
    const out: CohortKey[] = [];
    let start: Item | undefined;
    do {
      const r = await this.ddb.send(
        new QueryCommand({
          TableName: this.tableName,
          IndexName: ix.name,
          KeyConditionExpression: '#ob = :pending AND #u < :before',
          FilterExpression: 'begins_with(#pk, :prefix)',
          ExpressionAttributeNames: { '#ob': ix.partitionKey.name, '#u': ix.sortKey.name, '#pk': PK },
          ExpressionAttributeValues: {
            ':pending': { S: ix.value },
            ':before': n(updatedBeforeMs),
            ':prefix': { S: COHORT.headPrefix },
          },
          ...(start ? { ExclusiveStartKey: start } : {}),
        }),
      );
      for (const item of r.Items ?? []) {
        const [, modality, ...mv] = item[PK]!.S!.split('#');
        out.push({ modality: modality as Modality, modelVersion: mv.join('#') });
      }
      start = r.LastEvaluatedKey;
    } while (start && out.length < limit);
    return out.slice(0, limit);
  }
}

/**
 * A cohort's reset epoch and prior, cached per container (the lazy half of the model-scope closed loop;
 * the cohort prior a new camera's charts arm on). Both come from the head the batch reads anyway; the
 * prior is also refreshed from every head this container's cohort writes return (`remember`), so a
 * camera joining a cohort this container serves sees its newest prior with no extra read.
 */
export class CohortEpochCache {
  private readonly cache = new Map<
    string,
    { at: number; epoch: number; priors: Partial<Record<MetricKind, BaselinePrior>>; wait?: number }
  >();

  constructor(
    private readonly store: Pick<CohortStore, 'loadHead'>,
    private readonly ttlMs: number = COHORT.epochCacheSeconds * 1000,
    private readonly now: () => number = Date.now,
  ) {}

  /** Loads the heads of these cohorts that are not cached or are stale. */
  async load(cohorts: Iterable<CohortKey>): Promise<void> {
    const wanted = new Map<string, CohortKey>();
    for (const c of cohorts) {
      const key = `${c.modality}#${c.modelVersion}`;
      const hit = this.cache.get(key);
      if (!hit || this.now() - hit.at >= this.ttlMs) wanted.set(key, c);
    }
    await Promise.all(
      [...wanted].map(async ([key, c]) => {
        const { head } = await this.store.loadHead(c);
        this.cache.set(key, {
          at: this.now(),
          epoch: head.epoch,
          priors: cohortPriorOf(head),
          ...(head.wait !== undefined ? { wait: head.wait } : {}),
        });
      }),
    );
  }

  /** Takes the prior of a head a cohort write returned (the epoch keeps its own cache age). */
  remember = (c: CohortKey, head: CohortHead): void => {
    const hit = this.cache.get(`${c.modality}#${c.modelVersion}`);
    if (hit && head.epoch === hit.epoch) hit.priors = cohortPriorOf(head);
    if (hit && head.wait !== undefined && head.wait > (hit.wait ?? -Infinity)) hit.wait = head.wait;
  };

  /** The watermark the cohort waits for (undefined: none, or not loaded yet). */
  waitOf = (modelVersion: string, modality: Modality): number | undefined =>
    this.cache.get(`${modality}#${modelVersion}`)?.wait;

  /** The cached epoch (undefined: not loaded yet; loaded on the camera's next batch). */
  epochOf = (modelVersion: string, modality: Modality): number | undefined =>
    this.cache.get(`${modality}#${modelVersion}`)?.epoch;

  /** The cached cohort prior of a metric (undefined: none, or not loaded yet). */
  priorOf = (modelVersion: string, modality: Modality, metric: MetricKind): BaselinePrior | undefined => {
    const p = this.cache.get(`${modality}#${modelVersion}`)?.priors[metric];
    return p && { mean: p.mean, sigma: p.sigma, n: p.n };
  };
}
