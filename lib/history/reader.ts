// Reads the metric history back from S3 (deployed: Firehose's Parquet; locally: moto's S3 after the
// local delivery) as MetricEvents, listing only the partitions a query needs: one prefix per event
// date, narrowed by modality and model version (docs/history-replay.md).
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { GetObjectCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import {
  cameraBucketValue,
  eventDate,
  modelVersionPartition,
  parsePartitionKey,
  type HistoryPartition,
} from './record.js';
import { shardOf } from '../app/cohort-signals.js';
import { MODALITIES, type MetricEvent, type Modality } from '../core/metric-event.js';
import { LOCAL_REGION } from '../local/moto-server.js';
import { HISTORY } from '../resources.js';
import { readHistoryParquet } from './parquet.js';

/** Where a history is: a bucket and the prefix its `dt=` folders are under. */
export interface HistoryLocation {
  s3: S3Client;
  bucket: string;
  prefix: string;
}

/** Which events: event time in [since, until) (ms), one model version, one modality, one replay shard's cameras. */
export interface HistoryQuery {
  since?: number;
  until?: number;
  model?: string;
  modality?: Modality;
  /** Only the camera buckets that can hold cameras with shardOf(camera_id, count) === index. */
  shard?: { index: number; count: number };
}

export interface HistoryObject {
  key: string;
  size: number;
  partition: HistoryPartition;
}

export class HistorySourceError extends Error {
  override name = 'HistorySourceError';
}

const DAY_MS = 86_400_000;
/** Past this many days a bounded query lists each camera bucket whole rather than a prefix per day. */
const MAX_DAY_PREFIXES = 400;

/**
 * The camera buckets a shard's cameras are in: shardOf is a hash modulo the count, so with a count that
 * is a multiple of the buckets one bucket holds the shard, and with a divisor of it several do.
 */
export function bucketsOfShard(shard: HistoryQuery['shard']): number[] {
  const all = Array.from({ length: HISTORY.cameraBuckets }, (_, b) => b);
  if (!shard) return all;
  const { index, count } = shard;
  if (count % HISTORY.cameraBuckets === 0) return [index % HISTORY.cameraBuckets];
  if (HISTORY.cameraBuckets % count === 0) return all.filter((b) => b % count === index);
  return all;
}

/** `s3://bucket/prefix/` → bucket and prefix (the bucket alone means the stack's `events/` prefix). */
export function parseS3HistoryUrl(url: string): { bucket: string; prefix: string } {
  const m = /^s3:\/\/([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])(?:\/(.*))?$/.exec(url);
  if (!m)
    throw new HistorySourceError(
      `--from: ${JSON.stringify(url)} is not an S3 URL like s3://my-history-bucket/events/ (a bucket name of 3-63 lowercase letters, digits, '.' or '-')`,
    );
  const rest = m[2] ?? '';
  const prefix = rest === '' ? HISTORY.eventsPrefix : rest.endsWith('/') ? rest : `${rest}/`;
  return { bucket: m[1]!, prefix };
}

/** The local stack's history (endpoint, region, bucket), from the connection file `npm run local` writes. */
export async function localHistoryStack(
  stackFile: string,
): Promise<{ endpoint: string; region: string; bucket: string }> {
  let data: Record<string, unknown>;
  try {
    data = JSON.parse(await readFile(resolve(stackFile), 'utf8')) as Record<string, unknown>;
  } catch (err) {
    throw new HistorySourceError(
      `--from local: cannot read ${stackFile} (${(err as Error).message}) — start the local stack with npm run local`,
    );
  }
  if (typeof data.historyBucket !== 'string' || typeof data.endpoint !== 'string')
    throw new HistorySourceError(`--from local: ${stackFile} names no historyBucket: the local stack keeps no history`);
  return {
    endpoint: data.endpoint,
    region: typeof data.region === 'string' ? data.region : LOCAL_REGION,
    bucket: data.historyBucket,
  };
}

/** The listing prefixes a query needs, relative to the location's prefix. */
export function queryPrefixes(q: HistoryQuery): string[] {
  const narrow = q.modality
    ? `modality=${q.modality}/${q.model !== undefined ? `model_version=${modelVersionPartition(q.model)}/` : ''}`
    : '';
  const buckets = bucketsOfShard(q.shard).map((b) => `camera_bucket=${cameraBucketValue(b)}/`);
  if (q.since === undefined || q.until === undefined) return buckets;
  const first = Date.parse(eventDate(q.since));
  const last = Date.parse(eventDate(Math.max(q.since, q.until - 1)));
  if ((last - first) / DAY_MS + 1 > MAX_DAY_PREFIXES) return buckets;
  const out: string[] = [];
  for (const b of buckets) for (let d = first; d <= last; d += DAY_MS) out.push(`${b}dt=${eventDate(d)}/${narrow}`);
  return out;
}

/** Does a partition hold events the query may want (pruning by key alone)? */
export function partitionMatches(p: HistoryPartition, q: HistoryQuery): boolean {
  if (q.shard && !bucketsOfShard(q.shard).includes(p.cameraBucket)) return false;
  if (q.modality && p.modality !== q.modality) return false;
  if (q.model !== undefined && p.modelVersion !== modelVersionPartition(q.model)) return false;
  const dayStart = Date.parse(p.dt);
  if (q.since !== undefined && dayStart + DAY_MS <= q.since) return false;
  if (q.until !== undefined && dayStart >= q.until) return false;
  return true;
}

/** The history's objects a query needs, in key order (by date, modality, model version). */
export async function listHistoryObjects(loc: HistoryLocation, q: HistoryQuery = {}): Promise<HistoryObject[]> {
  if (q.modality !== undefined && !(MODALITIES as readonly string[]).includes(q.modality))
    throw new HistorySourceError(
      `--modality must be one of ${MODALITIES.join(' | ')}, got ${JSON.stringify(q.modality)}`,
    );
  const objects: HistoryObject[] = [];
  for (const sub of queryPrefixes(q)) {
    let token: string | undefined;
    do {
      const page = await loc.s3.send(
        new ListObjectsV2Command({ Bucket: loc.bucket, Prefix: `${loc.prefix}${sub}`, ContinuationToken: token }),
      );
      for (const o of page.Contents ?? []) {
        if (!o.Key || o.Key.endsWith('/')) continue;
        const partition = parsePartitionKey(o.Key.slice(loc.prefix.length));
        if (partition && partitionMatches(partition, q)) objects.push({ key: o.Key, size: o.Size ?? 0, partition });
      }
      token = page.NextContinuationToken;
    } while (token);
  }
  return objects.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}

/** The events of one history object that the query wants (its shard's cameras only, with a shard). */
export async function readHistoryObject(
  loc: Pick<HistoryLocation, 's3' | 'bucket'>,
  obj: Pick<HistoryObject, 'key' | 'partition'>,
  q: HistoryQuery = {},
): Promise<MetricEvent[]> {
  const out = await loc.s3.send(new GetObjectCommand({ Bucket: loc.bucket, Key: obj.key }));
  const bytes = await out.Body!.transformToByteArray();
  const events = await readHistoryParquet(bytes, obj.partition, `s3://${loc.bucket}/${obj.key}`);
  const shard = q.shard;
  return events.filter(
    (e) =>
      (q.since === undefined || e.ts >= q.since) &&
      (q.until === undefined || e.ts < q.until) &&
      (shard === undefined || shardOf(e.camera_id, shard.count) === shard.index),
  );
}

/** Objects grouped by camera bucket and event date, in key order: the unit a reader sorts by time. */
export function groupByBucketDay(objects: readonly HistoryObject[]): HistoryObject[][] {
  const groups: HistoryObject[][] = [];
  let last = '';
  for (const o of objects) {
    const id = `${o.partition.cameraBucket}/${o.partition.dt}`;
    if (id !== last || groups.length === 0) groups.push([]);
    groups.at(-1)!.push(o);
    last = id;
  }
  return groups;
}

/** The events of objects of one bucket-day, in event-time order (a camera's streams of every partition merged). */
export async function readHistoryGroup(
  loc: Pick<HistoryLocation, 's3' | 'bucket'>,
  group: readonly Pick<HistoryObject, 'key' | 'partition'>[],
  q: HistoryQuery = {},
): Promise<MetricEvent[]> {
  const parts = await Promise.all(group.map((o) => readHistoryObject(loc, o, q)));
  return parts.flat().sort((a, b) => a.ts - b.ts);
}

/**
 * Every event of the query, a bucket-day at a time (memory holds one bucket-day of the query's
 * cameras): each camera's events in time order, as the replay engine wants them; a camera is in one bucket.
 */
export async function* readHistory(loc: HistoryLocation, q: HistoryQuery = {}): AsyncIterable<MetricEvent[]> {
  for (const group of groupByBucketDay(await listHistoryObjects(loc, q))) {
    const events = await readHistoryGroup(loc, group, q);
    if (events.length > 0) yield events;
  }
}
