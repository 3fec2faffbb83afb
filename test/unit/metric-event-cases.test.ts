// Covers the validation MetricPublisher.publish() applies (lib/client/metric-publisher.ts over
// lib/core/metric-event.ts) against the shared case file test/fixtures/metric-event-cases.json:
// accepted or refused, with the exact reason and field errors. The Python client's suite reads the
// same file (clients/python/tests/test_validation_cases.py), so the two clients cannot disagree.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SQSClient } from '@aws-sdk/client-sqs';
import { describe, expect, it } from 'vitest';
import { MetricPublisher, SQS_MAX_REQUEST_BYTES, SQS_MAX_BATCH_ENTRIES } from '../../lib/client/metric-publisher.js';
import { PROJECT_ROOT } from '../../lib/local/moto-server.js';

interface Case {
  name: string;
  event: unknown;
  expect: { accepted: true } | { accepted: false; reason: string; errors: { path: string; message: string }[] };
}
const file = JSON.parse(readFileSync(join(PROJECT_ROOT, 'test/fixtures/metric-event-cases.json'), 'utf8')) as {
  nowMs: number;
  maxMessageBytes: number;
  cases: Case[];
};

describe('shared validation cases (test/fixtures/metric-event-cases.json)', () => {
  it('assume the default message size', () => {
    expect(file.maxMessageBytes).toBe(Math.floor(SQS_MAX_REQUEST_BYTES / SQS_MAX_BATCH_ENTRIES));
  });

  it('cover both outcomes and every field', () => {
    const refused = file.cases.filter((c) => !c.expect.accepted);
    expect(refused.length).toBeGreaterThan(50);
    expect(file.cases.length - refused.length).toBeGreaterThan(15);
    const paths = new Set(refused.flatMap((c) => (c.expect.accepted ? [] : c.expect.errors.map((e) => e.path))));
    for (const f of [
      '',
      'id',
      'timestamp',
      'camera_id',
      'modality',
      'metric',
      'value',
      'model_version',
      'sample_count',
    ])
      expect(paths).toContain(f);
  });

  // The publisher never sends here: the linger is an hour and nothing flushes (its timer is unref'd).
  const publisher = new MetricPublisher({
    sqs: new SQSClient({ region: 'us-east-1' }),
    queueUrl: 'http://127.0.0.1:9/unused',
    now: () => file.nowMs,
    lingerMs: 3_600_000,
  });
  it.each(file.cases.map((c) => [c.name, c] as const))('%s', async (_name, c) => {
    const r = await publisher.publish(c.event);
    if (c.expect.accepted) expect(r).toEqual({ accepted: true });
    else expect(r).toEqual({ accepted: false, reason: c.expect.reason, errors: c.expect.errors });
  });
});
