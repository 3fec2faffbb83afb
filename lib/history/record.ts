// Metric history records: how an accepted event is written to the history (docs/history-replay.md).
// No AWS: the ingest adapter packs these into Firehose records, the local delivery and the reader
// decode them. Short JSON keys (HISTORY.columns) because Firehose bills the bytes sent.
import { shardOf } from '../app/cohort-signals.js';
import { METRICS, MODALITIES, type MetricEvent, type MetricKind, type Modality } from '../core/metric-event.js';
import { HISTORY } from '../resources.js';

/**
 * The partition values of an event: its camera's bucket, its UTC event date, modality and (URI-encoded)
 * model version.
 */
export interface HistoryPartition {
  /** shardOf(camera_id, HISTORY.cameraBuckets), the replay engine's shard function. */
  cameraBucket: number;
  dt: string;
  modality: Modality;
  /** encodeURIComponent of the model version (a `/` must not split the key), or HISTORY.noModelVersion. */
  modelVersion: string;
}

/** UTC date of an event time, `YYYY-MM-DD`. */
export const eventDate = (ts: number) => new Date(ts).toISOString().slice(0, 10);

/** The model_version partition value; a version literally named like the placeholder is encoded apart. */
export function modelVersionPartition(modelVersion: string | undefined): string {
  if (modelVersion === undefined) return HISTORY.noModelVersion;
  const enc = encodeURIComponent(modelVersion);
  return enc === HISTORY.noModelVersion ? enc.replace(/_/g, '%5F') : enc;
}

/** The model version a partition value stands for (undefined for events sent without one). */
export function modelVersionFromPartition(value: string): string | undefined {
  return value === HISTORY.noModelVersion ? undefined : decodeURIComponent(value);
}

/** The camera_bucket partition value: two digits, so keys sort in bucket order. */
export const cameraBucketValue = (bucket: number) => String(bucket).padStart(2, '0');
export const cameraBucket = (cameraId: string) => shardOf(cameraId, HISTORY.cameraBuckets);

export function historyPartition(e: MetricEvent): HistoryPartition {
  return {
    cameraBucket: cameraBucket(e.camera_id),
    dt: eventDate(e.ts),
    modality: e.modality,
    modelVersion: modelVersionPartition(e.model_version),
  };
}

/** Key prefix of one partition under the events prefix, Hive-style (`camera_bucket=…/dt=…/modality=…/model_version=…/`). */
export function partitionPrefix(p: HistoryPartition): string {
  return `camera_bucket=${cameraBucketValue(p.cameraBucket)}/dt=${p.dt}/modality=${p.modality}/model_version=${p.modelVersion}/`;
}

/** The partition of an object key (relative to the events prefix or not), or null when it is not in one. */
export function parsePartitionKey(key: string): HistoryPartition | null {
  const m = /(?:^|\/)camera_bucket=(\d+)\/dt=(\d{4}-\d{2}-\d{2})\/modality=([^/]+)\/model_version=([^/]+)\//.exec(key);
  if (!m || !(MODALITIES as readonly string[]).includes(m[3]!)) return null;
  return { cameraBucket: Number(m[1]), dt: m[2]!, modality: m[3] as Modality, modelVersion: m[4]! };
}

/** One event as a line of a packed record: the Parquet columns plus the three partition values. */
export function historyLine(e: MetricEvent): string {
  const k = HISTORY.columns;
  const p = HISTORY.partitionColumns;
  // Written by hand, in column order: this runs once per accepted event.
  let s = `{"${k[0].jsonKey}":${JSON.stringify(e.id)},"${k[1].jsonKey}":${e.ts},"${k[2].jsonKey}":${JSON.stringify(e.camera_id)},"${k[3].jsonKey}":"${e.metric}","${k[4].jsonKey}":${e.value}`;
  if (e.sample_count !== undefined) s += `,"${k[5].jsonKey}":${e.sample_count}`;
  s += `,"${p[0].jsonKey}":"${cameraBucketValue(cameraBucket(e.camera_id))}","${p[1].jsonKey}":"${eventDate(e.ts)}","${p[2].jsonKey}":"${e.modality}","${p[3].jsonKey}":${JSON.stringify(modelVersionPartition(e.model_version))}}`;
  return s;
}

/** The event a history line holds (the inverse of historyLine), or an error naming what is wrong. */
export function parseHistoryLine(line: string): MetricEvent | { error: string } {
  let o: Record<string, unknown>;
  try {
    o = JSON.parse(line) as Record<string, unknown>;
  } catch (err) {
    return { error: `not JSON: ${(err as Error).message}` };
  }
  const [id, ts, camera, metric, value, samples] = HISTORY.columns.map((c) => o[c.jsonKey]);
  const [, , modality, mv] = HISTORY.partitionColumns.map((c) => o[c.jsonKey]);
  return historyEvent({ id, ts, camera_id: camera, metric, value, sample_count: samples }, modality, mv);
}

/** An event from stored columns and its partition's modality and model version value. */
export function historyEvent(
  row: Record<string, unknown>,
  modality: unknown,
  modelVersionValue: unknown,
): MetricEvent | { error: string } {
  const ts = typeof row.ts === 'bigint' ? Number(row.ts) : row.ts;
  if (typeof row.id !== 'string') return { error: 'id is missing' };
  if (typeof ts !== 'number' || !Number.isFinite(ts)) return { error: `ts is not a number (event ${row.id})` };
  if (typeof row.camera_id !== 'string') return { error: `camera_id is missing (event ${row.id})` };
  if (!(METRICS as readonly unknown[]).includes(row.metric)) return { error: `metric is unknown (event ${row.id})` };
  if (typeof row.value !== 'number') return { error: `value is not a number (event ${row.id})` };
  if (!(MODALITIES as readonly unknown[]).includes(modality)) return { error: `modality is unknown (event ${row.id})` };
  if (typeof modelVersionValue !== 'string') return { error: `model_version is missing (event ${row.id})` };
  const e: MetricEvent = {
    id: row.id,
    // The producer's exact text is not stored (bytes): the replay needs only the time.
    timestamp: new Date(ts).toISOString(),
    ts,
    camera_id: row.camera_id,
    modality: modality as Modality,
    metric: row.metric as MetricKind,
    value: row.value,
  };
  const mv = modelVersionFromPartition(modelVersionValue);
  if (mv !== undefined) e.model_version = mv;
  const n = row.sample_count;
  if (typeof n === 'number' || typeof n === 'bigint') e.sample_count = Number(n);
  return e;
}

/**
 * Packs events into Firehose records of newline-separated history lines, each at most `maxBytes`
 * (Firehose converts several JSON documents in one record; billing rounds each record up to 5 KB,
 * so fewer, fuller records cost less). Byte lengths are UTF-8.
 */
export function packHistoryRecords(
  events: readonly MetricEvent[],
  maxBytes: number = HISTORY.maxRecordBytes,
): string[] {
  const records: string[] = [];
  let parts: string[] = [];
  let size = 0;
  for (const e of events) {
    const line = `${historyLine(e)}\n`;
    const n = Buffer.byteLength(line);
    if (size + n > maxBytes && parts.length > 0) {
      records.push(parts.join(''));
      parts = [];
      size = 0;
    }
    parts.push(line);
    size += n;
  }
  if (parts.length > 0) records.push(parts.join(''));
  return records;
}
