// Event fixtures in one place.
import { randomUUID } from 'node:crypto';
import type { SQSEvent, SQSRecord } from 'aws-lambda';
import type { WireMetricEvent } from '../../lib/core/metric-event.js';

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
