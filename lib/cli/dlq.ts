// `vmon dlq list|show|redrive`: the dead-letter queue with the reasons the monitor attached.
// Messages are read under a short visibility timeout and made visible again afterwards, so
// listing never consumes them; redrive sends each body back to the ingest queue as it was first
// received (base64 decoded when the monitor had to encode it) and deletes it only once sent.
import {
  ChangeMessageVisibilityBatchCommand,
  DeleteMessageBatchCommand,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  type Message,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import { DEAD_LETTER_ATTRIBUTES } from '../resources.js';
import { escapeForDisplay } from '../core/display-text.js';
import { CliError, EXIT } from './errors.js';
import { iso, plural, table } from './format.js';

export interface DeadLetterMessage {
  messageId: string;
  /** The rejected part as first received (decoded). */
  body: string;
  /** How the message body is stored on the queue, when not as is. */
  encoding?: string;
  reason: string;
  sourceMessageId?: string;
  index?: number;
  rejectedAt?: string;
  /** When it reached the dead-letter queue. */
  sentAt?: string;
  receiveCount: number;
  /** Set by the monitor (rejected input) or by SQS's redrive policy (processing kept failing). */
  origin: 'rejected' | 'redrive-policy';
}

interface Held {
  letter: DeadLetterMessage;
  message: Message;
}

const attr = (m: Message, name: string) => m.MessageAttributes?.[name]?.StringValue;

export function toDeadLetter(m: Message): DeadLetterMessage {
  const encoding = attr(m, DEAD_LETTER_ATTRIBUTES.encoding);
  const raw = m.Body ?? '';
  const reason = attr(m, DEAD_LETTER_ATTRIBUTES.reason);
  const index = attr(m, DEAD_LETTER_ATTRIBUTES.index);
  const sent = m.Attributes?.SentTimestamp;
  return {
    messageId: m.MessageId!,
    body: encoding === 'base64' ? Buffer.from(raw, 'base64').toString('utf8') : raw,
    ...(encoding ? { encoding } : {}),
    reason: reason ?? "no reason attached: moved here by the queue's redrive policy after repeated failed processing",
    ...(attr(m, DEAD_LETTER_ATTRIBUTES.sourceMessageId)
      ? { sourceMessageId: attr(m, DEAD_LETTER_ATTRIBUTES.sourceMessageId) }
      : {}),
    ...(index !== undefined ? { index: Number(index) } : {}),
    ...(attr(m, DEAD_LETTER_ATTRIBUTES.rejectedAt) ? { rejectedAt: attr(m, DEAD_LETTER_ATTRIBUTES.rejectedAt) } : {}),
    ...(sent ? { sentAt: iso(Number(sent)) } : {}),
    receiveCount: Number(m.Attributes?.ApproximateReceiveCount ?? 0),
    origin: reason === undefined ? 'redrive-policy' : 'rejected',
  };
}

/** Reads up to `max` messages and keeps them invisible to others until released. */
async function hold(sqs: SQSClient, queueUrl: string, max: number, visibilitySeconds: number): Promise<Held[]> {
  const held = new Map<string, Held>();
  let empty = 0;
  while (held.size < max && empty < 2) {
    const r = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: queueUrl,
        MaxNumberOfMessages: Math.min(10, max - held.size),
        VisibilityTimeout: visibilitySeconds,
        WaitTimeSeconds: 0,
        MessageAttributeNames: ['All'],
        MessageSystemAttributeNames: ['All'],
      }),
    );
    const msgs = r.Messages ?? [];
    if (msgs.length === 0) {
      empty++;
      continue;
    }
    empty = 0;
    for (const m of msgs) if (!held.has(m.MessageId!)) held.set(m.MessageId!, { letter: toDeadLetter(m), message: m });
  }
  return [...held.values()];
}

/** Makes held messages visible again at once. */
async function release(sqs: SQSClient, queueUrl: string, held: Held[]): Promise<void> {
  for (let i = 0; i < held.length; i += 10) {
    const chunk = held.slice(i, i + 10);
    await sqs.send(
      new ChangeMessageVisibilityBatchCommand({
        QueueUrl: queueUrl,
        Entries: chunk.map((h, j) => ({
          Id: String(j),
          ReceiptHandle: h.message.ReceiptHandle!,
          VisibilityTimeout: 0,
        })),
      }),
    );
  }
}

export interface DlqOptions {
  sqs: SQSClient;
  queueUrl: string;
  max?: number;
  visibilitySeconds?: number;
}

export async function listDeadLetters(o: DlqOptions): Promise<DeadLetterMessage[]> {
  const held = await hold(o.sqs, o.queueUrl, o.max ?? 100, o.visibilitySeconds ?? 30);
  await release(o.sqs, o.queueUrl, held);
  // Oldest first; letters of one source message in array order.
  const key = (l: DeadLetterMessage) => [
    l.sentAt ?? '',
    l.rejectedAt ?? '',
    l.sourceMessageId ?? '',
    String(l.index ?? -1).padStart(6, '0'),
    l.messageId,
  ];
  return held
    .map((h) => h.letter)
    .sort((a, b) => {
      const ka = key(a),
        kb = key(b);
      for (let i = 0; i < ka.length; i++) if (ka[i] !== kb[i]) return ka[i]! < kb[i]! ? -1 : 1;
      return 0;
    });
}

export async function showDeadLetter(o: DlqOptions & { messageId: string }): Promise<DeadLetterMessage> {
  const all = await listDeadLetters({ ...o, max: o.max ?? 10_000 });
  const found = all.find((l) => l.messageId === o.messageId);
  if (!found)
    throw new CliError(
      `no message ${o.messageId} on the dead-letter queue (${plural(all.length, 'message')} there; vmon dlq list shows them)`,
      EXIT.notFound,
    );
  return found;
}

export interface RedriveResult {
  redriven: number;
  failed: { messageId: string; error: string }[];
  remaining: number;
  targetQueueUrl: string;
}

/**
 * Sends dead letters back to the ingest queue and deletes each one once it is sent. `ids` limits
 * the redrive to those messages. A message that could not be sent stays on the dead-letter queue.
 */
export async function redriveDeadLetters(
  o: DlqOptions & { targetQueueUrl: string; ids?: string[] },
): Promise<RedriveResult> {
  const held = await hold(o.sqs, o.queueUrl, o.max ?? 10_000, o.visibilitySeconds ?? 60);
  const wanted = o.ids?.length ? held.filter((h) => o.ids!.includes(h.letter.messageId)) : held;
  const untouched = held.filter((h) => !wanted.includes(h));
  await release(o.sqs, o.queueUrl, untouched);
  if (o.ids?.length) {
    const missing = o.ids.filter((id) => !wanted.some((h) => h.letter.messageId === id));
    if (missing.length) {
      await release(o.sqs, o.queueUrl, wanted);
      throw new CliError(`not on the dead-letter queue: ${missing.join(', ')}; nothing was redriven`, EXIT.notFound);
    }
  }
  const result: RedriveResult = {
    redriven: 0,
    failed: [],
    remaining: untouched.length,
    targetQueueUrl: o.targetQueueUrl,
  };
  for (let i = 0; i < wanted.length; i += 10) {
    const chunk = wanted.slice(i, i + 10);
    let failedIds = new Map<string, string>();
    try {
      const r = await o.sqs.send(
        new SendMessageBatchCommand({
          QueueUrl: o.targetQueueUrl,
          Entries: chunk.map((h, j) => ({ Id: String(j), MessageBody: h.letter.body })),
        }),
      );
      failedIds = new Map((r.Failed ?? []).map((f) => [f.Id!, `${f.Code}: ${f.Message ?? ''}`]));
    } catch (err) {
      failedIds = new Map(chunk.map((_, j) => [String(j), `${(err as Error).name}: ${(err as Error).message}`]));
    }
    const sent = chunk.filter((_, j) => !failedIds.has(String(j)));
    const notSent = chunk.filter((_, j) => failedIds.has(String(j)));
    if (sent.length) {
      await o.sqs.send(
        new DeleteMessageBatchCommand({
          QueueUrl: o.queueUrl,
          Entries: sent.map((h, j) => ({ Id: String(j), ReceiptHandle: h.message.ReceiptHandle! })),
        }),
      );
    }
    result.redriven += sent.length;
    chunk.forEach((h, j) => {
      const e = failedIds.get(String(j));
      if (e) result.failed.push({ messageId: h.letter.messageId, error: e });
    });
    result.remaining += notSent.length;
    await release(o.sqs, o.queueUrl, notSent);
  }
  return result;
}

const oneLine = (s: string, max = 60) => {
  // Invisible and control characters shown escaped, so a listing never garbles the terminal.
  const flat = escapeForDisplay(s.replace(/[ \n\r\t]+/g, ' '));
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
};

export function formatDeadLetterList(queueUrl: string, letters: DeadLetterMessage[]): string {
  if (letters.length === 0) return `no dead-lettered messages in ${queueUrl}`;
  return [
    `${plural(letters.length, 'dead-lettered message')} in ${queueUrl}`,
    table(
      ['MESSAGE ID', 'REJECTED AT', 'INDEX', 'REASON', 'BODY'],
      letters.map((l) => [
        l.messageId,
        l.rejectedAt ?? l.sentAt ?? '-',
        l.index ?? '-',
        oneLine(l.reason, 80),
        oneLine(l.body, 40),
      ]),
    ),
  ].join('\n');
}

export function formatDeadLetter(l: DeadLetterMessage): string {
  return [
    `message ${l.messageId}`,
    `  origin             ${l.origin === 'rejected' ? 'rejected by the ingest function' : 'moved by the redrive policy'}`,
    `  reason             ${escapeForDisplay(l.reason)}`,
    ...(l.sourceMessageId ? [`  source message     ${l.sourceMessageId}`] : []),
    ...(l.index !== undefined ? [`  array index        ${l.index}`] : []),
    ...(l.rejectedAt ? [`  rejected at        ${l.rejectedAt}`] : []),
    ...(l.sentAt ? [`  dead-lettered at   ${l.sentAt}`] : []),
    `  receive count      ${l.receiveCount}`,
    ...(l.encoding ? [`  stored as          ${l.encoding} (decoded below)`] : []),
    'body:',
    l.body,
  ].join('\n');
}

export function formatRedrive(r: RedriveResult): string {
  const lines = [
    `redrove ${plural(r.redriven, 'message')} to ${r.targetQueueUrl}; ${r.failed.length} failed; ${r.remaining} left on the dead-letter queue`,
  ];
  for (const f of r.failed) lines.push(`  ${f.messageId}: ${f.error}`);
  return lines.join('\n');
}
