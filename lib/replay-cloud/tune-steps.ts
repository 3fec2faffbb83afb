// The distributed tune's shard and merge steps, run by the replay state machine's same two tasks
// (steps.ts dispatches on the run document's `mode`). A shard reads its cameras' events once and
// replays them once per candidate, every camera alone, as the in-process tune does
// (lib/cli/tune-candidate.ts); it keeps each candidate's scored series per camera. The merge puts the
// shards' series together per candidate; the CLI sums them in the history's camera order (float sums
// depend on the order), giving exactly the in-process candidates (lib/cli/tune-command.ts).
import { shardOf } from '../app/cohort-signals.js';
import type { MetricEvent } from '../core/metric-event.js';
import type { SeriesScore } from '../core/scoring.js';
import type { LabelledWindow } from '../cli/labels.js';
import { candidateSeries, type GridPoint, type TuneOptions } from '../cli/tune-candidate.js';
import { historySource, type HistorySourceSpec } from '../history/source.js';

/** What a distributed tune searches: written once by the starter (run.ts), read by every step. */
export interface TuneRun {
  mode: 'tune';
  runPrefix: string;
  history: HistorySourceSpec;
  shards: number;
  grid: GridPoint[];
  /** Labels by camera (lib/cli/labels.ts), as entries. */
  labels: [camera: string, windows: LabelledWindow[]][];
  /** With `base`: a candidate keeps the settings of its kind's chart in it (specOf). */
  opts: TuneOptions;
}

/** Per candidate (the grid's order), the scored series of the cameras, each camera's in stream order. */
export interface TuneShardResult {
  shard: number;
  events: number;
  candidates: [camera: string, score: SeriesScore][][];
}

/** The merge's result document: every shard's series per candidate, with the grid. */
export interface TuneResultDocument {
  mode: 'tune';
  grid: GridPoint[];
  shards: number;
  events: number;
  candidates: [camera: string, score: SeriesScore][][];
}

/** One shard's cameras, replayed once per candidate. */
export async function tuneShard(run: TuneRun, shard: number): Promise<TuneShardResult> {
  const events: MetricEvent[] = [];
  const mine = (e: MetricEvent) => run.shards === 1 || shardOf(e.camera_id, run.shards) === shard;
  const source = historySource(run.history, { index: shard, count: run.shards });
  if (!('events' in source)) throw new Error('tune: the history source gives events');
  for await (const item of source.events())
    if (Array.isArray(item)) {
      for (const e of item) if (mine(e)) events.push(e);
    } else if (mine(item)) events.push(item);
  const labels = new Map(run.labels);
  const opts = { ...run.opts, kinds: [...run.opts.kinds] };
  return {
    shard,
    events: events.length,
    candidates: run.grid.map((point) => candidateSeries(events, labels, point, opts)),
  };
}

/** The shards' series together, per candidate (shards hold disjoint cameras). */
export function mergeTuneShards(run: TuneRun, results: readonly TuneShardResult[]): TuneResultDocument {
  return {
    mode: 'tune',
    grid: run.grid,
    shards: run.shards,
    events: results.reduce((n, r) => n + r.events, 0),
    candidates: run.grid.map((_, i) => results.flatMap((r) => r.candidates[i] ?? [])),
  };
}
