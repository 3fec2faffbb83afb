// Covers the whole path on moto, with no mocks: a real SQS message (the original wire JSON, and an
// array body) → local event-source mapping → the real ingest handler → state in DynamoDB → trigger on
// the bus → the stack's rule → retraining-requests queue, read back and checked field by field.
// Also: bad input lands in the dead-letter queue with its reason on first receive.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SendMessageCommand } from '@aws-sdk/client-sqs';
import { LocalEventSourceMapping } from '../../lib/local/event-source-mapping.js';
import { driftPolicy } from '../../lib/core/policy.js';
import { DEAD_LETTER_ATTRIBUTES } from '../../lib/resources.js';
import { TRIGGER_SCHEMA_VERSION } from '../../lib/core/trigger.js';
import { drain, readCamera, startLocalAws, useFunctionEnv, waitFor, type LocalAws } from '../support/local-aws.js';
import { ORIGINAL_SCORES, WIRE_EXAMPLE, wireEvent } from '../support/fixtures.js';

let aws: LocalAws;
let mapping: LocalEventSourceMapping;

beforeAll(async () => {
  aws = await startLocalAws({ visibilityTimeoutSeconds: 2 });
  useFunctionEnv(aws.stack, { DEFAULT_POLICY: JSON.stringify(driftPolicy(3, 0.7)) });
  const { handler } = await import('../../functions/ingest.js');
  mapping = new LocalEventSourceMapping(aws.sqs, handler, {
    queueUrl: aws.stack.ingestQueueUrl,
    batchSize: 10,
    maxBatchingWindowMs: 200,
    pollers: 2,
  }).start();
});

afterAll(async () => {
  await mapping?.stop();
  await aws?.stop();
});

const send = (body: string) =>
  aws.sqs.send(new SendMessageCommand({ QueueUrl: aws.stack.ingestQueueUrl, MessageBody: body }));

describe('SQS → Lambda → DynamoDB → EventBridge on moto', () => {
  it('turns the original scenario into one RetrainingRequested on the retraining queue', async () => {
    // First the producers' exact example as a single-object body, then the scenario as an array body.
    await send(WIRE_EXAMPLE.replace('cam01', 'cam99').replace('0.91', '0.2').replace('08:15:30', '07:00:00'));
    await new Promise((r) => setTimeout(r, 1500));
    const rest = ORIGINAL_SCORES.slice(1).map((value, i) =>
      wireEvent({ camera_id: 'cam99', value, i: i + 1, model_version: 'm-3' }),
    );
    await send(JSON.stringify(rest));

    const msgs = await drain(aws.sqs, aws.stack.retrainingQueueUrl, 1, 15_000);
    expect(msgs).toHaveLength(1);
    const event = JSON.parse(msgs[0]!.Body!);
    expect(event.source).toBe('visutility.monitor');
    expect(event['detail-type']).toBe('RetrainingRequested');
    const d = event.detail;
    expect(d.schemaVersion).toBe(TRIGGER_SCHEMA_VERSION);
    expect(d.triggerId).toMatch(/^[0-9a-f-]{36}$/);
    expect(d.cameraId).toBe('cam99');
    expect(d.modality).toBe('Rgb');
    expect(d.metric).toBe('DriftScore');
    expect(d.detector).toBe('drift-window-mean');
    expect(d.statistic).toBeCloseTo((0.3 + 0.9 + 0.95) / 3, 5);
    expect(d.threshold).toBe(0.7);
    expect(d.windowSize).toBe(3);
    expect(d.sampleCount).toBe(3);
    expect(d.firstEventAt).toBe(new Date(Date.parse('2026-11-27T08:00:01Z')).toISOString());
    expect(d.lastEventAt).toBe(new Date(Date.parse('2026-11-27T08:00:03Z')).toISOString());
    expect(d.modelVersion).toBe('m-3');
    expect(d.scope).toBe('camera');
    expect(d.currentWindow).toEqual({ from: d.firstEventAt, to: d.lastEventAt });
    expect(d.referenceWindow).toMatchObject({ to: d.firstEventAt, modelVersion: 'm-3' });

    // The outbox is cleared by a write after the publish: wait for it rather than race it.
    const read = () => readCamera(aws, 'cam99');
    let { version, state } = await read();
    for (const until = Date.now() + 5000; state.outbox.length > 0 && Date.now() < until; )
      ({ version, state } = await read());
    expect(version).toBeGreaterThanOrEqual(2);
    expect(state.streams['Rgb.DriftScore']!.map((e) => Number(e.value.toFixed(2)))).toEqual([0.2, 0.3, 0.9, 0.95, 0.8]);
    expect(state.alerts['drift-window-mean@Rgb']).toMatchObject({ f: true, e: 1 });
    expect(state.outbox).toEqual([]);
  });

  it('dead-letters each bad part with its reason on first receive and applies the valid siblings', async () => {
    const good = wireEvent({ camera_id: 'cam-mixed', value: 0.1 });
    const bad = { ...wireEvent({ camera_id: 'cam-mixed' }), metric: 'Bogus' };
    await send(JSON.stringify([good, bad]));
    await send('{"id": truncated');
    const letters = await drain(aws.sqs, aws.stack.deadLetterQueueUrl, 2, 15_000);
    expect(letters).toHaveLength(2);
    const reasons = letters.map((m) => m.MessageAttributes![DEAD_LETTER_ATTRIBUTES.reason]!.StringValue).sort();
    expect(reasons[0]).toMatch(/^\[1\]\.metric: metric must be one of/);
    expect(reasons[1]).toMatch(/^body is not valid JSON/);
    for (const m of letters) expect(Number(m.Attributes!.ApproximateReceiveCount)).toBe(1);
    // Dead letters go out before the camera's write, so wait for the write rather than read at once.
    const camera = await waitFor(
      () => readCamera(aws, 'cam-mixed'),
      (c) => c.version > 0,
    );
    expect(camera.state.streams['Rgb.DriftScore']).toHaveLength(1);
  });
});
