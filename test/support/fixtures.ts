// Event fixtures in one place.
import { randomUUID } from 'node:crypto';
import type { SQSEvent, SQSRecord } from 'aws-lambda';
import type { WireMetricEvent } from '../../lib/core/metric-event.js';
import type { PolicyInput } from '../../lib/core/policy.js';

/** One event exactly as existing producers send it (nanosecond timestamp included). */
export const WIRE_EXAMPLE =
  '{"id":"6f1c5a1e-3f7e-4c59-9a53-2f0c3f0b7d11","timestamp":"2026-11-27T08:15:30.123456789Z","camera_id":"cam01","modality":"Rgb","metric":"DriftScore","value":0.91}';

export const BASE_TIME = Date.parse('2026-11-27T08:00:00Z');

let seq = 0;
/** A valid wire event; `i` spaces timestamps one second apart from BASE_TIME. */
export function wireEvent(over: Partial<WireMetricEvent> & { i?: number } = {}): WireMetricEvent {
  const { i, ...rest } = over;
  return {
    id: randomUUID(),
    timestamp: new Date(BASE_TIME + (i ?? seq++) * 1000).toISOString(),
    camera_id: 'cam01',
    modality: 'Rgb',
    metric: 'DriftScore',
    value: 0.1,
    ...rest,
  };
}

/** The original module's test scenario. */
export const ORIGINAL_SCORES = [0.2, 0.3, 0.9, 0.95, 0.8];

export function sqsRecord(body: string, messageId: string = randomUUID()): SQSRecord {
  return {
    messageId,
    receiptHandle: `rh-${messageId}`,
    body,
    attributes: {
      ApproximateReceiveCount: '1',
      SentTimestamp: String(Date.now()),
      SenderId: 'test',
      ApproximateFirstReceiveTimestamp: String(Date.now()),
    },
    messageAttributes: {},
    md5OfBody: '',
    eventSource: 'aws:sqs',
    eventSourceARN: 'arn:aws:sqs:us-east-1:000000000000:q',
    awsRegion: 'us-east-1',
  };
}

export const sqsEvent = (...bodies: string[]): SQSEvent => ({ Records: bodies.map((b) => sqsRecord(b)) });

/** A camera policy with one drift detector that asks for a retrain: window mean of `windowSize` DriftScores above `threshold`. */
export const retrainOnDrift = (windowSize: number, threshold = 0.5) => ({
  id: 'loop',
  cooldownSeconds: 0,
  retrainScope: 'camera' as const, // one camera's loop; cohorts: test/integration/fleet-decisions.test.ts
  detectors: [
    {
      id: 'drift',
      kind: 'window-mean' as const,
      metric: 'DriftScore' as const,
      action: 'RetrainingRequested' as const,
      windowSize,
      threshold,
      hysteresis: 0,
    },
  ],
});

/**
 * Per-camera decisions for the backtest and replay tests: a window mean of 3 DriftScores over 0.7 asks for a
 * retrain, a latency p90 over 200 ms is an SLA breach; no cooldown (cohorts have their own policy:
 * COHORT_DRIFT_POLICY in lib/sim/upload-patterns.ts).
 */
export const CAMERA_DRIFT_SLA_POLICY = {
  id: 'test-policy',
  retrainScope: 'camera',
  detectors: [
    {
      id: 'drift-mean',
      kind: 'window-mean',
      metric: 'DriftScore',
      action: 'RetrainingRequested',
      windowSize: 3,
      threshold: 0.7,
      hysteresis: 0,
      requireFullWindow: true,
    },
    {
      id: 'latency-p90',
      kind: 'latency-quantile',
      metric: 'LatencyMs',
      action: 'SlaBreached',
      windowSize: 5,
      quantile: 0.9,
      slaMs: 200,
      hysteresis: 0.1,
    },
  ],
  cooldownSeconds: 0,
} as const satisfies PolicyInput;
