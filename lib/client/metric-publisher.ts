// MetricPublisher: how a Node serving process posts metric events to the ingest queue.
// Validates with the Lambda's own schema and packs per camera: a camera's events wait up to
// `lingerMs` and go as one JSON-array message (sooner when the message is full), 10 messages per
// SendMessageBatch. The Lambda then writes a camera's state once per message instead of once per
// event (docs/fleet-cost.md). Retries only the failed entries (backoff + full jitter) and holds a
// bounded buffer with backpressure. Nothing is dropped unless the caller opts in.
import { SendMessageBatchCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { validateEvent, type FieldError } from '../core/metric-event.js';
import { backoffMs } from '../core/retry.js';
import { realClock, type PublisherClock } from './clock.js';

/** SQS's limit for one message and for one SendMessageBatch request (the sum of its entries). */
export const SQS_MAX_REQUEST_BYTES = 256 * 1024;
export const SQS_MAX_BATCH_ENTRIES = 10;
/**
 * Default linger with per-camera packing. At 5 metrics every 10 s a camera's message carries ~30
 * events, so the Lambda writes its state once per 30 events; detection is delayed by at most 60 s
 * against detector windows of minutes. Reasoning and the other settings: docs/fleet-cost.md.
 */
export const DEFAULT_LINGER_MS = 60_000;
/** The linger of the old mixed packing (every camera in the same messages). */
export const MIXED_LINGER_MS = 200;

/**
 * - 'per-camera' (default): one message holds one camera's events;
 * - 'mixed': the old behaviour, events of every camera in arrival order, flushed every 200 ms.
 */
export type Packing = 'per-camera' | 'mixed';

export type BufferFullMode = 'wait' | 'error' | 'drop';

export interface MetricPublisherOptions {
  sqs: SQSClient;
  queueUrl: string;
  /**
   * Events held (buffered or in flight, not yet acknowledged by SQS) before backpressure applies.
   * Default 10,000.
   */
  maxBufferedEvents?: number;
  /**
   * What `publish()` does when the buffer is full:
   * - 'wait' (default): its promise resolves once there is room (backpressure);
   * - 'error': it rejects with BufferFullError;
   * - 'drop': it resolves `{ accepted: false, dropped: true }` and counts the event in `dropped`.
   */
  whenFull?: BufferFullMode;
  /**
   * Largest message body, in UTF-8 bytes. Default: a tenth of the batch limit, so that one request
   * carries 10 full messages (SQS bills per 64 KiB of payload, so message size does not change cost;
   * smaller messages mean a finer grain of redelivery on the Lambda side).
   */
  maxMessageBytes?: number;
  /** Largest SendMessageBatch payload (sum of bodies). Default and maximum 256 KiB. */
  maxBatchBytes?: number;
  /** How messages are packed. Default 'per-camera'. */
  packing?: Packing;
  /**
   * Longest an event waits before it is sent, ms: when the oldest waiting event reaches it, every
   * camera's pending message is sent (so batches go out full). Default 60,000 with 'per-camera'
   * packing, 200 with 'mixed'. `flush()` and `close()` send at once.
   */
  lingerMs?: number;
  /** @deprecated the old name of `lingerMs`. */
  flushIntervalMs?: number;
  /** SendMessageBatch calls in flight at once. Default 4. */
  maxInFlight?: number;
  /** Attempts per entry (first send included) before its events become undeliverable. Default 10. */
  maxAttempts?: number;
  /** Backoff base and cap for retries, ms (full jitter). Defaults 50 and 5,000. */
  backoffBaseMs?: number;
  backoffCapMs?: number;
  /** Clock for the validation's future-skew bound. Default: `clock.now`. */
  now?: () => number;
  /** Time source for the linger and the retry backoff (a VirtualClock in tests and the bench). */
  clock?: PublisherClock;
}

export interface PublisherCounters {
  /** Events SQS acknowledged. */
  sent: number;
  /** SQS messages acknowledged. */
  messages: number;
  /** SendMessageBatch calls made (retries included). */
  requests: number;
  /** Message entries sent again after a failure (each holds several events). */
  retried: number;
  /** Events dropped because the buffer was full: only with `whenFull: 'drop'`. */
  dropped: number;
  /** Events refused by validation (never sent). */
  rejected: number;
  /** Events that could not be delivered after maxAttempts (handed back, see UndeliveredEventsError). */
  undelivered: number;
}

export interface Rejected {
  reason: string;
  errors: FieldError[];
  event: unknown;
}

export type PublishResult =
  | { accepted: true }
  | { accepted: false; dropped: true }
  | { accepted: false; dropped?: false; reason: string; errors: FieldError[] };

export class BufferFullError extends Error {
  constructor(readonly capacity: number) {
    super(`MetricPublisher buffer is full (${capacity} events awaiting delivery)`);
    this.name = 'BufferFullError';
  }
}

export class PublisherClosedError extends Error {
  constructor() {
    super('MetricPublisher is closed');
    this.name = 'PublisherClosedError';
  }
}

/** Events SQS would not take after every attempt, with the last error: the caller decides their fate. */
export class UndeliveredEventsError extends Error {
  constructor(
    readonly events: unknown[],
    readonly lastError: string,
  ) {
    super(`${events.length} event(s) could not be delivered to SQS: ${lastError}`);
    this.name = 'UndeliveredEventsError';
  }
}

interface Pending {
  json: string;
  bytes: number;
  id: string;
}
/** One camera's message being filled (or, with 'mixed' packing, the one shared message). */
interface OpenMessage {
  events: Pending[];
  eventBytes: number;
  ids: Set<string>;
}
interface Entry {
  body: string;
  bytes: number;
  events: Pending[];
  attempts: number;
}

// Characters SQS refuses in a body (and U+FFFD, which the Lambda reads as broken UTF-8): JSON allows
// escaping them, and the decoded value is unchanged.
const SQS_UNSAFE_IN_JSON = /[\uFFFD\uFFFE\uFFFF]/g;
const escapeUnsafe = (json: string) => json.replace(SQS_UNSAFE_IN_JSON, (c) => `\\u${c.charCodeAt(0).toString(16)}`);

/** Bytes of a JSON array body holding these events. */
const arrayBytes = (count: number, eventBytes: number) => 2 + eventBytes + Math.max(0, count - 1);

export class MetricPublisher {
  readonly counters: PublisherCounters = {
    sent: 0,
    messages: 0,
    requests: 0,
    retried: 0,
    dropped: 0,
    rejected: 0,
    undelivered: 0,
  };
  /** The most recent validation rejections (up to 100), newest last. */
  readonly rejections: Rejected[] = [];
  readonly packing: Packing;
  readonly lingerMs: number;

  private readonly sqs: SQSClient;
  private readonly queueUrl: string;
  private readonly capacity: number;
  private readonly whenFull: BufferFullMode;
  private readonly maxBatchBytes: number;
  /** Sealed message bytes that make a full batch: sent at once, without waiting for the linger. */
  private readonly fullBatchBytes: number;
  private readonly maxMessageBytes: number;
  private readonly maxInFlight: number;
  private readonly maxAttempts: number;
  private readonly backoffBaseMs: number;
  private readonly backoffCapMs: number;
  private readonly clock: PublisherClock;
  private readonly now: () => number;

  /** Messages being filled, by camera ('' for all with 'mixed' packing). */
  private open = new Map<string, OpenMessage>();
  /** Full (or lingered) messages waiting for a batch, oldest first. */
  private ready: Entry[] = [];
  private readyBytes = 0;
  /** Set when the linger ran out, or on flush/close/full buffer: send partial batches until `ready` is empty. */
  private flushDue = false;
  /** Events accepted and not yet acknowledged or given up on. */
  private held = 0;
  private inFlight = 0;
  /** SendMessageBatch requests awaiting their response. */
  private requesting = 0;
  private cancelTimer: (() => void) | undefined;
  private closed = false;
  private readonly roomWaiters: (() => void)[] = [];
  private readonly idleWaiters: (() => void)[] = [];
  private undeliveredEvents: unknown[] = [];
  private lastError = '';

  constructor(opts: MetricPublisherOptions) {
    this.sqs = opts.sqs;
    this.queueUrl = opts.queueUrl;
    this.packing = opts.packing ?? 'per-camera';
    this.lingerMs = Math.max(
      0,
      opts.lingerMs ?? opts.flushIntervalMs ?? (this.packing === 'mixed' ? MIXED_LINGER_MS : DEFAULT_LINGER_MS),
    );
    this.capacity = Math.max(1, opts.maxBufferedEvents ?? 10_000);
    this.whenFull = opts.whenFull ?? 'wait';
    this.maxBatchBytes = Math.min(SQS_MAX_REQUEST_BYTES, opts.maxBatchBytes ?? SQS_MAX_REQUEST_BYTES);
    this.maxMessageBytes = Math.min(
      this.maxBatchBytes,
      opts.maxMessageBytes ?? Math.floor(this.maxBatchBytes / SQS_MAX_BATCH_ENTRIES),
    );
    this.fullBatchBytes = 0.9 * Math.min(this.maxBatchBytes, SQS_MAX_BATCH_ENTRIES * this.maxMessageBytes);
    this.maxInFlight = Math.max(1, opts.maxInFlight ?? 4);
    this.maxAttempts = Math.max(1, opts.maxAttempts ?? 10);
    this.backoffBaseMs = opts.backoffBaseMs ?? 50;
    this.backoffCapMs = opts.backoffCapMs ?? 5_000;
    this.clock = opts.clock ?? realClock;
    this.now = opts.now ?? (() => this.clock.now());
  }

  /** Events accepted and not yet acknowledged by SQS. */
  get pending(): number {
    return this.held;
  }

  /**
   * Resolves once no SendMessageBatch request is awaiting SQS (batches sleeping before a retry do
   * not count). For drivers on a VirtualClock: real I/O catches up before virtual time moves on.
   */
  async requestsSettled(): Promise<void> {
    do await new Promise<void>((r) => setImmediate(r));
    while (this.requesting > 0);
  }

  /**
   * Validates one wire-format event and buffers it for sending. Resolves once the event is in the
   * buffer (not when SQS has it: see flush/close). Invalid events resolve `accepted: false` with
   * the Lambda's own reasons and are counted in `rejected`; they are never sent.
   */
  async publish(event: unknown): Promise<PublishResult> {
    if (this.closed) throw new PublisherClosedError();
    // Validate what SQS will carry (the JSON text), exactly as the Lambda will read it.
    let json: string | undefined;
    try {
      json = JSON.stringify(event);
    } catch (err) {
      return this.reject(event, [
        { path: '', message: `event is not serializable as JSON: ${(err as Error).message}` },
      ]);
    }
    if (json === undefined)
      return this.reject(event, [{ path: '', message: `event must be a JSON object, got ${typeof event}` }]);
    json = escapeUnsafe(json);
    const checked = validateEvent(JSON.parse(json), this.now());
    if (!('event' in checked)) return this.reject(event, checked.errors);
    const bytes = Buffer.byteLength(json, 'utf8');
    if (arrayBytes(1, bytes) > this.maxMessageBytes)
      return this.reject(event, [
        {
          path: '',
          message: `event is ${bytes} bytes of JSON; at most ${this.maxMessageBytes - 2} fit in one message`,
        },
      ]);

    while (this.held >= this.capacity) {
      if (this.whenFull === 'error') throw new BufferFullError(this.capacity);
      if (this.whenFull === 'drop') {
        this.counters.dropped++;
        return { accepted: false, dropped: true };
      }
      // Waiting for the linger would only stall the caller: send what is held now.
      this.sendAllNow();
      await new Promise<void>((r) => this.roomWaiters.push(r));
      if (this.closed) throw new PublisherClosedError();
    }
    this.held++;
    this.add(this.packing === 'per-camera' ? checked.event.camera_id : '', { json, bytes, id: checked.event.id });
    return { accepted: true };
  }

  /**
   * Sends everything buffered and waits until SQS acknowledged it. Rejects with
   * UndeliveredEventsError (holding the events) if some could not be delivered.
   */
  async flush(): Promise<void> {
    this.sendAllNow();
    if (this.held > 0) await new Promise<void>((r) => this.idleWaiters.push(r));
    if (this.undeliveredEvents.length > 0) {
      const events = this.undeliveredEvents;
      this.undeliveredEvents = [];
      throw new UndeliveredEventsError(events, this.lastError);
    }
  }

  /** Refuses new events, drains the buffer (see flush) and stops the linger timer. */
  async close(): Promise<void> {
    this.closed = true;
    for (const w of this.roomWaiters.splice(0)) w();
    await this.flush();
  }

  private reject(event: unknown, errors: FieldError[]): PublishResult {
    const reason = errors
      .map((e) => (e.path && !e.message.startsWith(e.path) ? `${e.path}: ${e.message}` : e.message))
      .join('; ');
    this.counters.rejected++;
    this.rejections.push({ reason, errors, event });
    if (this.rejections.length > 100) this.rejections.shift();
    return { accepted: false, reason, errors };
  }

  /** Adds an event to its camera's message; a message that cannot take it is sealed first. */
  private add(key: string, p: Pending): void {
    let m = this.open.get(key);
    // The Lambda refuses a second event with the same id in one message: it goes in the next.
    if (m && (arrayBytes(m.events.length + 1, m.eventBytes + p.bytes) > this.maxMessageBytes || m.ids.has(p.id))) {
      this.seal(key, m);
      m = undefined;
    }
    if (!m) {
      m = { events: [], eventBytes: 0, ids: new Set() };
      this.open.set(key, m);
    }
    m.events.push(p);
    m.eventBytes += p.bytes;
    m.ids.add(p.id);
    // A flush() in progress waits for every held event: this one must not wait for the linger.
    if (this.idleWaiters.length > 0) {
      this.sendAllNow();
      return;
    }
    this.pump();
    // The timer starts with the first event held since the last linger flush, so every held
    // event was added after it started and waits at most lingerMs.
    if (!this.cancelTimer)
      this.cancelTimer = this.clock.setTimer(
        () => {
          this.cancelTimer = undefined;
          this.sealAll();
        },
        this.lingerMs,
        { unref: true },
      );
  }

  private seal(key: string, m: OpenMessage): void {
    this.open.delete(key);
    const body = `[${m.events.map((e) => e.json).join(',')}]`;
    const bytes = arrayBytes(m.events.length, m.eventBytes);
    this.ready.push({ body, bytes, events: m.events, attempts: 0 });
    this.readyBytes += bytes;
  }

  /** Seals every open message and sends them in partial batches as slots allow. */
  private sealAll(): void {
    for (const [key, m] of this.open) this.seal(key, m);
    this.flushDue = this.ready.length > 0;
    this.pump();
  }

  private sendAllNow(): void {
    this.cancelTimer?.();
    this.cancelTimer = undefined;
    this.sealAll();
  }

  /** Starts batches while there are free slots: full ones always, partial ones when a flush is due. */
  private pump(): void {
    while (this.inFlight < this.maxInFlight && this.ready.length > 0) {
      const full = this.ready.length >= SQS_MAX_BATCH_ENTRIES || this.readyBytes >= this.fullBatchBytes;
      if (!full && !this.flushDue) break;
      const entries = this.takeBatch();
      this.inFlight++;
      void this.sendBatch(entries).finally(() => {
        this.inFlight--;
        this.pump();
        this.notify();
      });
    }
    if (this.ready.length === 0) this.flushDue = false;
  }

  /** Up to 10 ready messages whose bodies sum to at most maxBatchBytes. */
  private takeBatch(): Entry[] {
    const entries: Entry[] = [];
    let batchBytes = 0;
    while (entries.length < SQS_MAX_BATCH_ENTRIES && this.ready.length > 0) {
      const next = this.ready[0]!;
      if (entries.length > 0 && batchBytes + next.bytes > this.maxBatchBytes) break;
      this.ready.shift();
      this.readyBytes -= next.bytes;
      batchBytes += next.bytes;
      entries.push(next);
    }
    return entries;
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((r) => this.clock.setTimer(r, ms));
  }

  /** Sends one batch, retrying only the entries that failed, with full-jitter backoff. */
  private async sendBatch(entries: Entry[]): Promise<void> {
    let pending = entries;
    for (let attempt = 0; pending.length > 0; attempt++) {
      if (attempt > 0) {
        this.counters.retried += pending.length;
        await this.sleep(backoffMs(attempt - 1, this.backoffBaseMs, this.backoffCapMs));
      }
      for (const e of pending) e.attempts++;
      let failedIds: Map<string, { message: string; senderFault: boolean }>;
      this.requesting++;
      try {
        this.counters.requests++;
        const r = await this.sqs.send(
          new SendMessageBatchCommand({
            QueueUrl: this.queueUrl,
            Entries: pending.map((e, i) => ({ Id: String(i), MessageBody: e.body })),
          }),
        );
        failedIds = new Map(
          (r.Failed ?? []).map((f) => [
            f.Id!,
            {
              message: `${f.Code ?? 'Failed'}${f.Message ? `: ${f.Message}` : ''}`,
              senderFault: f.SenderFault === true,
            },
          ]),
        );
      } catch (err) {
        const msg = `${(err as Error).name}: ${(err as Error).message}`;
        failedIds = new Map(pending.map((_, i) => [String(i), { message: msg, senderFault: false }]));
      } finally {
        this.requesting--;
      }
      const again: Entry[] = [];
      pending.forEach((e, i) => {
        const failure = failedIds.get(String(i));
        if (failure === undefined) {
          this.counters.sent += e.events.length;
          this.counters.messages++;
          this.release(e.events.length);
          return;
        }
        this.lastError = failure.message;
        // A sender fault (the entry itself is refused) will not succeed on retry.
        if (e.attempts >= this.maxAttempts || failure.senderFault) {
          this.counters.undelivered += e.events.length;
          for (const ev of e.events) this.undeliveredEvents.push(JSON.parse(ev.json));
          this.release(e.events.length);
        } else {
          again.push(e);
        }
      });
      pending = again;
    }
  }

  private release(n: number): void {
    this.held -= n;
    // Wake as many waiting publishers as there is room for; each re-checks before taking a slot.
    for (let room = this.capacity - this.held; room > 0 && this.roomWaiters.length > 0; room--)
      this.roomWaiters.shift()!();
  }

  private notify(): void {
    if (this.held === 0 && this.inFlight === 0) for (const w of this.idleWaiters.splice(0)) w();
  }
}
