// `vmon backtest --from s3://…|local`: the metric history (lib/history) as the replay's source, on
// worker threads (each shard lists only its camera buckets) or, with --distributed, on the stack's
// Step Functions state machine (lib/replay-cloud).
import { S3Client } from '@aws-sdk/client-s3';
import { SFNClient } from '@aws-sdk/client-sfn';
import { type Command, InvalidArgumentError } from 'commander';
import { runDistributedReplay, runDistributedTune, type ReplayProgress } from '../replay-cloud/run.js';
import type { TuneResultDocument } from '../replay-cloud/tune-steps.js';
import type { Labels } from './labels.js';
import { candidateOf, type GridPoint, type TuneCandidate, type TuneOptions } from './tune-candidate.js';
import { HISTORY } from '../resources.js';
import { CliError, EXIT } from './errors.js';
import type { Target } from './target.js';
import { DEFAULT_STACK_FILE } from './target.js';
import type { MetricEvent } from '../core/metric-event.js';
import {
  HISTORY_SOURCE_MODULE,
  historyLocation,
  resolveHistorySource,
  type HistorySourceSpec,
} from '../history/source.js';
import { HistorySourceError, readHistory } from '../history/reader.js';
import { replayParallel, defaultWorkers } from '../replay/parallel.js';
import type { ReplayPolicies } from '../replay/engine.js';
import { backtestResultOf, type BacktestResult } from './backtest.js';
import { usageError } from './errors.js';

/** Shards of a distributed replay by default: each camera bucket of the history split in four. */
export const DEFAULT_DISTRIBUTED_SHARDS = HISTORY.cameraBuckets * 4;

export interface HistoryCliOptions {
  from?: string;
  distributed?: boolean;
  shards?: number;
  since?: string;
  until?: string;
  model?: string;
  modality?: string;
  stackFile?: string;
  region?: string;
}

/** The history options of backtest and tune (`distributed: false`: no --distributed, --shards). */
export function addHistoryOptions(cmd: Command, o: { distributed?: boolean } = {}): Command {
  cmd
    .option(
      '--from <source>',
      'replay the metric history instead of a file: s3://<bucket>/<prefix>/ (the stack output HistoryBucketName; prefix events/ by default) or local (the history of npm run local; --stack-file names another local stack)',
    )
    .option('--since <time>', 'with --from: events at or after this time (RFC 3339, or a date: UTC midnight)')
    .option('--until <time>', 'with --from: events before this time (RFC 3339, or a date: UTC midnight)')
    .option('--model <version>', 'with --from: only this model version')
    // One option, two uses: a filter on the history, or the modality of a timestamp,value file.
    .option(
      '--modality <modality>',
      'with --from: only Rgb | Thermal | Depth; for a timestamp,value CSV: its modality (default: from the file name)',
    );
  if (o.distributed === false) return cmd;
  return cmd
    .option(
      '--distributed',
      "with --from: run on the stack's replay state machine (Step Functions Distributed Map, one worker Lambda per shard) instead of this machine",
    )
    .option(
      '--shards <n>',
      `with --distributed: shards of cameras, one worker each (default ${DEFAULT_DISTRIBUTED_SHARDS})`,
      (v) => {
        const n = Number(v);
        if (!Number.isInteger(n) || n < 1 || n > 10_000)
          throw new InvalidArgumentError(`--shards must be an integer from 1 to 10000, got ${JSON.stringify(v)}`);
        return n;
      },
    );
}

/** The history spec the options name, or a usage error naming the option that is wrong. */
export async function historySpecOf(o: HistoryCliOptions): Promise<HistorySourceSpec> {
  if (!o.from) throw usageError('give an event file or --from s3://<bucket>/<prefix>/ | --from local');
  try {
    return await resolveHistorySource(o.from, {
      stackFile: o.stackFile ?? DEFAULT_STACK_FILE,
      ...(o.since !== undefined ? { since: o.since } : {}),
      ...(o.until !== undefined ? { until: o.until } : {}),
      ...(o.model !== undefined ? { model: o.model } : {}),
      ...(o.modality !== undefined ? { modality: o.modality } : {}),
      ...(o.region !== undefined ? { region: o.region } : {}),
    });
  } catch (err) {
    if (err instanceof HistorySourceError) throw usageError(err.message);
    throw err;
  }
}

/** Every event of the history the spec names, in memory (vmon tune). */
export async function collectHistory(spec: HistorySourceSpec): Promise<{ events: MetricEvent[]; rejected: number }> {
  const loc = historyLocation(spec);
  const events: MetricEvent[] = [];
  try {
    for await (const batch of readHistory(loc, spec.query)) events.push(...batch);
  } finally {
    loc.s3.destroy();
  }
  return { events, rejected: 0 };
}

/** Options that only make sense with --from, given without it. */
export function historyOnlyOptions(o: HistoryCliOptions): string[] {
  return (['since', 'until', 'model', 'distributed', 'shards'] as const)
    .filter((k) => o[k] !== undefined)
    .map((k) => `--${k}`);
}

/**
 * Backtests the history on the target stack's replay state machine; `onProgress` sees the shards
 * done and failed. Same result document as a local backtest (without camera states).
 */
export async function backtestDistributed(
  target: Target,
  spec: HistorySourceSpec,
  policies: ReplayPolicies,
  opts: {
    shards?: number;
    nowMs?: number;
    reorderMs?: number | undefined;
    onProgress?: (p: ReplayProgress) => void;
  } = {},
): Promise<BacktestResult & { workers: number; executionArn: string }> {
  const started = performance.now();
  const shards = opts.shards ?? DEFAULT_DISTRIBUTED_SHARDS;
  const r = await onReplayMachine(target, (machine) =>
    runDistributedReplay({
      ...machine,
      history: spec,
      policies,
      shards,
      ...(opts.nowMs !== undefined ? { nowMs: opts.nowMs } : {}),
      ...(opts.reorderMs !== undefined ? { reorderMs: opts.reorderMs } : {}),
      ...(opts.onProgress ? { onProgress: opts.onProgress } : {}),
    }),
  );
  return { ...backtestResultOf(r, performance.now() - started), workers: shards, executionArn: r.executionArn };
}

/** The target's replay state machine and history bucket, with clients for the run. */
async function onReplayMachine<T>(
  target: Target,
  fn: (m: { sfn: SFNClient; s3: S3Client; stateMachineArn: string; bucket: string }) => Promise<T>,
): Promise<T> {
  if (!target.replayStateMachineArn || !target.historyBucket)
    throw new CliError(
      `${target.description} has no replay state machine: deploy it with the history on (context history=true)`,
      EXIT.unreachable,
    );
  const s3 = new S3Client({ ...target.clientConfig, ...(target.kind === 'local' ? { forcePathStyle: true } : {}) });
  const sfn = new SFNClient(target.clientConfig);
  try {
    return await fn({ sfn, s3, stateMachineArn: target.replayStateMachineArn, bucket: target.historyBucket });
  } finally {
    s3.destroy();
    sfn.destroy();
  }
}

/**
 * The tune's candidates scored on the target's replay state machine (each shard replays its cameras once
 * per candidate): the same list, in the grid's order, as evaluateCandidates on `events` (the history the
 * spec names, as collected here: its camera order fixes the order the series are summed in).
 */
export async function evaluateCandidatesDistributed(
  target: Target,
  spec: HistorySourceSpec,
  events: readonly MetricEvent[],
  labels: Labels,
  grid: GridPoint[],
  opts: TuneOptions,
  o: { shards?: number; onProgress?: (p: ReplayProgress) => void } = {},
): Promise<TuneCandidate[]> {
  const doc = await onReplayMachine(target, (machine) =>
    runDistributedTune({
      ...machine,
      history: spec,
      shards: o.shards ?? DEFAULT_DISTRIBUTED_SHARDS,
      tune: { grid, labels: [...labels], opts },
      ...(o.onProgress ? { onProgress: o.onProgress } : {}),
    }),
  );
  return candidatesOf(doc, events, opts.budget);
}

/** A distributed tune's result document as candidates: each one's series summed in the events' camera order. */
export function candidatesOf(doc: TuneResultDocument, events: readonly MetricEvent[], budget: number): TuneCandidate[] {
  const order = new Map<string, number>();
  for (const e of events) if (!order.has(e.camera_id)) order.set(e.camera_id, order.size);
  const rank = (camera: string) => order.get(camera) ?? Number.MAX_SAFE_INTEGER;
  return doc.grid
    .map((point, i) => {
      // Stable: a camera's series (all from one shard) keep their stream order.
      const series = [...(doc.candidates[i] ?? [])].sort((a, b) => rank(a[0]) - rank(b[0]));
      return candidateOf(
        point,
        series.map(([, s]) => s),
        budget,
      );
    })
    .filter((c): c is TuneCandidate => c !== undefined);
}

/** One progress line: round, shards done and failed. */
export const progressLine = (p: ReplayProgress, run: 'replay' | 'tune' = 'replay') =>
  `distributed ${run}: ${p.status.toLowerCase()}, round ${p.round}: ${p.succeeded}/${p.total} shards done, ${p.failed} failed, ${p.running} running`;

/** Backtests the history the spec names: `workers` threads, each reading its shard's camera buckets. */
export async function backtestHistory(
  spec: HistorySourceSpec,
  policies: ReplayPolicies,
  opts: { nowMs?: number; workers?: number; keepEventsPerCamera?: number; reorderMs?: number | undefined } = {},
): Promise<BacktestResult & { workers: number }> {
  const started = performance.now();
  const workers = Math.max(1, opts.workers ?? defaultWorkers());
  const r = await replayParallel(
    { module: HISTORY_SOURCE_MODULE, export: 'historySource', args: spec },
    {
      policies,
      nowMs: opts.nowMs ?? Date.now(),
      keepEventsPerCamera: opts.keepEventsPerCamera ?? 0,
      ...(opts.reorderMs !== undefined ? { reorderMs: opts.reorderMs } : {}),
      workers,
    },
  );
  return { ...backtestResultOf(r, performance.now() - started), workers };
}
