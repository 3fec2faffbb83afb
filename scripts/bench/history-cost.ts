// The metric history's cost per camera-month (docs/fleet-cost.md, docs/history-replay.md): Firehose
// (ingest billed per record in 5 KB steps, Parquet conversion, dynamic partitioning) and S3 (a month
// in Standard, then Glacier Instant Retrieval, kept a year), from bytes measured on simulated events:
// the packed JSON lines the ingest function sends and the Parquet object one Firehose buffer of one
// partition becomes (lib/history/parquet.ts writes it as Firehose's conversion does: Snappy, the
// Glue table's columns, rows in arrival order).
import { parseBody, type MetricEvent } from '../../lib/core/metric-event.js';
import { historyParquet } from '../../lib/history/parquet.js';
import { historyLine } from '../../lib/history/record.js';
import { HISTORY } from '../../lib/resources.js';
import { FleetSimulator } from '../../lib/sim/fleet-simulator.js';
import { PRICES } from './prices.js';

const GB = 1024 ** 3;
const SECONDS_PER_MONTH = 30 * 86400;

export interface HistoryMeasure {
  /** Packed JSON line bytes per event (with its newline): what Firehose bills as ingested. */
  lineBytesPerEvent: number;
  /** Parquet bytes per event in an object of `objectEvents` rows. */
  parquetBytesPerEvent: number;
  objectEvents: number;
}

/** Measures both on a simulated partition-buffer: `cameras` cameras reporting 5 metrics every `intervalS` for `seconds`. */
export function measureHistoryBytes(
  cameras = 125,
  seconds: number = HISTORY.bufferSeconds,
  intervalS = 10,
): HistoryMeasure {
  const sim = new FleetSimulator({
    cameras,
    hours: seconds / 3600,
    sampleIntervalSec: intervalS,
    sendIntervalSec: 60,
    seed: 7,
  });
  const events: MetricEvent[] = [];
  for (const m of sim.messages()) events.push(...parseBody(m.body, m.sendAtMs + 60_000).events);
  const lineBytes = events.reduce((n, e) => n + Buffer.byteLength(historyLine(e)) + 1, 0);
  const parquet = historyParquet(events).byteLength;
  return {
    lineBytesPerEvent: lineBytes / events.length,
    parquetBytesPerEvent: parquet / events.length,
    objectEvents: events.length,
  };
}

export interface HistoryCostShape {
  cameras: number;
  intervalS: number;
  /** Events one ingest invocation hands to the history (one PutRecordBatch): sets the 5 KB rounding. */
  eventsPerBatch: number;
  /** Model versions live at once (partitions per camera bucket). */
  modelVersions: number;
  retentionDays: number;
  coldAfterDays: number;
}

export const REFERENCE_HISTORY: HistoryCostShape = {
  cameras: 10_000,
  intervalS: 10,
  eventsPerBatch: 3000,
  modelVersions: 5,
  retentionDays: HISTORY.retentionDays,
  coldAfterDays: HISTORY.coldAfterDays,
};

export interface HistoryCost {
  usdPerCameraMonth: number;
  /** $ per month for the fleet, by part. */
  firehoseIngest: number;
  formatConversion: number;
  dynamicPartitioning: number;
  storage: number;
  requests: number;
  gbIngestedPerMonth: number;
  gbStoredPerMonth: number;
}

/**
 * Steady state of a fleet keeping `retentionDays` of history: each month's events are ingested once,
 * stored `coldAfterDays` in S3 Standard and the rest of the retention in Glacier Instant Retrieval.
 */
export function historyUsdPerCameraMonth(shape: HistoryCostShape, m: HistoryMeasure): HistoryCost {
  const p = PRICES.history;
  const eventsPerMonth = ((shape.cameras * 5) / shape.intervalS) * SECONDS_PER_MONTH;
  // Firehose bills each record rounded up to 5 KB: a batch's events in records of at most 1,000 KiB.
  const batchBytes = shape.eventsPerBatch * m.lineBytesPerEvent;
  const records = Math.ceil(batchBytes / HISTORY.maxRecordBytes);
  const billedPerBatch =
    records * Math.ceil(batchBytes / records / p.firehoseBilledRecordBytes) * p.firehoseBilledRecordBytes;
  const gbIngested = ((eventsPerMonth / shape.eventsPerBatch) * billedPerBatch) / GB;
  const gbRaw = (eventsPerMonth * m.lineBytesPerEvent) / GB;
  const firehoseIngest = gbIngested * p.firehoseUsdPerGbIngested;
  const formatConversion = gbRaw * p.firehoseUsdPerGbConverted;
  // Objects: one per open partition per buffer flush (camera buckets × model versions).
  const objectsPerMonth = (SECONDS_PER_MONTH / HISTORY.bufferSeconds) * HISTORY.cameraBuckets * shape.modelVersions;
  const jqHours = (eventsPerMonth * p.firehoseJqSecondsPerRecord) / 3600;
  const dynamicPartitioning =
    gbRaw * p.firehoseUsdPerGbPartitioned +
    (objectsPerMonth / 1000) * p.firehoseUsdPer1kObjects +
    jqHours * p.firehoseUsdPerJqHour;
  const gbStored = (eventsPerMonth * m.parquetBytesPerEvent) / GB;
  const days = shape.retentionDays > 0 ? shape.retentionDays : 365;
  const hotDays = shape.coldAfterDays > 0 ? Math.min(shape.coldAfterDays, days) : days;
  const storage =
    gbStored * ((hotDays / 30) * p.s3StandardUsdPerGbMonth + ((days - hotDays) / 30) * p.s3GlacierIrUsdPerGbMonth);
  const requests =
    (objectsPerMonth / 1000) * (p.s3UsdPer1kPut + (shape.coldAfterDays > 0 ? p.s3UsdPer1kGlacierIrTransition : 0));
  const total = firehoseIngest + formatConversion + dynamicPartitioning + storage + requests;
  return {
    usdPerCameraMonth: total / shape.cameras,
    firehoseIngest,
    formatConversion,
    dynamicPartitioning,
    storage,
    requests,
    gbIngestedPerMonth: gbIngested,
    gbStoredPerMonth: gbStored,
  };
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].split('/').pop()!)) {
  const m = measureHistoryBytes();
  process.stdout.write(
    `${JSON.stringify({ measure: m, cost: historyUsdPerCameraMonth(REFERENCE_HISTORY, m) }, null, 2)}\n`,
  );
}
