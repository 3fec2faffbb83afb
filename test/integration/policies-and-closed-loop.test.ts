// Covers, on moto with the real handlers: a policy change (vmon policy put → the table) taking
// effect in the running ingest function without a redeploy; an invalid policy refused and nothing
// written; the closed loop (ModelDeployed on the bus → rule → lifecycle queue → lifecycle Lambda)
// resolving the alert and lifting the retrain-in-flight suppression; and every event published
// on the bus validating against its JSON Schema.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { SendMessageCommand } from '@aws-sdk/client-sqs';
import { LocalEventSourceMapping } from '../../lib/local/event-source-mapping.js';
import { PolicyStore } from '../../lib/adapters/policy-store.js';
import { CameraStateStore } from '../../lib/adapters/state-store.js';
import { PolicyError } from '../../lib/core/policy.js';
import { drain, startLocalAws, useFunctionEnv, type LocalAws } from '../support/local-aws.js';
import { schemaErrors } from '../support/schemas.js';
import { wireEvent } from '../support/fixtures.js';

let aws: LocalAws;
const mappings: LocalEventSourceMapping[] = [];
const tapped: { type: string; detail: Record<string, unknown> }[] = [];

beforeAll(async () => {
  aws = await startLocalAws({ visibilityTimeoutSeconds: 2 });
  useFunctionEnv(aws.stack, { POLICY_CACHE_SECONDS: '1' });
  const ingest = await import('../../functions/ingest.js');
  const lifecycle = await import('../../functions/model-lifecycle.js');
  mappings.push(
    new LocalEventSourceMapping(aws.sqs, ingest.handler, {
      queueUrl: aws.stack.ingestQueueUrl,
      batchSize: 10,
      maxBatchingWindowMs: 100,
    }).start(),
    new LocalEventSourceMapping(aws.sqs, lifecycle.handler, {
      queueUrl: aws.stack.lifecycleQueueUrl,
      batchSize: 10,
      pollers: 1,
    }).start(),
  );
});

afterAll(async () => {
  await Promise.all(mappings.map((m) => m.stop()));
  await aws?.stop();
});

const send = (events: object[]) =>
  aws.sqs.send(new SendMessageCommand({ QueueUrl: aws.stack.ingestQueueUrl, MessageBody: JSON.stringify(events) }));
const seen = new Set<string>();
/** Next `count` distinct events from the tap. Triggers are at-least-once: consumers dedupe by triggerId, so do we. */
async function tap(count: number, timeoutMs = 15_000) {
  const events: { type: string; detail: Record<string, unknown> }[] = [];
  const deadline = Date.now() + timeoutMs;
  while (events.length < count && Date.now() < deadline) {
    const msgs = await drain(aws.sqs, aws.stack.tapQueueUrl, count - events.length, Math.max(0, deadline - Date.now()));
    for (const e of msgs.map((m) => JSON.parse(m.Body!))) {
      tapped.push({ type: e['detail-type'], detail: e.detail });
      if (seen.has(e.detail.triggerId)) continue;
      seen.add(e.detail.triggerId);
      events.push({ type: e['detail-type'], detail: e.detail });
    }
  }
  return events;
}

describe('policies as data', () => {
  it('refuses an invalid policy with a clear error and writes nothing', async () => {
    const store = new PolicyStore(aws.ddb, aws.stack.tableName);
    await expect(
      store.put('camera:camP', {
        id: 'bad',
        detectors: [{ id: 'x', kind: 'window-mean', metric: 'DriftScore', action: 'Retrain', threshold: 0.3 }],
      }),
    ).rejects.toThrow(PolicyError);
    await expect(store.put('cam:camP', { id: 'ok', detectors: [] })).rejects.toThrow(/scope must be "fleet"/);
    expect((await store.list()).policies.size).toBe(0);
  });

  it('a camera-scoped policy put while the function runs takes effect without a redeploy', async () => {
    // Default policy: window of 10 DriftScores above 0.7. Two values of 0.5 decide nothing.
    await send([
      wireEvent({ camera_id: 'camP', value: 0.5, i: 0 }),
      wireEvent({ camera_id: 'camP', value: 0.5, i: 1 }),
    ]);
    await new Promise((r) => setTimeout(r, 1500));
    expect(await tap(1, 1500)).toEqual([]);
    const store = new PolicyStore(aws.ddb, aws.stack.tableName);
    await store.put('camera:camP', {
      id: 'sensitive-camP',
      cooldownSeconds: 0,
      detectors: [
        {
          id: 'drift-fast',
          kind: 'window-mean',
          metric: 'DriftScore',
          action: 'RetrainingRequested',
          windowSize: 2,
          threshold: 0.4,
        },
      ],
    });
    const started = Date.now();
    let got: { type: string; detail: Record<string, unknown> }[] = [];
    for (let i = 2; got.length === 0 && Date.now() - started < 60_000; i++) {
      await send([wireEvent({ camera_id: 'camP', value: 0.5, i })]);
      got = await tap(1, 2500);
    }
    expect(got[0]).toMatchObject({
      type: 'RetrainingRequested',
      detail: { cameraId: 'camP', policyId: 'sensitive-camP', detector: 'drift-fast' },
    });
  });
});

describe('closed loop', () => {
  it('ModelDeployed resets the camera and lifts the retrain-in-flight suppression', async () => {
    const store = new PolicyStore(aws.ddb, aws.stack.tableName);
    await store.put('camera:camL', {
      id: 'loop',
      cooldownSeconds: 0,
      detectors: [
        {
          id: 'drift',
          kind: 'window-mean',
          metric: 'DriftScore',
          action: 'RetrainingRequested',
          windowSize: 1,
          threshold: 0.5,
          hysteresis: 0,
        },
      ],
    });
    await new Promise((r) => setTimeout(r, 1100)); // policy cache TTL
    await send([wireEvent({ camera_id: 'camL', value: 0.9, i: 100 })]);
    const first = await tap(1);
    expect(first.map((e) => e.type)).toEqual(['RetrainingRequested']);

    // While the retrain is in flight a new episode is suppressed.
    // (one message: with two pollers, separate messages could arrive in either order)
    await send([
      wireEvent({ camera_id: 'camL', value: 0.1, i: 101 }),
      wireEvent({ camera_id: 'camL', value: 0.9, i: 102 }),
    ]);
    const during = await tap(2, 3000);
    expect(during.map((e) => e.type)).toEqual(['AlertResolved']);
    const cameras = new CameraStateStore(aws.ddb, aws.stack.tableName);
    expect((await cameras.load('camL')).state.inFlight?.triggerId).toBe(first[0]!.detail.triggerId);

    // The pipeline reports the new model on the monitor's bus.
    await aws.eventBridge.send(
      new PutEventsCommand({
        Entries: [
          {
            EventBusName: aws.stack.eventBusName,
            Source: 'visutility.pipeline',
            DetailType: 'ModelDeployed',
            Detail: JSON.stringify({
              cameraId: 'camL',
              modelVersion: 'v2',
              triggerId: first[0]!.detail.triggerId,
              at: new Date(Date.parse('2026-11-27T08:01:43Z')).toISOString(),
            }),
          },
        ],
      }),
    );
    // The firing episode was suppressed (never published), so it resolves without an event.
    let after = (await cameras.load('camL')).state;
    for (
      const until = Date.now() + 15_000;
      after.inFlight && Date.now() < until;
      await new Promise((r) => setTimeout(r, 200))
    ) {
      after = (await cameras.load('camL')).state;
    }
    expect(after.inFlight).toBeUndefined();
    // Episode 1 published, episode 2 suppressed as retrain in flight: the record survives the reset.
    expect(after.alerts['drift@Rgb']).toEqual({ f: false, e: 2, h: 'PR' });
    expect(after.reset.Rgb).toBe(Date.parse('2026-11-27T08:01:43Z'));

    await send([wireEvent({ camera_id: 'camL', value: 0.9, i: 200 })]);
    const again = await tap(1);
    expect(again.map((e) => e.type)).toEqual(['RetrainingRequested']);
    expect(again[0]!.detail.triggerId).not.toBe(first[0]!.detail.triggerId);
  });

  it('every event published on the bus validates against its schema', () => {
    expect(new Set(tapped.map((e) => e.type))).toEqual(new Set(['RetrainingRequested', 'AlertResolved']));
    for (const e of tapped) expect(schemaErrors(`out.${e.type}`, e.detail), e.type).toEqual([]);
  });
});
