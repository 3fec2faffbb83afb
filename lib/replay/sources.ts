// Replay sources: event files (JSONL, CSV: parsed by lib/cli/event-file.ts) and events from anywhere
// (S3 or local history, the simulator, memory). Sources are factories: a shard may read one again.
import { readEventFile, type EventFileFormat, type SeriesOptions } from '../cli/event-file.js';
import type { MetricEvent } from '../core/metric-event.js';
import type { ReplaySource } from './engine.js';

/**
 * An event file (or a folder of them), streamed line by line. `onBytes` reports progress (first read
 * only); `series` names the camera, modality and metric of `timestamp,value` files.
 */
export function fileSource(
  path: string,
  format: EventFileFormat,
  onBytes?: (n: number) => void,
  series?: SeriesOptions,
): ReplaySource {
  let reads = 0;
  return { lines: () => readEventFile(path, format, reads++ === 0 ? onBytes : undefined, series) };
}

/** Events already valid, one by one or in batches, sync or async. */
export function eventSource(
  events: () => AsyncIterable<MetricEvent | MetricEvent[]> | Iterable<MetricEvent | MetricEvent[]>,
): ReplaySource {
  return { events };
}

/** A file source as data (what a worker thread receives). */
export interface FileSourceSpec {
  file: string;
  format: EventFileFormat;
  series?: SeriesOptions;
}
