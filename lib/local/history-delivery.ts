// The step moto's Firehose does not do. Deployed, Firehose buffers the packed records, partitions
// them by event date / modality / model version and converts them to Parquet. moto's Firehose writes
// each PutRecordBatch as one raw object under HISTORY.incomingPrefix; this delivery reads those,
// writes one Parquet object per partition under HISTORY.eventsPrefix (the deployed layout), puts
// lines it cannot read under HISTORY.errorsPrefix (as Firehose does) and deletes what it delivered.
import {
  DeleteObjectsCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { historyPartition, parseHistoryLine, partitionPrefix } from '../history/record.js';
import type { MetricEvent } from '../core/metric-event.js';
import { historyParquet } from '../history/parquet.js';
import { HISTORY } from '../resources.js';

export interface DeliveryResult {
  /** Raw objects read and deleted. */
  objects: number;
  events: number;
  /** Parquet objects written. */
  written: number;
  /** Lines that did not decode, kept under the errors prefix. */
  failedLines: number;
}

let sequence = 0;

/** Delivers everything moto's Firehose has written so far. Not concurrent with itself (one caller at a time). */
export async function deliverLocalHistory(s3: S3Client, bucket: string): Promise<DeliveryResult> {
  const result: DeliveryResult = { objects: 0, events: 0, written: 0, failedLines: 0 };
  const keys: string[] = [];
  let token: string | undefined;
  do {
    const page = await s3.send(
      new ListObjectsV2Command({ Bucket: bucket, Prefix: HISTORY.incomingPrefix, ContinuationToken: token }),
    );
    for (const o of page.Contents ?? []) if (o.Key) keys.push(o.Key);
    token = page.NextContinuationToken;
  } while (token);
  if (keys.length === 0) return result;

  const byPartition = new Map<string, MetricEvent[]>();
  const failed: string[] = [];
  for (const key of keys) {
    const body = await (await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }))).Body!.transformToString();
    for (const line of body.split('\n')) {
      if (line.trim() === '') continue;
      const e = parseHistoryLine(line);
      if ('error' in e) {
        failed.push(JSON.stringify({ object: key, error: e.error, line }));
        continue;
      }
      const prefix = partitionPrefix(historyPartition(e));
      let list = byPartition.get(prefix);
      if (!list) byPartition.set(prefix, (list = []));
      list.push(e);
      result.events++;
    }
  }
  const stamp = `${Date.now()}-${process.pid}-${sequence++}`;
  for (const [prefix, events] of byPartition) {
    await s3.send(
      new PutObjectCommand({
        Bucket: bucket,
        Key: `${HISTORY.eventsPrefix}${prefix}local-delivery-${stamp}.parquet`,
        Body: historyParquet(events),
      }),
    );
    result.written++;
  }
  if (failed.length > 0) {
    await s3.send(
      new PutObjectCommand({
        Bucket: bucket,
        Key: `${HISTORY.errorsPrefix}processing-failed/local-delivery-${stamp}.jsonl`,
        Body: `${failed.join('\n')}\n`,
      }),
    );
    result.failedLines = failed.length;
  }
  for (let i = 0; i < keys.length; i += 1000)
    await s3.send(
      new DeleteObjectsCommand({
        Bucket: bucket,
        Delete: { Objects: keys.slice(i, i + 1000).map((Key) => ({ Key })) },
      }),
    );
  result.objects = keys.length;
  return result;
}
