// `vmon backtest --from s3://…|local`: the metric history (lib/history) as the replay's source, on
// worker threads (each shard lists only its camera buckets) or, with --distributed, on the stack's
// Step Functions state machine (lib/replay-cloud).
import type { Command } from 'commander';
import { DEFAULT_STACK_FILE } from './target.js';
import { HISTORY_SOURCE_MODULE, resolveHistorySource, type HistorySourceSpec } from '../history/source.js';
import { HistorySourceError } from '../history/reader.js';
import { replayParallel, defaultWorkers } from '../replay/parallel.js';
import type { ReplayPolicies } from '../replay/engine.js';
import { backtestResultOf, type BacktestResult } from './backtest.js';
import { usageError } from './errors.js';

export interface HistoryCliOptions {
  from?: string;
  since?: string;
  until?: string;
  model?: string;
  modality?: string;
  stackFile?: string;
  region?: string;
}

/** The history options of backtest and tune. */
export function addHistoryOptions(cmd: Command): Command {
  return cmd
    .option(
      '--from <source>',
      'replay the metric history instead of a file: s3://<bucket>/<prefix>/ (the stack output HistoryBucketName; prefix events/ by default) or local (the history of npm run local; --stack-file names another local stack)',
    )
    .option('--since <time>', 'with --from: events at or after this time (RFC 3339, or a date: UTC midnight)')
    .option('--until <time>', 'with --from: events before this time (RFC 3339, or a date: UTC midnight)')
    .option('--model <version>', 'with --from: only this model version')
    .option('--modality <modality>', 'with --from: only Rgb | Thermal | Depth');
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

/** Options that only make sense with --from, given without it. */
export function historyOnlyOptions(o: HistoryCliOptions): string[] {
  return (['since', 'until', 'model', 'modality'] as const).filter((k) => o[k] !== undefined).map((k) => `--${k}`);
}

/** Backtests the history the spec names: `workers` threads, each reading its shard's camera buckets. */
export async function backtestHistory(
  spec: HistorySourceSpec,
  policies: ReplayPolicies,
  opts: { nowMs?: number; workers?: number; keepEventsPerCamera?: number } = {},
): Promise<BacktestResult & { workers: number }> {
  const started = performance.now();
  const workers = Math.max(1, opts.workers ?? defaultWorkers());
  const r = await replayParallel(
    { module: HISTORY_SOURCE_MODULE, export: 'historySource', args: spec },
    {
      policies,
      nowMs: opts.nowMs ?? Date.now(),
      keepEventsPerCamera: opts.keepEventsPerCamera ?? 0,
      workers,
    },
  );
  return { ...backtestResultOf(r, performance.now() - started), workers };
}
