// Starts a distributed replay (or tune) on the stack's state machine and waits for it: writes the run document
// and the first manifest (one item per shard) under the history bucket's replay/ prefix, starts the
// execution, reports progress (shards done / failed, from the Map Run), and fetches the result document.
import { randomUUID } from 'node:crypto';
import type { S3Client } from '@aws-sdk/client-s3';
import {
  DescribeExecutionCommand,
  DescribeMapRunCommand,
  ListMapRunsCommand,
  type SFNClient,
  StartExecutionCommand,
} from '@aws-sdk/client-sfn';
import type { HistorySourceSpec } from '../history/source.js';
import type { ReplayPolicies, ReplayResult } from '../replay/engine.js';
import { HISTORY } from '../resources.js';
import { getJson, manifestKeyOf, putJson, runKeyOf, type MergeStepOutput, type RunDocument } from './steps.js';
import type { TuneResultDocument, TuneRun } from './tune-steps.js';

/** Where and how a run goes: the machine, the bucket, and the waiting. */
export interface DistributedRunOptions {
  sfn: SFNClient;
  s3: S3Client;
  stateMachineArn: string;
  /** The history bucket (run documents go under its replay/ prefix). */
  bucket: string;
  history: HistorySourceSpec;
  /** Shards (Map items, one worker each). */
  shards: number;
  pollMs?: number;
  /** Gives up waiting after this long (the execution goes on). */
  timeoutMs?: number;
  onProgress?: (p: ReplayProgress) => void;
}

export interface DistributedReplayOptions extends DistributedRunOptions {
  policies: ReplayPolicies;
  nowMs?: number;
  /** The replay engine's `reorderMs` in every shard (default 1 h). */
  reorderMs?: number;
}

/** A tune's candidates (lib/replay-cloud/tune-steps.ts) on the same machine. */
export interface DistributedTuneOptions extends DistributedRunOptions {
  tune: Pick<TuneRun, 'grid' | 'labels' | 'opts'>;
}

export interface ReplayProgress {
  status: string;
  round: number;
  /** Items of the current Map Run. */
  total: number;
  succeeded: number;
  failed: number;
  running: number;
}

export class DistributedReplayError extends Error {
  override name = 'DistributedReplayError';
}

export async function runDistributedReplay(
  o: DistributedReplayOptions,
): Promise<ReplayResult & { rounds: number; executionArn: string }> {
  return runOnMachine<ReplayResult & { rounds: number }>(o, (runPrefix) => ({
    runPrefix,
    history: o.history,
    policies: o.policies,
    nowMs: o.nowMs ?? Date.now(),
    ...(o.reorderMs !== undefined ? { reorderMs: o.reorderMs } : {}),
    shards: o.shards,
  }));
}

/** A distributed tune: every shard's scored series per candidate (the CLI sums them, tune-command.ts). */
export function runDistributedTune(o: DistributedTuneOptions): Promise<TuneResultDocument & { executionArn: string }> {
  return runOnMachine<TuneResultDocument>(o, (runPrefix) => ({
    mode: 'tune',
    runPrefix,
    history: o.history,
    shards: o.shards,
    ...o.tune,
  }));
}

/** Writes the run document and first manifest, starts the execution, reports progress, fetches the result document. */
async function runOnMachine<T>(
  o: DistributedRunOptions,
  runOf: (runPrefix: string) => RunDocument,
): Promise<T & { executionArn: string }> {
  const runId = `${new Date().toISOString().replace(/[:.]/g, '-')}-${randomUUID().slice(0, 8)}`;
  const runPrefix = `${HISTORY.replayPrefix}${runId}/`;
  const runKey = runKeyOf(runPrefix);
  await putJson(o.s3, o.bucket, runKey, runOf(runPrefix));
  const manifestKey = manifestKeyOf(runPrefix, 1);
  await putJson(
    o.s3,
    o.bucket,
    manifestKey,
    Array.from({ length: o.shards }, (_, i) => i),
  );
  const started = await o.sfn.send(
    new StartExecutionCommand({
      stateMachineArn: o.stateMachineArn,
      name: runId.slice(0, 80),
      input: JSON.stringify({ runKey, manifestKey, round: 1 }),
    }),
  );
  const executionArn = started.executionArn!;
  const deadline = Date.now() + (o.timeoutMs ?? 3_600_000);
  let last = '';
  for (;;) {
    const d = await o.sfn.send(new DescribeExecutionCommand({ executionArn }));
    const progress = await mapProgress(o.sfn, executionArn, d.status ?? 'RUNNING');
    const line = JSON.stringify(progress);
    if (line !== last) o.onProgress?.(progress);
    last = line;
    if (d.status === 'SUCCEEDED') {
      const out = JSON.parse(d.output ?? '{}') as MergeStepOutput;
      if (!out.resultKey) throw new DistributedReplayError(`execution ${executionArn} ended without a result document`);
      const result = await getJson<T>(o.s3, o.bucket, out.resultKey);
      return { ...result, executionArn };
    }
    if (d.status && d.status !== 'RUNNING')
      throw new DistributedReplayError(
        `execution ${executionArn} ${d.status}${d.error ? `: ${d.error}` : ''}${d.cause ? ` (${d.cause})` : ''}`,
      );
    if (Date.now() > deadline)
      throw new DistributedReplayError(`execution ${executionArn} still running after ${o.timeoutMs} ms (it goes on)`);
    await new Promise((r) => setTimeout(r, o.pollMs ?? 2000));
  }
}

/** Items done and failed in the execution's latest Map Run (one per round). */
async function mapProgress(sfn: SFNClient, executionArn: string, status: string): Promise<ReplayProgress> {
  const runs = (await sfn.send(new ListMapRunsCommand({ executionArn }))).mapRuns ?? [];
  const p: ReplayProgress = { status, round: runs.length, total: 0, succeeded: 0, failed: 0, running: 0 };
  const latest = runs.sort((a, b) => (a.startDate?.getTime() ?? 0) - (b.startDate?.getTime() ?? 0)).at(-1);
  if (!latest?.mapRunArn) return p;
  const d = await sfn.send(new DescribeMapRunCommand({ mapRunArn: latest.mapRunArn }));
  const c = d.itemCounts;
  return { ...p, total: c?.total ?? 0, succeeded: c?.succeeded ?? 0, failed: c?.failed ?? 0, running: c?.running ?? 0 };
}
