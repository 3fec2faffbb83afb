// Covers the delivery contract under faults, on moto with no mocks: real SQS messages → local
// event-source mapping → the real ingest handler, whose own SDK clients get fault-injection
// middleware (DynamoDB throttling, 5xx, lost responses and conditional conflicts; PutEvents partial
// failures and 5xx; SQS dead-letter throttling; a crash after the state write). Each scenario checks
// that every event is counted exactly once in its camera's window, that each trigger reaches the bus
// (read through the catch-all tap rule) with one stable triggerId, and that the fault did fire.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { GetItemCommand } from '@aws-sdk/client-dynamodb';
import { ReceiveMessageCommand, DeleteMessageBatchCommand, SendMessageCommand, type Message } from '@aws-sdk/client-sqs';
import { LocalEventSourceMapping } from '../../lib/local/event-source-mapping.js';
import { decodeState } from '../../lib/core/state-codec.js';
import type { CameraState } from '../../lib/core/camera-state.js';
import { DEAD_LETTER_ATTRIBUTES, STATE_TABLE } from '../../lib/resources.js';
import { startLocalAws, useFunctionEnv, type LocalAws } from '../support/local-aws.js';
import { sqsRecord, wireEvent, type WireEvent } from '../support/fixtures.js';
import { crashable, injectFaults, type FaultInjector, type FaultRule } from '../support/faults.js';

let aws: LocalAws;
let mapping: LocalEventSourceMapping;
let handler: typeof import('../../functions/ingest.js').handler;
const faults: Record<'dynamodb' | 'eventBridge' | 'sqs', FaultInjector> = {} as never;

beforeAll(async () => {
  aws = await startLocalAws({ visibilityTimeoutSeconds: 1, maxReceiveCount: 50 });
  useFunctionEnv(aws.stack, { DRIFT_WINDOW_SIZE: '3', DRIFT_THRESHOLD: '0.7' });
  const fn = await import('../../functions/ingest.js');
  handler = fn.handler;
  faults.dynamodb = injectFaults(fn.clients.dynamodb, []);
  faults.eventBridge = injectFaults(fn.clients.eventBridge, []);
  faults.sqs = injectFaults(fn.clients.sqs, []);
  mapping = new LocalEventSourceMapping(aws.sqs, crashable(fn.handler), {
    queueUrl: aws.stack.ingestQueueUrl, batchSize: 10, maxBatchingWindowMs: 100, pollers: 2, waitTimeSeconds: 1,
  }).start();
});

afterAll(async () => {
  await mapping?.stop();
  await aws?.stop();
});

beforeEach(() => { for (const f of Object.values(faults)) { f.setRules([]); f.resetCounters(); } });

// ---- helpers -------------------------------------------------------------------------------

const cameraKeyOf = (input: Record<string, unknown>) =>
  ((input.Key ?? input.Item) as Record<string, { S?: string }> | undefined)?.pk?.S;
const onCamera = (cameraId: string) => (input: Record<string, unknown>) => cameraKeyOf(input) === STATE_TABLE.cameraKey(cameraId);
const publishesFor = (cameraId: string) => (input: Record<string, unknown>) =>
  ((input.Entries ?? []) as { Detail?: string }[]).some((e) => JSON.parse(e.Detail ?? '{}').cameraId === cameraId);

const send = (body: string) => aws.sqs.send(new SendMessageCommand({ QueueUrl: aws.stack.ingestQueueUrl, MessageBody: body }));

async function readState(cameraId: string): Promise<CameraState | undefined> {
  const r = await aws.ddb.send(new GetItemCommand({ TableName: aws.stack.tableName, Key: { pk: { S: STATE_TABLE.cameraKey(cameraId) } }, ConsistentRead: true }));
  return r.Item ? decodeState({ streams: r.Item.w?.B, rest: r.Item.s?.S }) : undefined;
}

/** Everything read from a queue so far (reading deletes, so it is kept here for later tests). */
function queueReader(url: () => string) {
  const seen: Message[] = [];
  return {
    seen,
    async poll() {
      for (;;) {
        const r = await aws.sqs.send(new ReceiveMessageCommand({ QueueUrl: url(), MaxNumberOfMessages: 10, WaitTimeSeconds: 0, MessageAttributeNames: ['All'], MessageSystemAttributeNames: ['All'] }));
        const msgs = r.Messages ?? [];
        if (msgs.length === 0) return;
        seen.push(...msgs);
        await aws.sqs.send(new DeleteMessageBatchCommand({ QueueUrl: url(), Entries: msgs.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle! })) }));
      }
    },
  };
}
const tap = queueReader(() => aws.stack.tapQueueUrl);
const deadLetters = queueReader(() => aws.stack.deadLetterQueueUrl);

/** triggerIds delivered to the tap queue for a camera, one per delivery. */
const deliveredTriggerIds = (cameraId: string) =>
  tap.seen.map((m) => JSON.parse(m.Body!).detail).filter((d) => d.cameraId === cameraId).map((d) => d.triggerId as string);

async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 150));
  }
  throw new Error(`timed out waiting for ${what}`);
}

const entryKeys = (state: CameraState | undefined, stream: string) => (state?.streams[stream] ?? []).map((e) => `${e.ts}`);
const tsOf = (e: WireEvent) => String(Date.parse(e.timestamp));

/**
 * Waits until the camera's stream holds exactly the given events and its outbox is empty, then
 * checks that no entry was counted twice.
 */
async function settled(cameraId: string, stream: string, events: WireEvent[], triggers: number): Promise<CameraState> {
  let state: CameraState | undefined;
  await waitFor(`${cameraId} to settle`, async () => {
    state = await readState(cameraId);
    await tap.poll();
    const held = entryKeys(state, stream);
    return events.every((e) => held.includes(tsOf(e))) && state!.outbox.length === 0 && new Set(deliveredTriggerIds(cameraId)).size >= triggers;
  });
  // Each event exactly once: the window holds one entry per event and nothing else.
  expect(entryKeys(state, stream).sort()).toEqual(events.map(tsOf).sort());
  return state!;
}

let offset = 0;
/** Events for one camera, `values` one second apart, in a fresh time range. */
function series(cameraId: string, values: number[], over: Partial<WireEvent> = {}): WireEvent[] {
  const base = (offset += 100);
  return values.map((value, k) => wireEvent({ camera_id: cameraId, value, i: base + k, ...over }));
}

const HIGH = [0.9, 0.95, 0.85];
const LOW = [0.1, 0.2, 0.1];

function use(rules: Partial<Record<keyof typeof faults, FaultRule[]>>) {
  for (const [k, r] of Object.entries(rules)) faults[k as keyof typeof faults].setRules(r);
}
const injected = (k: keyof typeof faults, key: string) => faults[k].counters.injected[key] ?? 0;

// ---- scenarios -----------------------------------------------------------------------------

describe('faults on the real clients: every event counted once, every trigger delivered with a stable id', () => {
  it('DynamoDB throttling on read and write: the records are redelivered and applied once', async () => {
    const cam = 'f-throttle';
    use({ dynamodb: [
      { command: 'GetItem', fault: 'throttle', times: 1, when: onCamera(cam) },
      { command: 'PutItem', fault: 'throttle', times: 1, when: onCamera(cam) },
    ] });
    const failedBefore = mapping.counters.failedRecords;
    const events = series(cam, HIGH);
    await send(JSON.stringify(events));
    const state = await settled(cam, 'Rgb.DriftScore', events, 1);
    expect(injected('dynamodb', 'GetItem:throttle')).toBe(1);
    expect(injected('dynamodb', 'PutItem:throttle')).toBe(1);
    expect(mapping.counters.failedRecords - failedBefore).toBeGreaterThanOrEqual(2);
    expect(state.alerts['drift-window-mean@Rgb']).toMatchObject({ f: true, e: 1 });
    expect(new Set(deliveredTriggerIds(cam)).size).toBe(1);
  });

  it('DynamoDB 5xx, and a write that took effect though its response was lost: no event counted twice', async () => {
    const cam = 'f-5xx';
    use({ dynamodb: [
      { command: 'PutItem', fault: 'server-error', times: 1, when: onCamera(cam) },
      { command: 'PutItem', fault: 'lost-response', times: 1, when: onCamera(cam) },
    ] });
    const events = series(cam, HIGH);
    await send(JSON.stringify(events));
    const state = await settled(cam, 'Rgb.DriftScore', events, 1);
    expect(injected('dynamodb', 'PutItem:server-error')).toBe(1);
    expect(injected('dynamodb', 'PutItem:lost-response')).toBe(1);
    expect(state.alerts['drift-window-mean@Rgb']).toMatchObject({ f: true, e: 1 });
    expect(new Set(deliveredTriggerIds(cam)).size).toBe(1);
  });

  it('conditional-check conflicts below the retry bound are absorbed in the invocation', async () => {
    const cam = 'f-conflict-absorbed';
    use({ dynamodb: [{ command: 'PutItem', fault: 'conditional-conflict', times: 3, when: onCamera(cam) }] });
    const failedBefore = mapping.counters.failedRecords;
    const events = series(cam, LOW);
    await send(JSON.stringify(events));
    await settled(cam, 'Rgb.DriftScore', events, 0);
    expect(injected('dynamodb', 'PutItem:conditional-conflict')).toBe(3);
    expect(mapping.counters.failedRecords).toBe(failedBefore);
  });

  it('conflicts past the retry bound fail the record (StateConflictError) and the redelivery applies it once', async () => {
    const cam = 'f-conflict-redelivered';
    use({ dynamodb: [{ command: 'PutItem', fault: 'conditional-conflict', times: 6, when: onCamera(cam) }] });
    const failedBefore = mapping.counters.failedRecords;
    const events = series(cam, LOW);
    await send(JSON.stringify(events));
    await settled(cam, 'Rgb.DriftScore', events, 0);
    expect(injected('dynamodb', 'PutItem:conditional-conflict')).toBe(6);
    expect(mapping.counters.failedRecords - failedBefore).toBeGreaterThanOrEqual(1);
  });

  it('a real concurrent writer between our read and our write: the write conflicts, retries on the returned item, both batches count', async () => {
    const cam = 'f-interleave';
    const ours = series(cam, LOW);
    const theirs = series(cam, LOW);
    const calls = () => faults.dynamodb.counters.calls.PutItem ?? 0;
    use({ dynamodb: [{
      command: 'PutItem', fault: 'interleave', times: 1, when: onCamera(cam),
      // Another invocation of the same handler commits first (a direct call with an SQS record).
      action: async () => { const r = await handler({ Records: [sqsRecord(JSON.stringify(theirs))] }); expect(r.batchItemFailures).toEqual([]); },
    }] });
    await send(JSON.stringify(ours));
    await settled(cam, 'Rgb.DriftScore', [...ours, ...theirs], 0);
    // theirs: 1 write; ours: 1 conflicting + 1 successful retry on the item the conflict returned.
    expect(calls()).toBe(3);
    expect(faults.dynamodb.counters.calls.GetItem).toBeGreaterThan(0);
  });

  it('PutEvents partial failure: only the failed entry is retried, so each trigger reaches the bus once', async () => {
    const cam = 'f-partial';
    use({ eventBridge: [{ command: 'PutEvents', fault: 'partial-failure', times: 1, when: publishesFor(cam) }] });
    const rgb = series(cam, HIGH);
    const thermal = series(cam, HIGH, { modality: 'Thermal' });
    await send(JSON.stringify([...rgb, ...thermal]));
    await settled(cam, 'Thermal.DriftScore', thermal, 2);
    await settled(cam, 'Rgb.DriftScore', rgb, 2);
    expect(injected('eventBridge', 'PutEvents:partial-failure')).toBe(1);
    const ids = deliveredTriggerIds(cam);
    expect(ids).toHaveLength(2);
    expect(new Set(ids).size).toBe(2);
  });

  it('PutEvents 5xx on every attempt fails the record; the redelivery publishes the outbox with the same triggerId and applies nothing twice', async () => {
    const cam = 'f-publish-5xx';
    use({ eventBridge: [{ command: 'PutEvents', fault: 'server-error', times: 4, when: publishesFor(cam) }] });
    const failedBefore = mapping.counters.failedRecords;
    const events = series(cam, HIGH);
    await send(JSON.stringify(events));
    const state = await settled(cam, 'Rgb.DriftScore', events, 1);
    expect(injected('eventBridge', 'PutEvents:server-error')).toBe(4);
    expect(mapping.counters.failedRecords - failedBefore).toBeGreaterThanOrEqual(1);
    expect(state.alerts['drift-window-mean@Rgb']).toMatchObject({ f: true, e: 1 });
    expect(deliveredTriggerIds(cam)).toHaveLength(1);
  });

  it('a crash after the state write and before the publish: the redelivery publishes the committed trigger', async () => {
    const cam = 'f-crash';
    const bystander = 'f-crash-bystander';
    use({ eventBridge: [{ command: 'PutEvents', fault: 'crash', times: 1, when: publishesFor(cam) }] });
    const handlerErrors = mapping.counters.handlerErrors;
    const events = series(cam, HIGH);
    const other = series(bystander, LOW);
    // One message, two cameras: the whole batch is redelivered after the crash.
    await send(JSON.stringify([...events, ...other]));
    const state = await settled(cam, 'Rgb.DriftScore', events, 1);
    await settled(bystander, 'Rgb.DriftScore', other, 0);
    expect(injected('eventBridge', 'PutEvents:crash')).toBe(1);
    expect(mapping.counters.handlerErrors - handlerErrors).toBeGreaterThanOrEqual(1);
    expect(state.alerts['drift-window-mean@Rgb']).toMatchObject({ f: true, e: 1 });
    expect(new Set(deliveredTriggerIds(cam)).size).toBe(1);
  });

  it('a crash after the publish and before the outbox is cleared: the trigger is delivered again with the same triggerId', async () => {
    const cam = 'f-crash-before-clear';
    // The camera's second PutItem is the outbox-clearing write.
    use({ dynamodb: [{ command: 'PutItem', fault: 'crash', skip: 1, times: 1, when: onCamera(cam) }] });
    const events = series(cam, HIGH);
    await send(JSON.stringify(events));
    await settled(cam, 'Rgb.DriftScore', events, 1);
    await waitFor('the redelivered trigger', async () => { await tap.poll(); return deliveredTriggerIds(cam).length >= 2; });
    const ids = deliveredTriggerIds(cam);
    expect(ids.length).toBeGreaterThanOrEqual(2);
    expect(new Set(ids).size).toBe(1);
    expect(injected('dynamodb', 'PutItem:crash')).toBe(1);
  });

  it('dead-letter sends throttled: retried, the bad part arrives with its reason and the valid sibling is applied once', async () => {
    const cam = 'f-dlq';
    use({ sqs: [{ command: 'SendMessageBatch', fault: 'throttle', times: 5 }] });
    const good = series(cam, LOW);
    const bad = { ...wireEvent({ camera_id: cam }), metric: 'Nope' };
    await send(JSON.stringify([...good, bad]));
    await settled(cam, 'Rgb.DriftScore', good, 0);
    await waitFor('the dead letter', async () => {
      await deadLetters.poll();
      return deadLetters.seen.some((m) => m.Body!.includes('"Nope"'));
    });
    const letters = deadLetters.seen.filter((m) => m.Body!.includes('"Nope"'));
    expect(letters).toHaveLength(1);
    expect(letters[0]!.MessageAttributes![DEAD_LETTER_ATTRIBUTES.reason]!.StringValue).toMatch(/^\[3\]\.metric: metric must be one of/);
    expect(injected('sqs', 'SendMessageBatch:throttle')).toBe(5);
  });
});
