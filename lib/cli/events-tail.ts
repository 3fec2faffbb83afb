// `vmon events tail`: follows a queue that receives the monitor's published events (the local
// stack's tap queue, or any queue a rule targets) and prints each one as it arrives. It peeks by
// default: each message is made visible again at once and stays for the queue's consumer; only
// --consume deletes what it prints.
import {
  ChangeMessageVisibilityBatchCommand,
  DeleteMessageBatchCommand,
  ReceiveMessageCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import { escapeForDisplay, jsonForDisplay } from '../core/display-text.js';
import { num } from './format.js';
import { println, type CliIO } from './io.js';

export interface TailOptions {
  sqs: SQSClient;
  queueUrl: string;
  io: CliIO;
  json?: boolean;
  /** Stop after this many events. */
  max?: number;
  /** Stop after this long, ms. */
  timeoutMs?: number;
  /** Delete each message once printed (default: peek, leave every message for the queue's consumer). */
  consume?: boolean;
  signal?: AbortSignal;
}

interface BusEvent {
  time?: string;
  'detail-type'?: string;
  source?: string;
  detail?: Record<string, unknown>;
}

/** One line per published event: when, what, which camera and stream, why; every field escaped for display. */
export function formatBusEvent(body: string): string {
  let e: BusEvent;
  try {
    e = JSON.parse(body) as BusEvent;
  } catch {
    return `(not JSON) ${escapeForDisplay(body)}`;
  }
  const d = e.detail ?? {};
  if (!e['detail-type'] || typeof d !== 'object') return escapeForDisplay(body);
  if (d.scope === 'model') {
    // A decision about a whole model: its cohort, the share, how many cameras.
    return [
      String(d.lastEventAt ?? e.time ?? '-'),
      e['detail-type'],
      `model ${String(d.modelVersion)} ${String(d.modality)}`,
      d.share !== undefined ? `share=${num(d.share)}` : '',
      d.affectedCameraCount !== undefined ? `affected=${num(d.affectedCameraCount)}/${num(d.activeCameras)}` : '',
      d.threshold !== undefined ? `threshold=${num(d.threshold)}` : '',
      d.resolvedBy !== undefined ? `resolvedBy=${String(d.resolvedBy)}` : '',
      d.triggerId !== undefined ? `trigger=${String(d.triggerId)}` : '',
    ]
      .filter((p) => p !== '')
      .join('  ');
  }
  const parts = [
    String(d.lastEventAt ?? e.time ?? '-'),
    e['detail-type'],
    [d.cameraId, d.modality, d.metric].filter((x) => x !== undefined).join(' '),
    d.detector !== undefined ? String(d.detector) : '',
    // Resolved by the closed loop (a reset), not by the statistic: its 0/0 placeholders say nothing.
    d.resolvedBy !== undefined ? `resolvedBy=${String(d.resolvedBy)}` : '',
    d.statistic !== undefined && d.resolvedBy === undefined ? `statistic=${num(d.statistic)}` : '',
    d.threshold !== undefined && d.resolvedBy === undefined ? `threshold=${num(d.threshold)}` : '',
    // CameraAnomalyDetected: where the camera sits among its healthy peers.
    d.peerMedian !== undefined
      ? `peers=${num(d.peerCount)} median=${num(d.peerMedian)} mad=${num(d.peerMad)} z=${num(d.robustZ)}`
      : '',
    d.triggerId !== undefined ? `trigger=${String(d.triggerId)}` : '',
  ];
  return parts
    .filter((p) => p !== '')
    .map((p) => escapeForDisplay(p))
    .join('  ');
}

/** The event as one JSON line; a body that is not JSON comes through as { "body": … }. */
function jsonLine(body: string): string {
  try {
    return jsonForDisplay(JSON.parse(body));
  } catch {
    return jsonForDisplay({ body });
  }
}

/** Returns the number of events printed. */
export async function tailEvents(o: TailOptions): Promise<number> {
  const deadline = o.timeoutMs !== undefined ? Date.now() + o.timeoutMs : Infinity;
  let printed = 0;
  // Peeking, a message comes back on the next receive: print it once.
  const seen = new Set<string>();
  while (!o.signal?.aborted && (o.max === undefined || printed < o.max)) {
    const left = deadline - Date.now();
    if (left <= 0) break;
    let messages;
    try {
      const r = await o.sqs.send(
        new ReceiveMessageCommand({
          QueueUrl: o.queueUrl,
          MaxNumberOfMessages: Math.min(10, o.max !== undefined ? o.max - printed : 10),
          WaitTimeSeconds: Math.max(0, Math.min(5, Math.floor(left / 1000))),
        }),
        { abortSignal: o.signal },
      );
      messages = r.Messages ?? [];
    } catch (err) {
      if (o.signal?.aborted) break;
      throw err;
    }
    let fresh = 0;
    for (const m of messages) {
      if (seen.has(m.MessageId ?? '')) continue;
      if (o.max !== undefined && printed >= o.max) break;
      seen.add(m.MessageId ?? '');
      println(o.io.stdout, o.json ? jsonLine(m.Body ?? '') : formatBusEvent(m.Body ?? ''));
      printed++;
      fresh++;
    }
    if (!messages.length) continue;
    const entries = messages.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle! }));
    if (o.consume) await o.sqs.send(new DeleteMessageBatchCommand({ QueueUrl: o.queueUrl, Entries: entries }));
    else {
      // Back on the queue at once: the queue's own consumer is not held up by a peek.
      await o.sqs.send(
        new ChangeMessageVisibilityBatchCommand({
          QueueUrl: o.queueUrl,
          Entries: entries.map((e) => ({ ...e, VisibilityTimeout: 0 })),
        }),
      );
      // Only messages already printed came back: wait before asking again rather than spin on them.
      if (!fresh) await new Promise((r) => setTimeout(r, Math.min(1000, Math.max(0, deadline - Date.now()))));
    }
  }
  return printed;
}
