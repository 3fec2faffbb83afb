// The metric history as a replay source (lib/replay): `--from s3://bucket/prefix/` or `--from local`
// with `--since --until --model --modality`, as JSON-serialisable data, so worker threads and the
// distributed replay's Lambda workers open the same source (parallel.ts `{ module, export, args }`).
import { S3Client } from '@aws-sdk/client-s3';
import { MODALITIES, type Modality } from '../core/metric-event.js';
import { LOCAL_CREDENTIALS } from '../local/moto-server.js';
import type { ReplaySource } from '../replay/engine.js';
import { HISTORY } from '../resources.js';
import { eventSource } from '../replay/sources.js';
import {
  HistorySourceError,
  localHistoryStack,
  parseS3HistoryUrl,
  readHistory,
  type HistoryLocation,
  type HistoryQuery,
} from './reader.js';

/** Where and which history to read, as data. */
export interface HistorySourceSpec {
  bucket: string;
  prefix: string;
  /** A local stack's S3 (moto): its endpoint and region; absent for AWS (the standard credential chain). */
  endpoint?: string;
  region?: string;
  query: HistoryQuery;
}

/** The S3 client and location a spec names. */
export function historyLocation(spec: HistorySourceSpec): HistoryLocation {
  const s3 = spec.endpoint
    ? new S3Client({
        endpoint: spec.endpoint,
        region: spec.region,
        credentials: LOCAL_CREDENTIALS,
        forcePathStyle: true,
      })
    : new S3Client(spec.region ? { region: spec.region } : {});
  return { s3, bucket: spec.bucket, prefix: spec.prefix };
}

/**
 * A replay source over the history (what parallel.ts's worker threads call by name). With a shard, only
 * the camera buckets that hold its cameras are listed, and only its cameras' events kept.
 */
export function historySource(spec: HistorySourceSpec, shard?: HistoryQuery['shard']): ReplaySource {
  const query = shard && shard.count > 1 ? { ...spec.query, shard } : spec.query;
  return eventSource(() => readHistory(historyLocation(spec), query));
}

/** A module + export pair naming historySource for worker threads. */
export const HISTORY_SOURCE_MODULE = import.meta.url;

export interface HistoryOptions {
  since?: string;
  until?: string;
  model?: string;
  modality?: string;
  /** The local stack's connection file (for --from local). */
  stackFile: string;
  region?: string;
}

/** `--since` / `--until`: an RFC 3339 time or a date (UTC midnight). */
export function parseTimeOption(name: string, value: string): number {
  const ms = Date.parse(/^\d{4}-\d{2}-\d{2}$/.test(value) ? `${value}T00:00:00Z` : value);
  if (!Number.isFinite(ms))
    throw new HistorySourceError(
      `${name} must be an RFC 3339 time (2026-11-27T08:00:00Z) or a date (2026-11-27), got ${JSON.stringify(value)}`,
    );
  return ms;
}

/** The spec `--from` and its companions name, checked (each problem names its option). */
export async function resolveHistorySource(from: string, o: HistoryOptions): Promise<HistorySourceSpec> {
  const query: HistoryQuery = {};
  if (o.since !== undefined) query.since = parseTimeOption('--since', o.since);
  if (o.until !== undefined) query.until = parseTimeOption('--until', o.until);
  if (query.since !== undefined && query.until !== undefined && query.until <= query.since)
    throw new HistorySourceError(`--until (${o.until}) must be after --since (${o.since})`);
  if (o.model !== undefined) query.model = o.model;
  if (o.modality !== undefined) {
    if (!(MODALITIES as readonly string[]).includes(o.modality))
      throw new HistorySourceError(
        `--modality must be one of ${MODALITIES.join(' | ')}, got ${JSON.stringify(o.modality)}`,
      );
    query.modality = o.modality as Modality;
  }
  if (from === 'local') {
    const local = await localHistoryStack(o.stackFile);
    return {
      bucket: local.bucket,
      prefix: HISTORY.eventsPrefix,
      endpoint: local.endpoint,
      region: local.region,
      query,
    };
  }
  const { bucket, prefix } = parseS3HistoryUrl(from);
  return { bucket, prefix, ...(o.region ? { region: o.region } : {}), query };
}
