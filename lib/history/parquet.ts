// Parquet objects of the metric history: the columns of HISTORY.columns, Snappy-compressed, as
// Firehose's conversion writes them from the Glue table (string → BYTE_ARRAY UTF8, bigint → INT64,
// int → INT32, double → DOUBLE). The local delivery writes them; the history reader reads either.
import { parquetReadObjects } from 'hyparquet';
import { parquetWriteBuffer } from 'hyparquet-writer';
import { historyEvent, type HistoryPartition } from './record.js';
import type { MetricEvent } from '../core/metric-event.js';

/** One Parquet object holding `events` (all of one partition: the partition values live in the key). */
export function historyParquet(events: readonly MetricEvent[]): Uint8Array {
  const buf = parquetWriteBuffer({
    columnData: [
      { name: 'id', data: events.map((e) => e.id), type: 'STRING', nullable: false },
      { name: 'ts', data: events.map((e) => BigInt(e.ts)), type: 'INT64', nullable: false },
      { name: 'camera_id', data: events.map((e) => e.camera_id), type: 'STRING', nullable: false },
      { name: 'metric', data: events.map((e) => e.metric), type: 'STRING', nullable: false },
      { name: 'value', data: Float64Array.from(events, (e) => e.value), type: 'DOUBLE', nullable: false },
      { name: 'sample_count', data: events.map((e) => e.sample_count ?? null), type: 'INT32' },
    ],
    codec: 'SNAPPY',
  });
  return new Uint8Array(buf);
}

/** The events of one Parquet object of `partition`; a row that does not decode is an error naming the object. */
export async function readHistoryParquet(
  bytes: Uint8Array,
  partition: HistoryPartition,
  where: string,
): Promise<MetricEvent[]> {
  const file = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
  const rows = (await parquetReadObjects({ file })) as Record<string, unknown>[];
  const events: MetricEvent[] = [];
  for (const [i, row] of rows.entries()) {
    const e = historyEvent(row, partition.modality, partition.modelVersion);
    if ('error' in e) throw new Error(`${where}: row ${i}: ${e.error}`);
    events.push(e);
  }
  return events;
}
