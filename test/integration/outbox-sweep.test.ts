// Covers the outbox sweep on moto: a trigger committed with the state but never published (the
// invocation died after the write and its message was parked) is found through the sparse
// pending-outbox index and published by the real sweep handler, once, with its own triggerId;
// fresh outboxes (an invocation may still be publishing) are left alone; a published outbox leaves
// the index.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyEvents, emptyState } from '../../lib/core/camera-state.js';
import { parseBody } from '../../lib/core/metric-event.js';
import { driftPolicy } from '../../lib/core/policy.js';
import { CameraStateStore } from '../../lib/adapters/state-store.js';
import { drain, startLocalAws, useFunctionEnv, type LocalAws } from '../support/local-aws.js';
import { ORIGINAL_SCORES, wireEvent } from '../support/fixtures.js';

let aws: LocalAws;
beforeAll(async () => {
  aws = await startLocalAws();
  useFunctionEnv(aws.stack);
});
afterAll(async () => {
  await aws?.stop();
});

/** Writes a camera state whose outbox holds one decided trigger, as a write-then-crash leaves it. */
async function strand(cameraId: string, updatedAt: number) {
  const store = new CameraStateStore(aws.ddb, aws.stack.tableName);
  const events = parseBody(
    JSON.stringify(ORIGINAL_SCORES.map((value, i) => wireEvent({ camera_id: cameraId, value, i }))),
  ).events;
  const r = applyEvents(emptyState(), events, driftPolicy(3, 0.7));
  r.state.outbox = r.triggers;
  expect((await store.save(cameraId, r.state, 0, updatedAt)).ok).toBe(true);
  return r.triggers[0]!.detail.triggerId;
}

describe('outbox sweep', () => {
  it('publishes stranded triggers past the grace period, once, and leaves fresh ones alone', async () => {
    const store = new CameraStateStore(aws.ddb, aws.stack.tableName);
    const stranded = await strand('cam-stranded', Date.now() - 10 * 60_000);
    await strand('cam-fresh', Date.now());
    expect(await store.pendingOutboxes(Date.now() + 1, 10)).toEqual(
      expect.arrayContaining(['cam-stranded', 'cam-fresh']),
    );

    const { handler } = await import('../../functions/outbox-sweep.js');
    const first = await handler({});
    expect(first).toEqual({ cameras: 1, published: 1, failed: [] });
    const delivered = await drain(aws.sqs, aws.stack.tapQueueUrl, 2, 3000);
    expect(delivered.map((m) => JSON.parse(m.Body!).detail.triggerId)).toEqual([stranded]);

    expect((await store.load('cam-stranded')).state.outbox).toEqual([]);
    expect(await store.pendingOutboxes(Date.now() + 1, 10)).toEqual(['cam-fresh']);
    expect(await handler({})).toEqual({ cameras: 0, published: 0, failed: [] });
  });
});
