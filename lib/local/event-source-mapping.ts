// A local stand-in for Lambda's SQS event-source mapping: long-polls the queue with several
// pollers, gathers batches (batch size + batching window), invokes the handler with a real
// SQSEvent, deletes what succeeded and leaves failed records to reappear after the visibility
// timeout, so SQS's own redrive moves them to the DLQ after maxReceiveCount.
import { DeleteMessageBatchCommand, ReceiveMessageCommand, type Message, type SQSClient } from '@aws-sdk/client-sqs';
import type { SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';

export type SqsHandler = (event: SQSEvent) => Promise<SQSBatchResponse | undefined>;

export interface MappingOptions {
  queueUrl: string;
  queueArn?: string;
  region?: string;
  batchSize?: number;
  maxBatchingWindowMs?: number;
  pollers?: number;
  /** Long-poll wait per ReceiveMessage, seconds. */
  waitTimeSeconds?: number;
  /** Called after every invocation with the records and the ids the handler failed (all of them when it threw). */
  onBatch?: (outcome: BatchOutcome) => void;
}

export interface BatchOutcome {
  records: SQSRecord[];
  failedIds: Set<string>;
  /** Set when the handler threw (the whole batch failed, as in Lambda). */
  error?: Error;
}

export interface MappingCounters {
  invocations: number;
  received: number;
  deleted: number;
  failedRecords: number;
  handlerErrors: number;
  /** Receive or delete calls that failed (retried). */
  pollErrors: number;
}

function toRecord(m: Message, arn: string, region: string): SQSRecord {
  const attrs = m.Attributes ?? {};
  return {
    messageId: m.MessageId!,
    receiptHandle: m.ReceiptHandle!,
    body: m.Body ?? '',
    attributes: {
      ApproximateReceiveCount: attrs.ApproximateReceiveCount ?? '1',
      SentTimestamp: attrs.SentTimestamp ?? String(Date.now()),
      SenderId: attrs.SenderId ?? 'local',
      ApproximateFirstReceiveTimestamp: attrs.ApproximateFirstReceiveTimestamp ?? String(Date.now()),
    },
    messageAttributes: Object.fromEntries(
      Object.entries(m.MessageAttributes ?? {}).map(([k, v]) => [
        k,
        {
          stringValue: v.StringValue,
          binaryValue: v.BinaryValue ? Buffer.from(v.BinaryValue).toString('base64') : undefined,
          stringListValues: [],
          binaryListValues: [],
          dataType: v.DataType ?? 'String',
        },
      ]),
    ),
    md5OfBody: m.MD5OfBody ?? '',
    eventSource: 'aws:sqs',
    eventSourceARN: arn,
    awsRegion: region,
  };
}

export class LocalEventSourceMapping {
  readonly counters: MappingCounters = {
    invocations: 0,
    received: 0,
    deleted: 0,
    failedRecords: 0,
    handlerErrors: 0,
    pollErrors: 0,
  };
  private running = false;
  private loops: Promise<void>[] = [];
  private readonly abort = new AbortController();

  constructor(
    private readonly sqs: SQSClient,
    private readonly handler: SqsHandler,
    private readonly opts: MappingOptions,
  ) {}

  start(): this {
    if (this.running) return this;
    this.running = true;
    for (let i = 0; i < (this.opts.pollers ?? 2); i++) this.loops.push(this.poll());
    return this;
  }

  /**
   * Stops polling and waits for the invocations in progress. `letReceivesFinish` waits for the
   * receives in progress too (up to waitTimeSeconds) instead of cancelling them: a cancelled long
   * poll can still take messages on the server, which then stay hidden until their visibility
   * timeout, so a mapping started next on the same queue would not see them for that long.
   */
  async stop(opts: { letReceivesFinish?: boolean } = {}): Promise<void> {
    this.running = false;
    if (!opts.letReceivesFinish) this.abort.abort();
    await Promise.all(this.loops);
    this.loops = [];
  }

  private async receive(max: number, wait: number): Promise<Message[]> {
    try {
      const r = await this.sqs.send(
        new ReceiveMessageCommand({
          QueueUrl: this.opts.queueUrl,
          MaxNumberOfMessages: Math.min(10, max),
          WaitTimeSeconds: wait,
          MessageSystemAttributeNames: ['All'],
          MessageAttributeNames: ['All'],
        }),
        { abortSignal: this.abort.signal },
      );
      return r.Messages ?? [];
    } catch (err) {
      if (!this.running) return [];
      throw err;
    }
  }

  private async poll(): Promise<void> {
    const batchSize = this.opts.batchSize ?? 10;
    const windowMs = this.opts.maxBatchingWindowMs ?? 0;
    const arn =
      this.opts.queueArn ??
      `arn:aws:sqs:${this.opts.region ?? 'us-east-1'}:000000000000:${this.opts.queueUrl.split('/').pop()}`;
    while (this.running) {
      const batch: Message[] = [];
      try {
        batch.push(...(await this.receive(batchSize, this.opts.waitTimeSeconds ?? 1)));
        if (batch.length === 0) continue;
        // Batching window: keep gathering until the batch is full or the window has passed.
        const until = Date.now() + windowMs;
        while (this.running && batch.length < batchSize && Date.now() < until) {
          const more = await this.receive(batchSize - batch.length, 0);
          if (more.length === 0) await new Promise((r) => setTimeout(r, Math.min(50, Math.max(0, until - Date.now()))));
          batch.push(...more);
        }
      } catch {
        // As Lambda's poller does: a failed receive is retried; what was received reappears after
        // its visibility timeout.
        this.counters.pollErrors++;
        await new Promise((r) => setTimeout(r, 200));
        continue;
      }
      this.counters.received += batch.length;
      await this.invoke(batch.map((m) => toRecord(m, arn, this.opts.region ?? 'us-east-1')));
    }
  }

  private async invoke(records: SQSRecord[]): Promise<void> {
    this.counters.invocations++;
    let failedIds: Set<string>;
    let error: Error | undefined;
    try {
      const r = await this.handler({ Records: records });
      failedIds = new Set((r?.batchItemFailures ?? []).map((f) => f.itemIdentifier));
    } catch (err) {
      // A thrown error fails the whole batch, as in Lambda.
      this.counters.handlerErrors++;
      error = err as Error;
      failedIds = new Set(records.map((r) => r.messageId));
    }
    this.counters.failedRecords += failedIds.size;
    this.opts.onBatch?.({ records, failedIds, ...(error ? { error } : {}) });
    const done = records.filter((r) => !failedIds.has(r.messageId));
    for (let i = 0; i < done.length; i += 10) {
      const chunk = done.slice(i, i + 10);
      try {
        await this.sqs.send(
          new DeleteMessageBatchCommand({
            QueueUrl: this.opts.queueUrl,
            Entries: chunk.map((r, j) => ({ Id: String(j), ReceiptHandle: r.receiptHandle })),
          }),
        );
        this.counters.deleted += chunk.length;
      } catch {
        // Not deleted: the records come back after the visibility timeout and are applied as duplicates.
        this.counters.pollErrors++;
      }
    }
  }
}
