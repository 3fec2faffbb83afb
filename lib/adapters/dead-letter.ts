// SQS adapter for rejected input: the rejected part goes to the dead-letter queue as it was
// received, with its reason in message attributes, so `vmon dlq redrive` can send it back as is.
import { gzipSync } from 'node:zlib';
import { SendMessageBatchCommand, type MessageAttributeValue, type SQSClient } from '@aws-sdk/client-sqs';
import type { DeadLetter, DeadLetterSink } from '../app/ports.js';
import { DEAD_LETTER_ATTRIBUTES } from '../resources.js';
import { backoffMs, sleep } from '../core/retry.js';

const MAX_ATTR = 1024;
// Characters SQS accepts in a message body; anything else is stored base64 (attribute says so).
// biome-ignore lint/suspicious/noControlCharactersInRegex: the class names the control characters on purpose
const SQS_UNSAFE = /[^\u0009\u000A\u000D\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/u;

/** SQS's limit for one message and for one SendMessageBatch (body plus attributes), bytes. */
export const SQS_MAX_MESSAGE_BYTES = 1_048_576;

export type DeadLetterEncoding = 'base64' | 'gzip+base64';

/**
 * The body SQS will accept for a rejected part, and how it is encoded: as is when it can be, base64
 * when it holds characters SQS refuses, gzip+base64 when that would not fit in `maxBytes`.
 * null: it cannot fit at all (the source message is then left to SQS's own redrive, intact).
 */
export function deadLetterBody(
  raw: string,
  maxBytes = SQS_MAX_MESSAGE_BYTES,
): { body: string; encoding?: DeadLetterEncoding } | null {
  if (raw.length === 0) return { body: ' ' };
  const safe = !SQS_UNSAFE.test(raw);
  if (safe && Buffer.byteLength(raw, 'utf8') <= maxBytes) return { body: raw };
  const bytes = Buffer.from(raw, 'utf8');
  if (!safe && Math.ceil(bytes.length / 3) * 4 <= maxBytes)
    return { body: bytes.toString('base64'), encoding: 'base64' };
  const zipped = gzipSync(bytes).toString('base64');
  return zipped.length <= maxBytes ? { body: zipped, encoding: 'gzip+base64' } : null;
}

const str = (v: string): MessageAttributeValue => ({
  DataType: 'String',
  StringValue: v.length > MAX_ATTR ? `${v.slice(0, MAX_ATTR - 1)}…` : v,
});
const attributeBytes = (attrs: Record<string, MessageAttributeValue>) =>
  Object.entries(attrs).reduce(
    (n, [k, v]) =>
      n + Buffer.byteLength(k) + Buffer.byteLength(v.DataType ?? '') + Buffer.byteLength(v.StringValue ?? ''),
    0,
  );

interface Prepared {
  letter: DeadLetter;
  body: string;
  attributes: Record<string, MessageAttributeValue>;
  bytes: number;
}

function prepare(letter: DeadLetter, nowMs: number): Prepared | null {
  const attributes: Record<string, MessageAttributeValue> = {
    [DEAD_LETTER_ATTRIBUTES.reason]: str(letter.rejection.reason),
    [DEAD_LETTER_ATTRIBUTES.sourceMessageId]: str(letter.sourceMessageId),
    [DEAD_LETTER_ATTRIBUTES.rejectedAt]: str(new Date(nowMs).toISOString()),
    ...(letter.rejection.index !== null
      ? { [DEAD_LETTER_ATTRIBUTES.index]: { DataType: 'Number', StringValue: String(letter.rejection.index) } }
      : {}),
  };
  // Leave room for the encoding attribute whichever encoding is chosen.
  const room =
    SQS_MAX_MESSAGE_BYTES -
    attributeBytes(attributes) -
    attributeBytes({ [DEAD_LETTER_ATTRIBUTES.encoding]: str('gzip+base64') });
  const encoded = deadLetterBody(letter.rejection.raw, room);
  if (!encoded) return null;
  if (encoded.encoding) attributes[DEAD_LETTER_ATTRIBUTES.encoding] = str(encoded.encoding);
  return {
    letter,
    body: encoded.body,
    attributes,
    bytes: Buffer.byteLength(encoded.body) + attributeBytes(attributes),
  };
}

/** Groups letters into SendMessageBatch calls: at most 10 entries and SQS_MAX_MESSAGE_BYTES each. */
function batches(letters: Prepared[]): Prepared[][] {
  const out: Prepared[][] = [];
  let current: Prepared[] = [],
    bytes = 0;
  for (const p of letters) {
    if (current.length === 10 || (current.length > 0 && bytes + p.bytes > SQS_MAX_MESSAGE_BYTES)) {
      out.push(current);
      current = [];
      bytes = 0;
    }
    current.push(p);
    bytes += p.bytes;
  }
  if (current.length > 0) out.push(current);
  return out;
}

export class DeadLetterQueue implements DeadLetterSink {
  constructor(
    private readonly sqs: SQSClient,
    private readonly queueUrl: string,
    private readonly maxAttempts = 4,
  ) {}

  /** Sends every dead letter; returns the source message ids whose letters could not be sent. */
  async send(letters: readonly DeadLetter[], nowMs: number): Promise<Set<string>> {
    const failedSources = new Set<string>();
    const prepared: Prepared[] = [];
    for (const l of letters) {
      const p = prepare(l, nowMs);
      // Too big even compressed: failing the source message keeps it in the queue, and SQS's
      // redrive moves it to the dead-letter queue intact after maxReceiveCount receives.
      if (p) prepared.push(p);
      else failedSources.add(l.sourceMessageId);
    }
    for (const batch of batches(prepared)) {
      let pending = batch.map((p, j) => ({ p, id: String(j) }));
      for (let attempt = 0; attempt < this.maxAttempts && pending.length > 0; attempt++) {
        if (attempt > 0) await sleep(backoffMs(attempt));
        try {
          const r = await this.sqs.send(
            new SendMessageBatchCommand({
              QueueUrl: this.queueUrl,
              Entries: pending.map(({ p, id }) => ({ Id: id, MessageBody: p.body, MessageAttributes: p.attributes })),
            }),
          );
          const failedIds = new Set((r.Failed ?? []).map((f) => f.Id));
          pending = pending.filter((p) => failedIds.has(p.id));
        } catch {
          // whole call failed: retry all pending
        }
      }
      for (const { p } of pending) failedSources.add(p.letter.sourceMessageId);
    }
    return failedSources;
  }
}
