// Covers MetricPublisher against moto with a real SQSClient: packing many events per message and
// 10 entries per SendMessageBatch within the byte limits, retrying only the entries SQS reports as
// failed (partial failures injected by middleware on the real client), backpressure in each
// buffer-full mode, validation with the Lambda's schema, interval flushes and close() draining.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CreateQueueCommand,
  SQSClient,
  type SendMessageBatchCommandInput,
  type SendMessageBatchCommandOutput,
} from '@aws-sdk/client-sqs';
import { parseBody } from '../../lib/core/metric-event.js';
import { localClientConfig } from '../../lib/local/local-stack.js';
import { startMoto, type MotoServer } from '../../lib/local/moto-server.js';
import {
  BufferFullError,
  MetricPublisher,
  SQS_MAX_REQUEST_BYTES,
  UndeliveredEventsError,
} from '../../lib/client/metric-publisher.js';
import { drain } from '../support/local-aws.js';
import { wireEvent } from '../support/fixtures.js';

let moto: MotoServer;
beforeAll(async () => {
  moto = await startMoto();
});
afterAll(async () => {
  await moto?.stop();
});

let queues = 0;
/** A fresh client (so middleware never leaks between tests) and a fresh queue. */
async function setup() {
  const sqs = new SQSClient(localClientConfig(moto.endpoint));
  const r = await sqs.send(new CreateQueueCommand({ QueueName: `publisher-${++queues}` }));
  return { sqs, queueUrl: r.QueueUrl! };
}

interface BatchCall {
  entries: number;
  bytes: number;
  bodies: string[];
}

/** Records every SendMessageBatch request; `fail(call, entryIndex)` picks entries to fail without sending them. */
function instrument(
  sqs: SQSClient,
  fail: (call: number, entry: number) => boolean = () => false,
  hold?: () => Promise<void>,
) {
  const calls: BatchCall[] = [];
  sqs.middlewareStack.add(
    (next, context) => async (args) => {
      if (context.commandName !== 'SendMessageBatchCommand') return next(args);
      const input = args.input as SendMessageBatchCommandInput;
      const call = calls.length;
      const entries = input.Entries ?? [];
      calls.push({
        entries: entries.length,
        bytes: entries.reduce((s, e) => s + Buffer.byteLength(e.MessageBody!), 0),
        bodies: entries.map((e) => e.MessageBody!),
      });
      if (hold) await hold();
      const failing = entries.filter((_, i) => fail(call, i));
      const kept = entries.filter((_, i) => !fail(call, i));
      const out =
        kept.length > 0
          ? await next({ ...args, input: { ...input, Entries: kept } })
          : { output: { Successful: [], Failed: [], $metadata: {} }, response: {} };
      const output = out.output as SendMessageBatchCommandOutput;
      output.Failed = [
        ...(output.Failed ?? []),
        ...failing.map((e) => ({ Id: e.Id!, Code: 'InternalError', SenderFault: false, Message: 'injected' })),
      ];
      return out;
    },
    { step: 'initialize', name: 'injectBatchFailures' },
  );
  return calls;
}

const eventsIn = (bodies: string[]) => bodies.flatMap((b) => parseBody(b).events.map((e) => e.id));

describe('MetricPublisher on moto', () => {
  it('packs many events per message and 10 entries per batch within the size limits, each event once', async () => {
    const { sqs, queueUrl } = await setup();
    const calls = instrument(sqs);
    const pub = new MetricPublisher({ sqs, queueUrl, maxMessageBytes: 4096 });
    const sent = Array.from({ length: 500 }, (_, i) =>
      wireEvent({ camera_id: `cam${i % 7}`, i, model_version: 'm-1' }),
    );
    for (const e of sent) expect(await pub.publish(e)).toEqual({ accepted: true });
    await pub.close();

    expect(pub.counters).toMatchObject({ sent: 500, retried: 0, dropped: 0, rejected: 0, undelivered: 0 });
    expect(calls.length).toBe(pub.counters.requests);
    for (const c of calls) {
      expect(c.entries).toBeLessThanOrEqual(10);
      expect(c.bytes).toBeLessThanOrEqual(SQS_MAX_REQUEST_BYTES);
      for (const b of c.bodies) expect(Buffer.byteLength(b)).toBeLessThanOrEqual(4096);
    }
    // ~200-byte events in 4 KiB messages: about 20 per message, so 500 events need few requests.
    expect(pub.counters.messages).toBeLessThan(40);
    expect(calls.filter((c) => c.entries === 10).length).toBeGreaterThan(0);
    const msgs = await drain(sqs, queueUrl, pub.counters.messages, 10_000);
    const ids = eventsIn(msgs.map((m) => m.Body!));
    expect(ids.sort()).toEqual(sent.map((e) => e.id).sort());
    sqs.destroy();
  });

  it('retries only the entries SendMessageBatch reports as failed, so nothing is lost or doubled', async () => {
    const { sqs, queueUrl } = await setup();
    // Calls 0 and 1 fail their entries 1 and 3 (call 1 is the retry of call 0's two failures).
    const calls = instrument(sqs, (call, entry) => call < 2 && (entry === 1 || entry === 3));
    const pub = new MetricPublisher({ sqs, queueUrl, maxMessageBytes: 1024, maxInFlight: 1, backoffBaseMs: 5 });
    const sent = Array.from({ length: 120 }, (_, i) => wireEvent({ i }));
    for (const e of sent) await pub.publish(e);
    await pub.close();

    expect(calls[0]!.entries).toBe(10);
    // The retry of call 0 carries exactly its two failed entries, with the same bodies.
    expect(calls[1]!.bodies).toEqual([calls[0]!.bodies[1], calls[0]!.bodies[3]]);
    // …of which the second fails again, and call 2 carries only that one.
    expect(calls[2]!.bodies).toEqual([calls[0]!.bodies[3]]);
    expect(pub.counters.retried).toBe(3);
    expect(pub.counters.dropped).toBe(0);
    expect(pub.counters.sent).toBe(120);
    const msgs = await drain(sqs, queueUrl, pub.counters.messages, 10_000);
    const ids = eventsIn(msgs.map((m) => m.Body!));
    expect(ids).toHaveLength(120);
    expect(new Set(ids).size).toBe(120);
    sqs.destroy();
  });

  it('hands back events that fail every attempt instead of dropping them', async () => {
    const { sqs, queueUrl } = await setup();
    instrument(sqs, () => true);
    const pub = new MetricPublisher({ sqs, queueUrl, maxAttempts: 3, backoffBaseMs: 1 });
    const sent = [wireEvent({ i: 1 }), wireEvent({ i: 2 })];
    for (const e of sent) await pub.publish(e);
    const err = await pub.close().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UndeliveredEventsError);
    expect((err as UndeliveredEventsError).events).toEqual(sent);
    expect((err as UndeliveredEventsError).message).toMatch(/InternalError: injected/);
    expect(pub.counters).toMatchObject({ sent: 0, undelivered: 2, dropped: 0, retried: 2, requests: 3 });
    sqs.destroy();
  });

  it('applies backpressure: publish waits while the buffer is full, errors or drops when asked to', async () => {
    const { sqs, queueUrl } = await setup();
    let release!: () => void;
    const gate = new Promise<void>((r) => {
      release = r;
    });
    instrument(
      sqs,
      () => false,
      () => gate,
    );
    const waiting = new MetricPublisher({ sqs, queueUrl, maxBufferedEvents: 3, flushIntervalMs: 5 });
    for (let i = 0; i < 3; i++) await waiting.publish(wireEvent({ i }));
    let fourthDone = false;
    const fourth = waiting.publish(wireEvent({ i: 3 })).then((r) => {
      fourthDone = true;
      return r;
    });
    await new Promise((r) => setTimeout(r, 100));
    expect(fourthDone).toBe(false);
    expect(waiting.pending).toBe(3);
    release();
    expect(await fourth).toEqual({ accepted: true });
    await waiting.close();
    expect(waiting.counters).toMatchObject({ sent: 4, dropped: 0 });

    const sqs2 = await setup();
    let release2!: () => void;
    const gate2 = new Promise<void>((r) => {
      release2 = r;
    });
    instrument(
      sqs2.sqs,
      () => false,
      () => gate2,
    );
    const erroring = new MetricPublisher({
      sqs: sqs2.sqs,
      queueUrl: sqs2.queueUrl,
      maxBufferedEvents: 2,
      whenFull: 'error',
    });
    const dropping = new MetricPublisher({
      sqs: sqs2.sqs,
      queueUrl: sqs2.queueUrl,
      maxBufferedEvents: 2,
      whenFull: 'drop',
    });
    for (let i = 0; i < 2; i++) {
      await erroring.publish(wireEvent({ i }));
      await dropping.publish(wireEvent({ i }));
    }
    await expect(erroring.publish(wireEvent({ i: 9 }))).rejects.toBeInstanceOf(BufferFullError);
    expect(await dropping.publish(wireEvent({ i: 9 }))).toEqual({ accepted: false, dropped: true });
    expect(dropping.counters.dropped).toBe(1);
    expect(erroring.counters.dropped).toBe(0);
    release2();
    await Promise.all([erroring.close(), dropping.close()]);
    expect(erroring.counters.sent + dropping.counters.sent).toBe(4);
    sqs.destroy();
    sqs2.sqs.destroy();
  });

  it("rejects invalid events with the Lambda's reasons and never sends them", async () => {
    const { sqs, queueUrl } = await setup();
    const calls = instrument(sqs);
    const pub = new MetricPublisher({ sqs, queueUrl });
    const r1 = await pub.publish({ ...wireEvent(), metric: 'F1' });
    const r2 = await pub.publish({ ...wireEvent(), value: 1.5, metric: 'Accuracy' });
    const r3 = await pub.publish('not an object');
    expect(r1).toMatchObject({
      accepted: false,
      reason: 'metric must be one of Accuracy | Precision | Recall | DriftScore | LatencyMs, got string "F1"',
    });
    expect(r2).toMatchObject({ accepted: false, reason: 'value 1.5 is outside [0, 1] for Accuracy' });
    expect(r3).toMatchObject({ accepted: false, reason: 'event must be a JSON object, got string "not an object"' });
    expect(pub.counters.rejected).toBe(3);
    expect(pub.rejections.map((r) => r.reason)).toHaveLength(3);
    await pub.close();
    expect(calls).toHaveLength(0);
    sqs.destroy();
  });

  it('flushes a partial batch on the interval, and keeps two events with the same id in separate messages', async () => {
    const { sqs, queueUrl } = await setup();
    const pub = new MetricPublisher({ sqs, queueUrl, flushIntervalMs: 50 });
    const e = wireEvent({ camera_id: 'cam-\uFFFD', i: 1 });
    await pub.publish(e);
    await pub.publish(e);
    const msgs = await drain(sqs, queueUrl, 2, 5_000);
    expect(msgs).toHaveLength(2);
    // The U+FFFD in the camera id is escaped, so the Lambda does not read the body as broken UTF-8.
    for (const m of msgs) expect(parseBody(m.Body!).events.map((x) => x.camera_id)).toEqual(['cam-\uFFFD']);
    // The messages can reach the queue before the publisher has read SQS's reply: count after close.
    await pub.close();
    expect(pub.counters.sent).toBe(2);
    sqs.destroy();
  });
});
