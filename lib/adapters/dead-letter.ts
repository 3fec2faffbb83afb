// SQS adapter for rejected input: the rejected part goes to the dead-letter queue as it was
// received, with its reason in message attributes, so `vmon dlq redrive` can send it back as is.
import { SendMessageBatchCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { Rejection } from '../core/metric-event.js';
import { DEAD_LETTER_ATTRIBUTES } from '../resources.js';
import { backoffMs, sleep } from './retry.js';

export interface DeadLetter { sourceMessageId: string; rejection: Rejection }

const MAX_ATTR = 1024;
// Characters SQS accepts in a message body; anything else is stored base64 (attribute says so).
// eslint-disable-next-line no-control-regex
const SQS_UNSAFE = /[^\u0009\u000A\u000D\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/u;

/** The body SQS will accept for a rejected part, and how it is encoded. */
export function deadLetterBody(raw: string): { body: string; encoding?: 'base64' } {
  if (raw.length === 0) return { body: ' ', encoding: undefined };
  if (SQS_UNSAFE.test(raw)) return { body: Buffer.from(raw, 'utf8').toString('base64'), encoding: 'base64' };
  return { body: raw };
}
const str = (v: string) => ({ DataType: 'String', StringValue: v.length > MAX_ATTR ? v.slice(0, MAX_ATTR - 1) + '…' : v });

export class DeadLetterQueue {
  constructor(private readonly sqs: SQSClient, private readonly queueUrl: string, private readonly maxAttempts = 4) {}

  /** Sends every dead letter; returns the source message ids whose letters could not be sent. */
  async send(letters: readonly DeadLetter[], nowMs: number): Promise<Set<string>> {
    const failedSources = new Set<string>();
    for (let i = 0; i < letters.length; i += 10) {
      let pending = letters.slice(i, i + 10).map((l, j) => ({ l, id: String(j) }));
      for (let attempt = 0; attempt < this.maxAttempts && pending.length > 0; attempt++) {
        if (attempt > 0) await sleep(backoffMs(attempt));
        try {
          const r = await this.sqs.send(new SendMessageBatchCommand({
            QueueUrl: this.queueUrl,
            Entries: pending.map(({ l, id }) => {
              // SQS refuses empty bodies (kept as one space; the reason says "empty") and some characters.
              const { body, encoding } = deadLetterBody(l.rejection.raw);
              return {
              Id: id,
              MessageBody: body,
              MessageAttributes: {
                ...(encoding ? { [DEAD_LETTER_ATTRIBUTES.encoding]: str(encoding) } : {}),
                [DEAD_LETTER_ATTRIBUTES.reason]: str(l.rejection.reason),
                [DEAD_LETTER_ATTRIBUTES.sourceMessageId]: str(l.sourceMessageId),
                [DEAD_LETTER_ATTRIBUTES.rejectedAt]: str(new Date(nowMs).toISOString()),
                ...(l.rejection.index !== null ? { [DEAD_LETTER_ATTRIBUTES.index]: { DataType: 'Number', StringValue: String(l.rejection.index) } } : {}),
              },
            };
            }),
          }));
          const failedIds = new Set((r.Failed ?? []).map((f) => f.Id));
          pending = pending.filter((p) => failedIds.has(p.id));
        } catch {
          // whole call failed: retry all pending
        }
      }
      for (const p of pending) failedSources.add(p.l.sourceMessageId);
    }
    return failedSources;
  }
}
