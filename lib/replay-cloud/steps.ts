// The distributed replay's two steps, as one function the worker Lambda (functions/replay-worker.ts)
// and the local worker loop (lib/local/replay-worker-loop.ts) both call: the shard step runs the
// replay engine on one shard's cameras, reading only their camera buckets of the history, and writes
// its ShardResult to S3; the merge step reads every shard's latest result, makes the cohort decisions
// (mergeShards) and either writes the result document or names the shards to run again with the
// priors it wrote (the engine's rounds). Inputs and outputs are small JSON; results go through S3.
// A run document with `mode: "tune"` makes them a distributed tune's steps (tune-steps.ts).
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { historySource, type HistorySourceSpec } from '../history/source.js';
import {
  MAX_PRIOR_ROUNDS,
  mergeShards,
  replayCameraShard,
  type PriorTimeline,
  type ReplayPolicies,
  type ReplayResult,
  type ShardResult,
} from '../replay/engine.js';
import type { ReplayStep } from './definition.js';
import { mergeTuneShards, tuneShard, type TuneRun, type TuneShardResult } from './tune-steps.js';

/** What a replay replays: written once by the starter (run.ts) at `runKey`, read by every step. */
export interface ReplayRun {
  mode?: 'replay';
  /** Where this run's manifests, shard results and result document go (ends with '/'). */
  runPrefix: string;
  history: HistorySourceSpec;
  policies: ReplayPolicies;
  /** The same "now" for every shard and the merge (the engine's requirement). */
  nowMs: number;
  /** The replay engine's `reorderMs` (absent: its default). */
  reorderMs?: number;
  shards: number;
}

/** The run document: a replay, or a tune's candidates (lib/replay-cloud/tune-steps.ts) on the same machine. */
export type RunDocument = ReplayRun | TuneRun;

export interface ShardStepInput {
  runKey: string;
  round: number;
  shard: number;
}
export interface ShardStepOutput {
  shard: number;
  round: number;
  events: number;
  /** A replay's triggers. */
  triggers?: number;
  /** A tune's candidates replayed. */
  candidates?: number;
}
export interface MergeStepInput {
  runKey: string;
  round: number;
}
export interface MergeStepOutput {
  runKey: string;
  round: number;
  done: boolean;
  /** When done: the result document (a ReplayResult with `rounds`). */
  resultKey?: string;
  /** When not done: the next round's manifest, listing the shards to run again. */
  manifestKey?: string;
  rerun?: number[];
}

export const runKeyOf = (runPrefix: string) => `${runPrefix}run.json`;
export const manifestKeyOf = (runPrefix: string, round: number) => `${runPrefix}manifest-${round}.json`;
export const resultKeyOf = (runPrefix: string) => `${runPrefix}result.json`;
const shardKeyOf = (runPrefix: string, round: number, shard: number) =>
  `${runPrefix}round-${String(round).padStart(3, '0')}/shard-${shard}.json`;
const priorsKeyOf = (runPrefix: string, round: number) => `${runPrefix}priors-${round}.json`;

export async function getJson<T>(s3: S3Client, bucket: string, key: string): Promise<T> {
  const out = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  return JSON.parse(await out.Body!.transformToString()) as T;
}

export async function putJson(s3: S3Client, bucket: string, key: string, value: unknown): Promise<void> {
  await s3.send(
    new PutObjectCommand({ Bucket: bucket, Key: key, Body: JSON.stringify(value), ContentType: 'application/json' }),
  );
}

/** Runs one step; `bucket` holds the run's documents (the history bucket). */
export async function runReplayStep(
  s3: S3Client,
  bucket: string,
  step: ReplayStep,
  input: ShardStepInput | MergeStepInput,
): Promise<ShardStepOutput | MergeStepOutput> {
  if (step === 'shard') return shardStep(s3, bucket, input as ShardStepInput);
  if (step === 'merge') return mergeStep(s3, bucket, input as MergeStepInput);
  throw new Error(`unknown replay step ${JSON.stringify(step)}: expected shard or merge`);
}

export async function shardStep(s3: S3Client, bucket: string, input: ShardStepInput): Promise<ShardStepOutput> {
  const run = await getJson<RunDocument>(s3, bucket, input.runKey);
  if (run.mode === 'tune') {
    const result = await tuneShard(run, input.shard);
    await putJson(s3, bucket, shardKeyOf(run.runPrefix, input.round, input.shard), result);
    return { shard: input.shard, round: input.round, events: result.events, candidates: run.grid.length };
  }
  const shard = { index: input.shard, count: run.shards };
  const priors =
    input.round > 1 ? await getJson<PriorTimeline>(s3, bucket, priorsKeyOf(run.runPrefix, input.round)) : undefined;
  const result = await replayCameraShard(historySource(run.history, shard), {
    policies: run.policies,
    nowMs: run.nowMs,
    ...(run.reorderMs !== undefined ? { reorderMs: run.reorderMs } : {}),
    shard,
    ...(priors ? { priors } : {}),
    keepStates: false,
  });
  await putJson(s3, bucket, shardKeyOf(run.runPrefix, input.round, input.shard), result);
  return { shard: input.shard, round: input.round, events: result.totals.events, triggers: result.triggers.length };
}

/** Every shard's latest result (a rerun replaces its earlier round). */
async function latestShardResults<T = ShardResult>(
  s3: S3Client,
  bucket: string,
  run: Pick<RunDocument, 'runPrefix' | 'shards'>,
): Promise<T[]> {
  const latest = new Map<number, string>();
  let token: string | undefined;
  do {
    const page = await s3.send(
      new ListObjectsV2Command({ Bucket: bucket, Prefix: `${run.runPrefix}round-`, ContinuationToken: token }),
    );
    // Keys sort by round (zero-padded), so a later round's key overwrites an earlier one.
    const keys = (page.Contents ?? []).map((o) => o.Key!).sort();
    for (const key of keys) {
      const m = /shard-(\d+)\.json$/.exec(key);
      if (m) latest.set(Number(m[1]), key);
    }
    token = page.NextContinuationToken;
  } while (token);
  const missing = Array.from({ length: run.shards }, (_, i) => i).filter((i) => !latest.has(i));
  if (missing.length) throw new Error(`merge: no result for shard(s) ${missing.join(', ')} of ${run.shards}`);
  return Promise.all([...latest.values()].map((key) => getJson<T>(s3, bucket, key)));
}

export async function mergeStep(s3: S3Client, bucket: string, input: MergeStepInput): Promise<MergeStepOutput> {
  const run = await getJson<RunDocument>(s3, bucket, input.runKey);
  if (run.mode === 'tune') {
    // One round: candidates replay every camera alone (no cohort priors to settle).
    const doc = mergeTuneShards(run, await latestShardResults<TuneShardResult>(s3, bucket, run));
    const resultKey = resultKeyOf(run.runPrefix);
    await putJson(s3, bucket, resultKey, doc);
    return { runKey: input.runKey, round: input.round, done: true, resultKey };
  }
  const results = await latestShardResults(s3, bucket, run);
  const m = await mergeShards(results, { policies: run.policies, nowMs: run.nowMs });
  if (m.rerun.length === 0) {
    const resultKey = resultKeyOf(run.runPrefix);
    const doc: ReplayResult & { rounds: number } = { ...m.result, rounds: input.round };
    await putJson(s3, bucket, resultKey, doc);
    return { runKey: input.runKey, round: input.round, done: true, resultKey };
  }
  if (input.round >= MAX_PRIOR_ROUNDS)
    throw new Error(`replay: cohort priors still changing after ${input.round} rounds (shards ${m.rerun.join(', ')})`);
  const round = input.round + 1;
  await putJson(s3, bucket, priorsKeyOf(run.runPrefix, round), m.priors);
  const manifestKey = manifestKeyOf(run.runPrefix, round);
  await putJson(s3, bucket, manifestKey, m.rerun);
  return { runKey: input.runKey, round, done: false, manifestKey, rerun: m.rerun };
}
