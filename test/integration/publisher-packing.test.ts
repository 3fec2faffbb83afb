// Covers MetricPublisher's per-camera packing on a virtual clock against moto with a real
// SQSClient: one camera per message and 10 messages per SendMessageBatch, nothing sent before the
// linger and no event held longer than it, full messages sent sooner, close() flushing everything
// at once, retries resending the same single-camera bodies, a full buffer sending at once instead
// of waiting out the linger, and the old mixed packing still available as an option.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CreateQueueCommand,
  SQSClient,
  type SendMessageBatchCommandInput,
  type SendMessageBatchCommandOutput,
} from '@aws-sdk/client-sqs';
import { METRICS, parseBody } from '../../lib/core/metric-event.js';
import { localClientConfig } from '../../lib/local/local-stack.js';
import { startMoto, type MotoServer } from '../../lib/local/moto-server.js';
import { VirtualClock } from '../../lib/client/clock.js';
import { DEFAULT_LINGER_MS, MetricPublisher, type Packing } from '../../lib/client/metric-publisher.js';
import { drain } from '../support/local-aws.js';
import { wireEvent } from '../support/fixtures.js';

let moto: MotoServer;
beforeAll(async () => {
  moto = await startMoto();
});
afterAll(async () => {
  await moto?.stop();
});

const START = Date.UTC(2026, 0, 1);

interface SentMessage {
  /** Virtual time of the SendMessageBatch call that carried it. */
  at: number;
  call: number;
  body: string;
  cameras: string[];
  /** Virtual publish time of each event (its timestamp) */
  eventTimes: number[];
}

let queues = 0;
/** A fresh client and queue, and a record of every message handed to SendMessageBatch. */
async function setup(clock: VirtualClock, fail: (call: number, entry: number) => boolean = () => false) {
  const sqs = new SQSClient(localClientConfig(moto.endpoint));
  const queueUrl = (await sqs.send(new CreateQueueCommand({ QueueName: `packing-${++queues}` }))).QueueUrl!;
  const sent: SentMessage[] = [];
  let calls = 0;
  sqs.middlewareStack.add(
    (next, context) => async (args) => {
      if (context.commandName !== 'SendMessageBatchCommand') return next(args);
      const input = args.input as SendMessageBatchCommandInput;
      const call = calls++;
      const entries = input.Entries ?? [];
      for (const e of entries) {
        const events = parseBody(e.MessageBody!).events;
        sent.push({
          at: clock.now(),
          call,
          body: e.MessageBody!,
          cameras: [...new Set(events.map((x) => x.camera_id))],
          eventTimes: events.map((x) => Date.parse(x.timestamp)),
        });
      }
      const kept = entries.filter((_, i) => !fail(call, i));
      const out =
        kept.length > 0
          ? await next({ ...args, input: { ...input, Entries: kept } })
          : { output: { Successful: [], Failed: [], $metadata: {} }, response: {} };
      const output = out.output as SendMessageBatchCommandOutput;
      output.Failed = [
        ...(output.Failed ?? []),
        ...entries
          .filter((_, i) => fail(call, i))
          .map((e) => ({ Id: e.Id!, Code: 'InternalError', SenderFault: false, Message: 'injected' })),
      ];
      return out;
    },
    { step: 'initialize', name: 'recordBatches' },
  );
  return { sqs, queueUrl, sent, calls: () => calls };
}

/** Camera `c` reports its 5 metrics at virtual time `t` (the event timestamp is that time). */
const round = (c: number, t: number) =>
  METRICS.map((metric) =>
    wireEvent({
      camera_id: `cam-${c}`,
      metric,
      value: 0.5,
      timestamp: new Date(t).toISOString(),
      ...(metric === 'LatencyMs' ? { value: 40 } : {}),
    }),
  );

/** `cameras` cameras, each reporting every `intervalMs` from its own phase, for `durationMs`. */
async function runFleet(
  pub: MetricPublisher,
  clock: VirtualClock,
  cameras: number,
  intervalMs: number,
  durationMs: number,
) {
  const emissions: { t: number; c: number }[] = [];
  for (let c = 0; c < cameras; c++)
    for (let t = START + Math.floor((c * intervalMs) / cameras); t < START + durationMs; t += intervalMs)
      emissions.push({ t, c });
  emissions.sort((a, b) => a.t - b.t || a.c - b.c);
  let events = 0;
  for (const { t, c } of emissions) {
    await clock.advanceTo(t, () => pub.requestsSettled());
    for (const e of round(c, t)) {
      expect(await pub.publish(e)).toEqual({ accepted: true });
      events++;
    }
  }
  return events;
}

const publisher = (
  env: { sqs: SQSClient; queueUrl: string },
  clock: VirtualClock,
  extra: { lingerMs?: number; packing?: Packing; maxMessageBytes?: number; maxBufferedEvents?: number } = {},
) => new MetricPublisher({ ...env, clock, now: () => START + 3_600_000, backoffBaseMs: 10, ...extra });

describe('MetricPublisher per-camera packing (virtual clock)', () => {
  it('holds each camera for the linger, then sends one message per camera, 10 per SendMessageBatch', async () => {
    const clock = new VirtualClock(START);
    const env = await setup(clock);
    const pub = publisher(env, clock);
    expect(pub.lingerMs).toBe(DEFAULT_LINGER_MS);
    // 20 cameras × 5 metrics every 10 s, for just under one linger: nothing may go yet.
    const events = await runFleet(pub, clock, 20, 10_000, DEFAULT_LINGER_MS - 1);
    expect(events).toBe(20 * 5 * 6);
    expect(env.sent).toHaveLength(0);
    expect(pub.pending).toBe(events);

    await clock.runUntil(
      (async () => {
        await clock.advanceTo(START + DEFAULT_LINGER_MS);
        await pub.flush();
      })(),
      () => pub.requestsSettled(),
    );
    expect(pub.counters).toMatchObject({ sent: events, messages: 20, requests: 2, retried: 0 });
    expect(env.calls()).toBe(2);
    for (const m of env.sent) {
      expect(m.cameras).toHaveLength(1);
      expect(m.eventTimes).toHaveLength(30); // 6 rounds × 5 metrics of one camera
      expect(m.at).toBe(START + DEFAULT_LINGER_MS);
    }
    expect(new Set(env.sent.flatMap((m) => m.cameras)).size).toBe(20);
    const received = await drain(env.sqs, env.queueUrl, 20);
    expect(received.map((m) => parseBody(m.Body!).events.length).reduce((a, b) => a + b, 0)).toBe(events);
    await pub.close();
    env.sqs.destroy();
  });

  it('never holds an event longer than the linger, and holds most of them close to it', async () => {
    const clock = new VirtualClock(START);
    const env = await setup(clock);
    const lingerMs = 30_000;
    const pub = publisher(env, clock, { lingerMs });
    const events = await runFleet(pub, clock, 23, 7_000, 4 * 60_000);
    await clock.runUntil(pub.close(), () => pub.requestsSettled());
    const holds = env.sent.flatMap((m) => m.eventTimes.map((t) => m.at - t));
    expect(holds).toHaveLength(events);
    expect(Math.max(...holds)).toBeLessThanOrEqual(lingerMs);
    expect(Math.min(...holds)).toBeGreaterThanOrEqual(0);
    // Events arrive all through a linger, so they wait ~half of it on average: packing, not a passthrough.
    const sorted = [...holds].sort((a, b) => a - b);
    expect(sorted[Math.floor(sorted.length / 2)]!).toBeGreaterThan(lingerMs / 4);
    // Packing did happen: each camera-message carries several rounds (7 s interval, 30 s linger).
    for (const m of env.sent) expect(m.cameras).toHaveLength(1);
    expect(events / pub.counters.messages).toBeGreaterThan(15);
    env.sqs.destroy();
  });

  it('sends a full message without waiting for the linger, and close() sends the rest at once', async () => {
    const clock = new VirtualClock(START);
    const env = await setup(clock);
    // ~200-byte events in 1 KiB messages: a camera fills a message every 4-5 events.
    const pub = publisher(env, clock, { maxMessageBytes: 1024 });
    for (let c = 0; c < 10; c++) for (const e of [...round(c, START), ...round(c, START + 1)]) await pub.publish(e);
    // Ten full messages (one per camera) make a full batch: it goes at once, at time START.
    while (pub.counters.sent === 0) await new Promise((r) => setTimeout(r, 5));
    expect(env.sent.length).toBeGreaterThanOrEqual(10);
    expect(env.sent.every((m) => m.at === START && m.cameras.length === 1)).toBe(true);
    const before = pub.pending;
    expect(before).toBeGreaterThan(0);
    // An event published while a flush() waits goes at once too: the flush needs no clock movement.
    const flushing = pub.flush();
    await pub.publish(round(99, START)[0]!);
    await flushing;
    expect(pub.pending).toBe(0);
    await pub.close(); // no clock movement needed: close does not wait for the linger
    expect(clock.now()).toBe(START);
    expect(pub.pending).toBe(0);
    expect(pub.counters.sent).toBe(10 * 10 + 1);
    for (const m of env.sent) expect(m.cameras).toHaveLength(1);
    env.sqs.destroy();
  });

  it('retries keep the packing: a failed entry is resent with the same single-camera body', async () => {
    const clock = new VirtualClock(START);
    // The first call fails its entries 2 and 7; the retry (call 1) succeeds.
    const env = await setup(clock, (call, entry) => call === 0 && (entry === 2 || entry === 7));
    const pub = publisher(env, clock, { lingerMs: 20_000 });
    const events = await runFleet(pub, clock, 10, 10_000, 20_000);
    await clock.runUntil(pub.close(), () => pub.requestsSettled());
    const first = env.sent.filter((m) => m.call === 0);
    const retry = env.sent.filter((m) => m.call === 1);
    expect(first).toHaveLength(10);
    expect(retry.map((m) => m.body)).toEqual([first[2]!.body, first[7]!.body]);
    for (const m of retry) expect(m.cameras).toHaveLength(1);
    expect(pub.counters).toMatchObject({ sent: events, messages: 10, retried: 2, undelivered: 0 });
    const received = await drain(env.sqs, env.queueUrl, 10);
    expect(received.map((m) => parseBody(m.Body!).events[0]!.camera_id).sort()).toEqual(
      Array.from({ length: 10 }, (_, c) => `cam-${c}`).sort(),
    );
    env.sqs.destroy();
  });

  it('a full buffer sends what it holds at once instead of stalling the caller for the linger', async () => {
    const clock = new VirtualClock(START);
    const env = await setup(clock);
    const pub = publisher(env, clock, { maxBufferedEvents: 25 });
    // 50 events into a 25-event buffer with the clock standing still: publish must not hang.
    const all = (async () => {
      for (let c = 0; c < 10; c++) for (const e of round(c, START)) await pub.publish(e);
    })();
    await all;
    expect(clock.now()).toBe(START);
    expect(pub.counters.sent).toBeGreaterThanOrEqual(25);
    await pub.close();
    expect(pub.counters.sent).toBe(50);
    for (const m of env.sent) expect(m.cameras).toHaveLength(1);
    env.sqs.destroy();
  });

  it("keeps the old behaviour as packing: 'mixed': cameras share messages, sent after 200 ms", async () => {
    const clock = new VirtualClock(START);
    const env = await setup(clock);
    const pub = publisher(env, clock, { packing: 'mixed' });
    expect(pub.lingerMs).toBe(200);
    for (let c = 0; c < 10; c++) for (const e of round(c, START)) await pub.publish(e);
    await clock.advanceTo(START + 199);
    expect(env.sent).toHaveLength(0);
    await clock.runUntil(
      (async () => {
        await clock.advanceTo(START + 200);
        await pub.flush();
      })(),
      () => pub.requestsSettled(),
    );
    expect(env.sent).toHaveLength(1);
    expect(env.sent[0]!.cameras).toHaveLength(10);
    expect(env.sent[0]!.at).toBe(START + 200);
    await pub.close();
    env.sqs.destroy();
  });
});
