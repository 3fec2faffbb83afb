// Covers ingestBatch (lib/app/ingest-batch.ts) on in-memory ports, no AWS: one conditional write per
// camera, triggers published and the outbox cleared, a redelivered batch applying nothing twice, bad
// parts dead-lettered next to applied siblings, and partial failures: a dead letter that cannot be
// sent, a publish that fails (the camera's records fail, the redelivery publishes the same
// triggerIds), conflicts absorbed below the bound and failing the records past it.
import { describe, expect, it } from 'vitest';
import { ingestBatch, type IngestDeps, type IngestRecord } from '../../lib/app/ingest-batch.js';
import { driftPolicy } from '../../lib/core/policy.js';
import { MemoryStateStore } from '../../lib/local/memory-state-store.js';
import { BASE_TIME, wireEvent } from '../support/fixtures.js';
import { ContendedStateStore, memoryPorts } from '../support/memory-ports.js';

const NOW = BASE_TIME + 3_600_000;
const policy = driftPolicy(1, 0.5); // one drift score above 0.5 fires a retrain

function deps(over: Partial<IngestDeps> = {}) {
  const ports = memoryPorts();
  const d: IngestDeps = { ...ports, policy: () => policy, now: () => NOW, ...over };
  return { ...ports, deps: d };
}

/** A message of drift scores for one camera, at seconds `from`, `from + 1`, … */
const message = (messageId: string, camera: string, values: number[], from = 0): IngestRecord => ({
  messageId,
  body: JSON.stringify(values.map((value, k) => wireEvent({ camera_id: camera, value, i: from + k }))),
});

describe('ingestBatch', () => {
  it('applies each camera with one write, publishes its triggers and clears the outbox', async () => {
    const { deps: d, store, publisher } = deps();
    const r = await ingestBatch([message('m1', 'cam-a', [0.1, 0.2]), message('m2', 'cam-b', [0.1, 0.9])], d);
    expect(r).toMatchObject({ events: 4, applied: 4, duplicates: 0, rejected: 0, failedMessageIds: [] });
    expect(r.triggers.map((t) => [t.detail.cameraId, t.detailType])).toEqual([['cam-b', 'RetrainingRequested']]);
    expect(publisher.ids()).toEqual([r.triggers[0]!.detail.triggerId]);
    // cam-a: the state; cam-b: the state with its outbox, then the cleared outbox.
    expect(r.writes).toBe(3);
    expect((await store.load('cam-b')).state.outbox).toEqual([]);
    expect((await store.load('cam-a')).state.streams['Rgb.DriftScore']).toHaveLength(2);
  });

  it('a redelivered batch applies nothing twice, writes nothing and publishes nothing new', async () => {
    const { deps: d, publisher } = deps();
    const batch = [message('m1', 'cam-a', [0.1, 0.9])];
    await ingestBatch(batch, d);
    const again = await ingestBatch(batch, d);
    expect(again).toMatchObject({
      events: 2,
      applied: 0,
      duplicates: 2,
      writes: 0,
      triggers: [],
      failedMessageIds: [],
    });
    expect(publisher.published).toHaveLength(1);
  });

  it('dead-letters a bad part with its reason and source, and applies its valid sibling', async () => {
    const { deps: d, deadLetters, store } = deps();
    const good = wireEvent({ camera_id: 'cam-a', value: 0.1, i: 0 });
    const r = await ingestBatch([{ messageId: 'm1', body: JSON.stringify([good, { ...good, id: 'not-a-uuid' }]) }], d);
    expect(r).toMatchObject({ events: 1, applied: 1, rejected: 1, failedMessageIds: [] });
    expect(deadLetters.letters).toHaveLength(1);
    expect(deadLetters.letters[0]!.sourceMessageId).toBe('m1');
    expect(deadLetters.letters[0]!.rejection.index).toBe(1);
    expect(deadLetters.letters[0]!.rejection.reason).toMatch(/\bid\b/);
    expect((await store.load('cam-a')).state.streams['Rgb.DriftScore']).toHaveLength(1);
  });

  it('fails the message whose dead letter cannot be sent; its redelivery applies the valid part once', async () => {
    const { deps: d, deadLetters } = deps();
    deadLetters.refused.add('m1');
    const good = wireEvent({ camera_id: 'cam-a', value: 0.1, i: 0 });
    const batch = [
      { messageId: 'm1', body: JSON.stringify([good, { ...good, id: 'not-a-uuid' }]) },
      message('m2', 'cam-b', [0.1]),
    ];
    const r = await ingestBatch(batch, d);
    expect(r.failedMessageIds).toEqual(['m1']);
    expect(r.applied).toBe(2);
    deadLetters.refused.clear();
    const again = await ingestBatch([batch[0]!], d);
    expect(again).toMatchObject({ applied: 0, duplicates: 1, rejected: 1, failedMessageIds: [] });
    expect(deadLetters.letters.map((l) => l.sourceMessageId)).toEqual(['m1']);
  });

  it("a failed publish fails that camera's records only; the redelivery publishes the committed trigger with the same triggerId", async () => {
    const { deps: d, publisher, store } = deps();
    publisher.failNext = 1;
    const batch = [message('m1', 'cam-a', [0.9]), message('m2', 'cam-b', [0.1])];
    const r = await ingestBatch(batch, d);
    expect(r.failedMessageIds).toEqual(['m1']);
    expect(r.cameraErrors).toEqual([{ cameraId: 'cam-a', error: expect.stringContaining('the bus refused') }]);
    expect(publisher.published).toEqual([]);
    const committed = (await store.load('cam-a')).state.outbox;
    expect(committed).toHaveLength(1);

    const again = await ingestBatch([batch[0]!], d);
    expect(again).toMatchObject({ applied: 0, duplicates: 1, triggers: [], failedMessageIds: [] });
    expect(publisher.ids()).toEqual([committed[0]!.detail.triggerId]);
    expect((await store.load('cam-a')).state.outbox).toEqual([]);
  });

  it('absorbs a conflict with a concurrent writer: the retry keeps what the other writer wrote', async () => {
    const inner = new MemoryStateStore();
    const store = new ContendedStateStore(inner, {
      saves: new Set([1]),
      interloper: (s) => {
        s.mv.Thermal = 'theirs';
      },
    });
    const { deps: d } = deps({ store });
    const r = await ingestBatch([message('m1', 'cam-a', [0.1, 0.1])], d);
    expect(r).toMatchObject({ applied: 2, conflicts: 1, writes: 2, failedMessageIds: [] });
    const { state } = await inner.load('cam-a');
    expect(state.streams['Rgb.DriftScore']).toHaveLength(2);
    expect(state.mv.Thermal).toBe('theirs');
  });

  it('fails the records of a camera whose writes keep conflicting past the bound (StateConflictError)', async () => {
    const inner = new MemoryStateStore();
    const store = new ContendedStateStore(inner, {
      saves: new Set([1, 2, 3]),
      cameraId: 'cam-a',
      interloper: (s) => {
        s.mv.Thermal = 'theirs';
      },
    });
    const { deps: d } = deps({ store, maxWriteAttempts: 3 });
    const r = await ingestBatch([message('m1', 'cam-a', [0.1]), message('m2', 'cam-b', [0.1])], d);
    expect(r.failedMessageIds).toEqual(['m1']);
    expect(r.cameraErrors).toEqual([{ cameraId: 'cam-a', error: expect.stringContaining('StateConflictError') }]);
    expect(store.interloperWrites).toBe(3);
    expect((await inner.load('cam-b')).state.streams['Rgb.DriftScore']).toHaveLength(1);
  });
});
