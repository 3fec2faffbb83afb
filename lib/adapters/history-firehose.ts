// The metric history on Amazon Data Firehose: accepted events packed into few large records
// (Firehose bills each record in 5 KB steps), PutRecordBatch, records it refused retried, the rest
// counted as dropped. Firehose buffers, partitions by event date / modality / model version and
// converts to Parquet (lib/stack/history.ts); locally moto delivers the records as they are and
// lib/local/history-delivery.ts does that step.
import { type FirehoseClient, PutRecordBatchCommand } from '@aws-sdk/client-firehose';
import type { HistoryRecorder, HistoryWrite } from '../app/ports.js';
import { packHistoryRecords } from '../history/record.js';
import type { MetricEvent } from '../core/metric-event.js';
import { HISTORY } from '../resources.js';

export interface FirehoseHistoryOptions {
  attempts?: number;
  /** Wait before a retry (ms), doubled each time. */
  backoffMs?: number;
  /** Told about each failed call or refused record, for the logs. */
  onError?: (message: string) => void;
}

export class FirehoseHistoryRecorder implements HistoryRecorder {
  constructor(
    private readonly client: FirehoseClient,
    private readonly streamName: string,
    private readonly opts: FirehoseHistoryOptions = {},
  ) {}

  async record(events: readonly MetricEvent[]): Promise<HistoryWrite> {
    const result: HistoryWrite = { recorded: 0, dropped: 0 };
    if (events.length === 0) return result;
    // Events per record, to count what a refused record held.
    const records = packHistoryRecords(events).map((data) => ({ data, events: countLines(data) }));
    const calls = chunkRecords(records);
    await Promise.all(
      calls.map(async (call) => {
        const w = await this.put(call);
        result.recorded += w.recorded;
        result.dropped += w.dropped;
      }),
    );
    return result;
  }

  private async put(records: { data: string; events: number }[]): Promise<HistoryWrite> {
    const attempts = Math.max(1, this.opts.attempts ?? HISTORY.putAttempts);
    let pending = records;
    let recorded = 0;
    for (let attempt = 1; attempt <= attempts && pending.length > 0; attempt++) {
      if (attempt > 1) await sleep((this.opts.backoffMs ?? 100) * 2 ** (attempt - 2));
      try {
        const out = await this.client.send(
          new PutRecordBatchCommand({
            DeliveryStreamName: this.streamName,
            Records: pending.map((r) => ({ Data: Buffer.from(r.data) })),
          }),
        );
        const refused: typeof pending = [];
        (out.RequestResponses ?? []).forEach((resp, i) => {
          if (resp.ErrorCode) {
            refused.push(pending[i]!);
            this.opts.onError?.(`history record refused: ${resp.ErrorCode} ${resp.ErrorMessage ?? ''}`.trim());
          } else recorded += pending[i]!.events;
        });
        pending = refused;
      } catch (err) {
        this.opts.onError?.(`history PutRecordBatch failed: ${(err as Error).name}: ${(err as Error).message}`);
      }
    }
    return { recorded, dropped: pending.reduce((n, r) => n + r.events, 0) };
  }
}

const countLines = (data: string) => {
  let n = 0;
  for (let i = data.indexOf('\n'); i >= 0; i = data.indexOf('\n', i + 1)) n++;
  return n;
};

/** Groups records into PutRecordBatch calls within Firehose's limits (500 records, 4 MiB). */
export function chunkRecords<T extends { data: string }>(records: readonly T[]): T[][] {
  const calls: T[][] = [];
  let call: T[] = [];
  let bytes = 0;
  for (const r of records) {
    const n = Buffer.byteLength(r.data);
    if (call.length > 0 && (call.length >= HISTORY.maxBatchRecords || bytes + n > HISTORY.maxBatchBytes)) {
      calls.push(call);
      call = [];
      bytes = 0;
    }
    call.push(r);
    bytes += n;
  }
  if (call.length > 0) calls.push(call);
  return calls;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
