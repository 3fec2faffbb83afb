// Covers every detector kind and every action through the deployed path on moto: real SQS messages
// → local event-source mapping → the real ingest handler → state in DynamoDB → EventBridge → the
// stack's catch-all rule → tap queue. One camera per detector; AlertResolved when a condition clears.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SendMessageCommand } from '@aws-sdk/client-sqs';
import { LocalEventSourceMapping } from '../../lib/local/event-source-mapping.js';
import { PolicyStore } from '../../lib/adapters/policy-store.js';
import { drain, startLocalAws, useFunctionEnv, type LocalAws } from '../support/local-aws.js';
import { schemaErrors } from '../support/schemas.js';
import { rng } from '../support/streams.js';
import { wireEvent } from '../support/fixtures.js';
import type { MetricKind, Modality, WireMetricEvent } from '../../lib/core/metric-event.js';

let aws: LocalAws;
let mapping: LocalEventSourceMapping;

const POLICY = {
  id: 'every-kind',
  cooldownSeconds: 0,
  detectors: [
    {
      id: 'wm',
      kind: 'window-mean',
      metric: 'DriftScore',
      action: 'RetrainingRequested',
      windowSize: 5,
      threshold: 0.7,
      modalities: ['Rgb'],
    },
    {
      id: 'cu',
      kind: 'cusum',
      metric: 'DriftScore',
      action: 'RetrainingRequested',
      warmup: 30,
      modalities: ['Thermal'],
    },
    { id: 'ew', kind: 'ewma', metric: 'DriftScore', action: 'RetrainingRequested', warmup: 30, modalities: ['Depth'] },
    {
      id: 'acc',
      kind: 'regression',
      metric: 'Accuracy',
      action: 'HyperparameterTuningRequested',
      baselineSamples: 500,
      minSamples: 200,
    },
    { id: 'p95', kind: 'latency-quantile', metric: 'LatencyMs', action: 'SlaBreached', windowSize: 10, slaMs: 200 },
  ],
};

beforeAll(async () => {
  aws = await startLocalAws({ visibilityTimeoutSeconds: 2 });
  await new PolicyStore(aws.ddb, aws.stack.tableName).put('fleet', POLICY);
  useFunctionEnv(aws.stack);
  const { handler } = await import('../../functions/ingest.js');
  mapping = new LocalEventSourceMapping(aws.sqs, handler, {
    queueUrl: aws.stack.ingestQueueUrl,
    batchSize: 10,
    maxBatchingWindowMs: 100,
    pollers: 2,
  }).start();
});
afterAll(async () => {
  await mapping?.stop();
  await aws?.stop();
});

/** Sends one camera's stream in time order, 25 events per message, one message at a time. */
async function sendStream(
  camera: string,
  modality: Modality,
  metric: MetricKind,
  values: number[],
  extra: Partial<WireMetricEvent> = {},
) {
  const events = values.map((value, i) => wireEvent({ camera_id: camera, modality, metric, value, i, ...extra }));
  for (let k = 0; k < events.length; k += 25) {
    await aws.sqs.send(
      new SendMessageCommand({
        QueueUrl: aws.stack.ingestQueueUrl,
        MessageBody: JSON.stringify(events.slice(k, k + 25)),
      }),
    );
    await new Promise((r) => setTimeout(r, 150)); // keep each camera's messages in order across the two pollers
  }
}

describe('every detector kind through handler + table + bus', () => {
  it('fires the expected action per detector, resolves cleared conditions, and every event fits its schema', async () => {
    const r = rng(5);
    const noisy = (n: number, mean: number, sd: number) =>
      Array.from({ length: n }, () => Math.max(0, mean + sd * r.normal()));
    await Promise.all([
      sendStream('cam-wm', 'Rgb', 'DriftScore', [
        ...noisy(10, 0.2, 0.02),
        ...noisy(10, 0.9, 0.02),
        ...noisy(10, 0.2, 0.02),
      ]),
      sendStream('cam-cu', 'Thermal', 'DriftScore', [...noisy(50, 0.3, 0.02), ...noisy(25, 0.4, 0.02)]),
      sendStream('cam-ew', 'Depth', 'DriftScore', [...noisy(50, 0.3, 0.02), ...noisy(25, 0.4, 0.02)]),
      sendStream('cam-acc', 'Rgb', 'Accuracy', [...Array(10).fill(0.9), ...Array(15).fill(0.75)], {
        sample_count: 100,
        model_version: 'v1',
      }),
      sendStream('cam-lat', 'Rgb', 'LatencyMs', [...noisy(15, 80, 5), ...noisy(15, 400, 20), ...noisy(25, 60, 5)]),
    ]);
    const expected = new Set([
      'cam-wm:RetrainingRequested',
      'cam-wm:AlertResolved',
      'cam-cu:RetrainingRequested',
      'cam-ew:RetrainingRequested',
      'cam-acc:HyperparameterTuningRequested',
      'cam-lat:SlaBreached',
      'cam-lat:AlertResolved',
    ]);
    const seen = new Map<string, { type: string; detail: Record<string, unknown> }>();
    const deadline = Date.now() + 30_000;
    while ([...expected].some((k) => !seen.has(k)) && Date.now() < deadline) {
      for (const m of await drain(aws.sqs, aws.stack.tapQueueUrl, 1, 2000)) {
        const e = JSON.parse(m.Body!);
        seen.set(`${e.detail.cameraId}:${e['detail-type']}`, { type: e['detail-type'], detail: e.detail });
      }
    }
    expect(new Set(seen.keys())).toEqual(expected);
    expect(seen.get('cam-cu:RetrainingRequested')!.detail).toMatchObject({ detectorKind: 'cusum', direction: 'up' });
    expect(seen.get('cam-ew:RetrainingRequested')!.detail).toMatchObject({ detectorKind: 'ewma', direction: 'up' });
    expect(seen.get('cam-acc:HyperparameterTuningRequested')!.detail).toMatchObject({
      detectorKind: 'regression',
      baseline: 0.9,
      baselineModelVersion: 'v1',
    });
    expect(seen.get('cam-lat:SlaBreached')!.detail).toMatchObject({
      detectorKind: 'latency-quantile',
      quantile: 0.95,
      threshold: 200,
    });
    for (const e of seen.values()) expect(schemaErrors(`out.${e.type}`, e.detail)).toEqual([]);
  });
});
