// Covers the delivery contract under faults, on moto with no mocks: real SQS messages → local
// event-source mapping → the real ingest handler, whose own SDK clients get fault-injection
// middleware (DynamoDB throttling, 5xx, lost responses and conditional conflicts; PutEvents partial
// failures and 5xx; SQS dead-letter throttling; a crash after the state write). Each scenario checks
// that every event is counted exactly once in its camera's window, that each trigger reaches the bus
// (read through the catch-all tap rule) with one stable triggerId, and that the fault did fire. A crash
// before a camera's plain cohort registration (not stored with the state) reaches its shard: the
// redelivery makes it again from the state; the handler passes SQS's receive count on, so a redelivered
// message with new events makes it again too.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ReceiveMessageCommand,
  DeleteMessageBatchCommand,
  SendMessageCommand,
  type Message,
} from '@aws-sdk/client-sqs';
import { LocalEventSourceMapping } from '../../lib/local/event-source-mapping.js';
import type { CameraState } from '../../lib/core/camera-state.js';
import { COHORT, DEAD_LETTER_ATTRIBUTES, STATE_TABLE } from '../../lib/resources.js';
import { DynamoCohortStore } from '../../lib/adapters/cohort-store.js';
import { cohortCounts } from '../../lib/core/cohort.js';
import { readCamera, startLocalAws, useFunctionEnv, type LocalAws } from '../support/local-aws.js';
import { sqsRecord, wireEvent } from '../support/fixtures.js';
import { randomUUID } from 'node:crypto';
import type { WireMetricEvent } from '../../lib/core/metric-event.js';
import { crashable, injectFaults, type FaultInjector, type FaultRule } from '../../lib/local/faults.js';

// Drift per modality, with different actions so that both can fire in one batch (a second
// RetrainingRequested for the camera would be held back while the first retrain is in flight).
const POLICY = {
  id: 'faults',
  detectors: [
    {
      id: 'drift-window-mean',
      kind: 'window-mean',
      metric: 'DriftScore',
      modalities: ['Rgb'],
      action: 'RetrainingRequested',
      windowSize: 3,
      threshold: 0.7,
      hysteresis: 0,
    },
    {
      id: 'drift-thermal',
      kind: 'window-mean',
      metric: 'DriftScore',
      modalities: ['Thermal'],
      action: 'HyperparameterTuningRequested',
      windowSize: 3,
      threshold: 0.7,
      hysteresis: 0,
    },
  ],
  cooldownSeconds: 0,
};

let aws: LocalAws;
let mapping: LocalEventSourceMapping;
let handler: typeof import('../../functions/ingest.js').handler;
const faults: Record<'dynamodb' | 'eventBridge' | 'sqs', FaultInjector> = {} as never;

beforeAll(async () => {
  aws = await startLocalAws({ visibilityTimeoutSeconds: 1, maxReceiveCount: 50 });
  // The injected faults make the handler log errors by design; the assertions below check them.
  useFunctionEnv(aws.stack, { DEFAULT_POLICY: JSON.stringify(POLICY), POWERTOOLS_LOG_LEVEL: 'SILENT' });
  const fn = await import('../../functions/ingest.js');
  handler = fn.handler;
  faults.dynamodb = injectFaults(fn.clients.dynamodb, []);
  faults.eventBridge = injectFaults(fn.clients.eventBridge, []);
  faults.sqs = injectFaults(fn.clients.sqs, []);
  // Records which deliveries failed, per message, so scenarios running side by side stay apart.
  const invoke = crashable(fn.handler);
  const recording = async (event: Parameters<typeof fn.handler>[0]) => {
    try {
      const r = await invoke(event);
      for (const f of r.batchItemFailures) failures.set(f.itemIdentifier, (failures.get(f.itemIdentifier) ?? 0) + 1);
      return r;
    } catch (err) {
      for (const rec of event.Records) crashes.set(rec.messageId, (crashes.get(rec.messageId) ?? 0) + 1);
      throw err;
    }
  };
  mapping = new LocalEventSourceMapping(aws.sqs, recording, {
    queueUrl: aws.stack.ingestQueueUrl,
    batchSize: 10,
    maxBatchingWindowMs: 100,
    pollers: 2,
    waitTimeSeconds: 1,
  }).start();
});

afterAll(async () => {
  await mapping?.stop();
  await aws?.stop();
});

/** Failed deliveries (batchItemFailures) and crashed invocations, by message id. */
const failures = new Map<string, number>();
const crashes = new Map<string, number>();
/** Deliveries of a message that did not succeed. */
const failedDeliveries = (id: string) => (failures.get(id) ?? 0) + (crashes.get(id) ?? 0);

// ---- helpers -------------------------------------------------------------------------------

const cameraKeyOf = (input: Record<string, unknown>) =>
  ((input.Key ?? input.Item) as Record<string, { S?: string }> | undefined)?.pk?.S;
const onCamera = (cameraId: string) => (input: Record<string, unknown>) =>
  cameraKeyOf(input) === STATE_TABLE.cameraKey(cameraId);
const publishesFor = (cameraId: string) => (input: Record<string, unknown>) =>
  ((input.Entries ?? []) as { Detail?: string }[]).some((e) => JSON.parse(e.Detail ?? '{}').cameraId === cameraId);

const send = async (body: string) =>
  (await aws.sqs.send(new SendMessageCommand({ QueueUrl: aws.stack.ingestQueueUrl, MessageBody: body }))).MessageId!;

async function readState(cameraId: string): Promise<CameraState | undefined> {
  const { state, version } = await readCamera(aws, cameraId);
  return version === 0 ? undefined : state;
}

/** Everything read from a queue so far (reading deletes, so it is kept here for later tests). */
function queueReader(url: () => string) {
  const seen: Message[] = [];
  return {
    seen,
    async poll() {
      for (;;) {
        const r = await aws.sqs.send(
          new ReceiveMessageCommand({
            QueueUrl: url(),
            MaxNumberOfMessages: 10,
            WaitTimeSeconds: 0,
            MessageAttributeNames: ['All'],
            MessageSystemAttributeNames: ['All'],
          }),
        );
        const msgs = r.Messages ?? [];
        if (msgs.length === 0) return;
        seen.push(...msgs);
        await aws.sqs.send(
          new DeleteMessageBatchCommand({
            QueueUrl: url(),
            Entries: msgs.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle! })),
          }),
        );
      }
    },
  };
}
const tap = queueReader(() => aws.stack.tapQueueUrl);
const deadLetters = queueReader(() => aws.stack.deadLetterQueueUrl);

/** triggerIds delivered to the tap queue for a camera, one per delivery. */
const deliveredTriggerIds = (cameraId: string) =>
  tap.seen
    .map((m) => JSON.parse(m.Body!).detail)
    .filter((d) => d.cameraId === cameraId)
    .map((d) => d.triggerId as string);

async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 150));
  }
  throw new Error(`timed out waiting for ${what}`);
}

const entryKeys = (state: CameraState | undefined, stream: string) =>
  (state?.streams[stream] ?? []).map((e) => `${e.ts}`);
const tsOf = (e: WireMetricEvent) => String(Date.parse(e.timestamp));

/**
 * Waits until the camera's stream holds exactly the given events and its outbox is empty, then
 * checks that no entry was counted twice.
 */
async function settled(
  cameraId: string,
  stream: string,
  events: WireMetricEvent[],
  triggers: number,
): Promise<CameraState> {
  let state: CameraState | undefined;
  await waitFor(`${cameraId} to settle`, async () => {
    state = await readState(cameraId);
    await tap.poll();
    const held = entryKeys(state, stream);
    return (
      events.every((e) => held.includes(tsOf(e))) &&
      state!.outbox.length === 0 &&
      new Set(deliveredTriggerIds(cameraId)).size >= triggers
    );
  });
  // Each event exactly once: the window holds one entry per event and nothing else.
  expect(entryKeys(state, stream).sort()).toEqual(events.map(tsOf).sort());
  return state!;
}

let offset = 0;
/** Events for one camera, `values` one second apart, in a fresh time range. */
function series(cameraId: string, values: number[], over: Partial<WireMetricEvent> = {}): WireMetricEvent[] {
  const base = (offset += 100);
  return values.map((value, k) => wireEvent({ camera_id: cameraId, value, i: base + k, ...over }));
}

const HIGH = [0.9, 0.95, 0.85];
const LOW = [0.1, 0.2, 0.1];

/** Adds rules for one scenario; each targets the scenario's own camera. Returns the rules' hit counts. */
function use<K extends keyof typeof faults>(client: K, ...rules: FaultRule[]): () => number[] {
  faults[client].addRules(rules);
  return () => rules.map((r) => faults[client].hits(r));
}

// ---- scenarios -----------------------------------------------------------------------------

// These scenarios run side by side (each on its own cameras): most of their time is waiting for redelivery.
describe.concurrent('faults on the real clients: every event counted once, every trigger delivered with a stable id', () => {
  it('DynamoDB throttling on read and write: the records are redelivered and applied once', async ({ expect }) => {
    const cam = 'f-throttle';
    const hits = use(
      'dynamodb',
      { command: 'GetItem', fault: 'throttle', times: 1, when: onCamera(cam) },
      { command: 'PutItem', fault: 'throttle', times: 1, when: onCamera(cam) },
    );
    const events = series(cam, HIGH);
    const id = await send(JSON.stringify(events));
    const state = await settled(cam, 'Rgb.DriftScore', events, 1);
    expect(hits()).toEqual([1, 1]);
    expect(failedDeliveries(id)).toBe(2);
    expect(state.alerts['drift-window-mean@Rgb']).toMatchObject({ f: true, e: 1 });
    expect(new Set(deliveredTriggerIds(cam)).size).toBe(1);
  });

  it('DynamoDB 5xx, and a write that took effect though its response was lost: no event counted twice', async ({
    expect,
  }) => {
    const cam = 'f-5xx';
    const hits = use(
      'dynamodb',
      { command: 'PutItem', fault: 'server-error', times: 1, when: onCamera(cam) },
      { command: 'PutItem', fault: 'lost-response', times: 1, when: onCamera(cam) },
    );
    const events = series(cam, HIGH);
    const id = await send(JSON.stringify(events));
    const state = await settled(cam, 'Rgb.DriftScore', events, 1);
    expect(hits()).toEqual([1, 1]);
    expect(failedDeliveries(id)).toBe(2);
    expect(state.alerts['drift-window-mean@Rgb']).toMatchObject({ f: true, e: 1 });
    expect(new Set(deliveredTriggerIds(cam)).size).toBe(1);
  });

  it('conditional-check conflicts below the retry bound are absorbed in the invocation', async ({ expect }) => {
    const cam = 'f-conflict-absorbed';
    const hits = use('dynamodb', { command: 'PutItem', fault: 'conditional-conflict', times: 3, when: onCamera(cam) });
    const events = series(cam, LOW);
    const id = await send(JSON.stringify(events));
    await settled(cam, 'Rgb.DriftScore', events, 0);
    expect(hits()).toEqual([3]);
    expect(failures.get(id)).toBeUndefined();
  });

  it('conflicts past the retry bound fail the record (StateConflictError) and the redelivery applies it once', async ({
    expect,
  }) => {
    const cam = 'f-conflict-redelivered';
    const hits = use('dynamodb', { command: 'PutItem', fault: 'conditional-conflict', times: 6, when: onCamera(cam) });
    const events = series(cam, LOW);
    const id = await send(JSON.stringify(events));
    await settled(cam, 'Rgb.DriftScore', events, 0);
    expect(hits()).toEqual([6]);
    expect(failedDeliveries(id)).toBe(1);
  });

  it('a real concurrent writer between our read and our write: the write conflicts, retries on the returned item, both batches count', async ({
    expect,
  }) => {
    const cam = 'f-interleave';
    const ours = series(cam, LOW);
    const theirs = series(cam, LOW);
    const hits = use(
      'dynamodb',
      {
        command: 'PutItem',
        fault: 'interleave',
        times: 1,
        when: onCamera(cam),
        // Another invocation of the same handler commits first (a direct call with an SQS record).
        action: async () => {
          const r = await handler({ Records: [sqsRecord(JSON.stringify(theirs))] });
          expect(r.batchItemFailures).toEqual([]);
        },
      },
      { command: 'PutItem', fault: 'interleave', when: onCamera(cam) },
    );
    const id = await send(JSON.stringify(ours));
    await settled(cam, 'Rgb.DriftScore', [...ours, ...theirs], 0);
    // Ours: the write that conflicted and its retry; theirs: one write (inside the first hit).
    expect(hits()).toEqual([1, 2]);
    expect(failures.get(id)).toBeUndefined();
  });

  it('PutEvents partial failure: only the failed entry is retried, so each trigger reaches the bus once', async ({
    expect,
  }) => {
    const cam = 'f-partial';
    const hits = use('eventBridge', {
      command: 'PutEvents',
      fault: 'partial-failure',
      times: 1,
      when: publishesFor(cam),
    });
    const rgb = series(cam, HIGH);
    const thermal = series(cam, HIGH, { modality: 'Thermal' });
    const id = await send(JSON.stringify([...rgb, ...thermal]));
    await settled(cam, 'Thermal.DriftScore', thermal, 2);
    await settled(cam, 'Rgb.DriftScore', rgb, 2);
    expect(hits()).toEqual([1]);
    expect(failures.get(id)).toBeUndefined();
    const ids = deliveredTriggerIds(cam);
    expect(ids).toHaveLength(2);
    expect(new Set(ids).size).toBe(2);
  });

  it('PutEvents 5xx on every attempt fails the record; the redelivery publishes the outbox with the same triggerId and applies nothing twice', async ({
    expect,
  }) => {
    const cam = 'f-publish-5xx';
    const hits = use('eventBridge', { command: 'PutEvents', fault: 'server-error', times: 4, when: publishesFor(cam) });
    const events = series(cam, HIGH);
    const id = await send(JSON.stringify(events));
    const state = await settled(cam, 'Rgb.DriftScore', events, 1);
    expect(hits()).toEqual([4]);
    expect(failedDeliveries(id)).toBe(1);
    expect(state.alerts['drift-window-mean@Rgb']).toMatchObject({ f: true, e: 1 });
    expect(deliveredTriggerIds(cam)).toHaveLength(1);
  });

  it('dead-letter sends throttled: retried, the bad part arrives with its reason and the valid sibling is applied once', async ({
    expect,
  }) => {
    const cam = 'f-dlq';
    const mine = (input: Record<string, unknown>) => JSON.stringify(input.Entries ?? []).includes(cam);
    // The adapter tries 4 times per invocation: the first delivery fails, the redelivery succeeds.
    const hits = use('sqs', { command: 'SendMessageBatch', fault: 'throttle', times: 5, when: mine });
    const good = series(cam, LOW);
    const bad = { ...wireEvent({ camera_id: cam }), metric: 'Nope' };
    const id = await send(JSON.stringify([...good, bad]));
    await settled(cam, 'Rgb.DriftScore', good, 0);
    await waitFor('the dead letter', async () => {
      await deadLetters.poll();
      return deadLetters.seen.some((m) => m.Body!.includes(cam));
    });
    const letters = deadLetters.seen.filter((m) => m.Body!.includes(cam));
    expect(letters).toHaveLength(1);
    expect(letters[0]!.MessageAttributes![DEAD_LETTER_ATTRIBUTES.reason]!.StringValue).toMatch(
      /^\[3\]\.metric: metric must be one of/,
    );
    expect(letters[0]!.MessageAttributes![DEAD_LETTER_ATTRIBUTES.sourceMessageId]!.StringValue).toBe(id);
    expect(hits()).toEqual([5]);
    expect(failedDeliveries(id)).toBe(1);
  });
});

// Crashes fail a whole batch, other scenarios' records included: these run one at a time.
describe('crashes', () => {
  it('a crash after the state write and before the publish: the redelivery publishes the committed trigger', async ({
    expect,
  }) => {
    const cam = 'f-crash';
    const bystander = 'f-crash-bystander';
    const hits = use('eventBridge', { command: 'PutEvents', fault: 'crash', times: 1, when: publishesFor(cam) });
    const events = series(cam, HIGH);
    const other = series(bystander, LOW);
    // One message, two cameras: the whole batch is redelivered after the crash.
    const id = await send(JSON.stringify([...events, ...other]));
    const state = await settled(cam, 'Rgb.DriftScore', events, 1);
    await settled(bystander, 'Rgb.DriftScore', other, 0);
    expect(hits()).toEqual([1]);
    expect(crashes.get(id)).toBe(1);
    expect(state.alerts['drift-window-mean@Rgb']).toMatchObject({ f: true, e: 1 });
    expect(new Set(deliveredTriggerIds(cam)).size).toBe(1);
  });

  it('a crash after the publish and before the outbox is cleared: the trigger is delivered again with the same triggerId', async ({
    expect,
  }) => {
    const cam = 'f-crash-before-clear';
    // The camera's second PutItem is the outbox-clearing write.
    const hits = use('dynamodb', { command: 'PutItem', fault: 'crash', skip: 1, times: 1, when: onCamera(cam) });
    const events = series(cam, HIGH);
    const id = await send(JSON.stringify(events));
    await settled(cam, 'Rgb.DriftScore', events, 1);
    await waitFor('the redelivered trigger', async () => {
      await tap.poll();
      return deliveredTriggerIds(cam).length >= 2;
    });
    const ids = deliveredTriggerIds(cam);
    expect(ids).toHaveLength(2);
    expect(new Set(ids).size).toBe(1);
    expect(hits()).toEqual([1]);
    expect(crashes.get(id)).toBe(1);
  });
  it("a crash before the camera's plain cohort registration reaches its shard: the redelivery makes it again", async ({
    expect,
  }) => {
    const cam = 'f-crash-registration';
    const cohort = { modelVersion: 'f-mv-crash', modality: 'Rgb' as const };
    const toShard = (input: Record<string, unknown>) => {
      const key = cameraKeyOf(input) ?? '';
      return key.startsWith(`${COHORT.shardPrefix}${cohort.modality}#`) && key.endsWith(`#${cohort.modelVersion}`);
    };
    const hits = use('dynamodb', { command: 'UpdateItem', fault: 'crash', times: 1, when: toShard });
    const events = series(cam, LOW, { model_version: cohort.modelVersion });
    const id = await send(JSON.stringify(events));
    await settled(cam, 'Rgb.DriftScore', events, 0);
    const store = new DynamoCohortStore(aws.ddb, aws.stack.tableName);
    await waitFor('the registration in its shard and head', async () => {
      const members = (await store.members(cohort)).members;
      const { head } = await store.loadHead(cohort);
      return members.some((m) => m.cameraId === cam) && cohortCounts(head).active === 1;
    });
    expect(hits()).toEqual([1]);
    expect(crashes.get(id)).toBe(1);
    expect((await readState(cam))?.signals).toBeUndefined();
  });

  it('the handler passes the receive count on: a redelivered message with new events makes the registration again', async ({
    expect,
  }) => {
    const cam = 'f-receive-count';
    const cohort = { modelVersion: 'f-mv-count', modality: 'Rgb' as const };
    const store = new DynamoCohortStore(aws.ddb, aws.stack.tableName);
    // Its own hour (09:06:40 on): the three messages' events stay in one activity bucket.
    let second = 4_000;
    const record = (values: number[], receiveCount: string) => {
      const events = values.map((value) =>
        wireEvent({ camera_id: cam, value, i: second++, model_version: cohort.modelVersion }),
      );
      const r = sqsRecord(JSON.stringify(events), randomUUID());
      r.attributes.ApproximateReceiveCount = receiveCount;
      return r;
    };
    const newest = async () => (await store.members(cohort)).members.find((m) => m.cameraId === cam)?.rec.l;
    await handler({ Records: [record(LOW, '1')] });
    const registered = await newest();
    expect(registered).toBeDefined();
    // Newer events in the same hour: no registration due, the shard keeps the first one.
    await handler({ Records: [record(LOW, '1')] });
    expect(await newest()).toBe(registered);
    // The same, delivered before: the camera's registration is made again from its state.
    await handler({ Records: [record(LOW, '2')] });
    expect(await newest()).toBeGreaterThan(registered!);
  });
});
