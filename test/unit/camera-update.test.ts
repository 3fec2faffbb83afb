// Covers updateCamera (lib/app/camera-update.ts) on in-memory ports, no AWS: the conditional write
// retried on a conflict with the state the other writer left, the bound on conflicts, the outbox
// published and then cleared, a crash between the state write and the publish repaired by the next
// update (same triggerIds), and a lost clearing write that makes the next update republish.
import { describe, expect, it } from 'vitest';
import { StateConflictError, updateCamera, type Mutation } from '../../lib/app/camera-update.js';
import type { CameraState } from '../../lib/core/camera-state.js';
import { episodeId, triggerId, type Trigger } from '../../lib/core/trigger.js';
import { MemoryStateStore } from '../../lib/local/memory-state-store.js';
import { BASE_TIME } from '../support/fixtures.js';
import { ContendedStateStore, memoryPorts } from '../support/memory-ports.js';

const CAM = 'cam-u1';
const NOW = BASE_TIME + 3_600_000;

/** A trigger for episode `n` of the camera's drift detector. */
function trigger(n: number, detailType: Trigger['detailType'] = 'RetrainingRequested'): Trigger {
  const episode = episodeId(CAM, 'Rgb', 'drift', n);
  return {
    detailType,
    detail: {
      schemaVersion: 1,
      triggerId: triggerId(episode, detailType),
      episodeId: episode,
      cameraId: CAM,
      modality: 'Rgb',
      metric: 'DriftScore',
      detector: 'drift',
      detectorKind: 'window-mean',
      policyId: 'p',
      statistic: 0.9,
      threshold: 0.5,
      sampleCount: 1,
      firstEventAt: new Date(BASE_TIME).toISOString(),
      lastEventAt: new Date(BASE_TIME).toISOString(),
    },
  };
}

/** Records the model version and, when given, decides `triggers`. */
const setModel =
  (version: string, triggers: Trigger[] = []) =>
  (state: CameraState): Mutation<null> => {
    state.mv.Rgb = version;
    return { changed: true, triggers, result: null };
  };
const noChange = (): Mutation<null> => ({ changed: false, triggers: [], result: null });

describe('updateCamera', () => {
  it('retries a conflicting write on the state the other writer left, keeping both changes', async () => {
    const inner = new MemoryStateStore();
    const store = new ContendedStateStore(inner, {
      saves: new Set([1]),
      interloper: (s) => {
        s.mv.Thermal = 'theirs';
      },
    });
    const { publisher } = memoryPorts();
    const seen: (string | undefined)[] = [];
    const out = await updateCamera(
      CAM,
      (state) => {
        seen.push(state.mv.Thermal);
        return setModel('ours')(state);
      },
      { store, publisher },
      NOW,
    );
    expect(seen).toEqual([undefined, 'theirs']);
    expect(out).toMatchObject({ writes: 2, conflicts: 1 });
    const { state, version } = await inner.load(CAM);
    expect(state.mv).toEqual({ Rgb: 'ours', Thermal: 'theirs' });
    expect(version).toBe(2);
  });

  it('gives up with StateConflictError after maxWriteAttempts conflicts and writes nothing of its own', async () => {
    const inner = new MemoryStateStore();
    const store = new ContendedStateStore(inner, {
      saves: new Set([1, 2, 3, 4, 5]),
      interloper: (s) => {
        s.mv.Thermal = `theirs-${(s.mv.Thermal ?? '').length}`;
      },
    });
    const { publisher } = memoryPorts();
    await expect(updateCamera(CAM, setModel('ours'), { store, publisher, maxWriteAttempts: 3 }, NOW)).rejects.toThrow(
      StateConflictError,
    );
    expect(store.interloperWrites).toBe(3);
    expect((await inner.load(CAM)).state.mv.Rgb).toBeUndefined();
  });

  it('commits new triggers in the outbox, publishes them, then clears the outbox', async () => {
    const { store, publisher } = memoryPorts();
    const t = trigger(1);
    const out = await updateCamera(CAM, setModel('v1', [t]), { store, publisher }, NOW);
    expect(publisher.ids()).toEqual([t.detail.triggerId]);
    expect(out.triggers).toEqual([t]);
    expect(out.published).toEqual([t]);
    expect(out.writes).toBe(2); // the state with its outbox, then the cleared outbox
    const { state, version } = await store.load(CAM);
    expect(state.outbox).toEqual([]);
    expect(version).toBe(2);
    expect(await store.pendingOutboxes(NOW + 1, 10)).toEqual([]);
  });

  it('writes nothing and publishes nothing when the state did not change and the outbox is empty', async () => {
    const { store, publisher } = memoryPorts();
    const out = await updateCamera(CAM, noChange, { store, publisher }, NOW);
    expect(out.writes).toBe(0);
    expect(publisher.published).toEqual([]);
    expect((await store.load(CAM)).version).toBe(0);
  });

  it('a crash between the state write and the publish: the trigger stays committed and the next update publishes it with the same triggerId', async () => {
    const { store, publisher } = memoryPorts();
    const first = trigger(1);
    publisher.failNext = 1;
    await expect(updateCamera(CAM, setModel('v1', [first]), { store, publisher }, NOW)).rejects.toThrow(
      'injected: the bus refused',
    );
    expect(publisher.published).toEqual([]);
    const committed = await store.load(CAM);
    expect(committed.state.mv.Rgb).toBe('v1');
    expect(committed.state.outbox.map((t) => t.detail.triggerId)).toEqual([first.detail.triggerId]);
    expect(await store.pendingOutboxes(NOW + 1, 10)).toEqual([CAM]);

    // The next update of the camera (here: one that decides a trigger of its own) publishes the
    // older trigger first, under its original id.
    const second = trigger(2);
    const out = await updateCamera(CAM, setModel('v2', [second]), { store, publisher }, NOW + 1000);
    expect(publisher.ids()).toEqual([first.detail.triggerId, second.detail.triggerId]);
    expect(out.triggers).toEqual([second]);
    expect(out.published.map((t) => t.detail.triggerId)).toEqual([first.detail.triggerId, second.detail.triggerId]);
    expect((await store.load(CAM)).state.outbox).toEqual([]);
    expect(await store.pendingOutboxes(NOW + 2000, 10)).toEqual([]);
  });

  it('an update that changes nothing still flushes a left-over outbox (what the outbox sweep relies on)', async () => {
    const { store, publisher } = memoryPorts();
    const t = trigger(1);
    publisher.failNext = 1;
    await expect(updateCamera(CAM, setModel('v1', [t]), { store, publisher }, NOW)).rejects.toThrow();
    const out = await updateCamera(CAM, noChange, { store, publisher }, NOW + 1000);
    expect(out.published.map((x) => x.detail.triggerId)).toEqual([t.detail.triggerId]);
    expect(out.writes).toBe(1); // only the clearing write
    expect(publisher.ids()).toEqual([t.detail.triggerId]);
    expect((await store.load(CAM)).state.outbox).toEqual([]);
  });

  it('a clearing write that loses to another writer leaves the outbox: the next update republishes the same triggerIds', async () => {
    const inner = new MemoryStateStore();
    // The first save (state + outbox) goes through; the clearing save (the second) is contended.
    const store = new ContendedStateStore(inner, {
      saves: new Set([2]),
      interloper: (s) => {
        s.mv.Thermal = 'theirs';
      },
    });
    const { publisher } = memoryPorts();
    const t = trigger(1);
    const out = await updateCamera(CAM, setModel('v1', [t]), { store, publisher }, NOW);
    expect(out).toMatchObject({ writes: 2, conflicts: 1 });
    expect((await inner.load(CAM)).state.outbox.map((x) => x.detail.triggerId)).toEqual([t.detail.triggerId]);

    await updateCamera(CAM, noChange, { store: inner, publisher }, NOW + 1000);
    expect(publisher.ids()).toEqual([t.detail.triggerId, t.detail.triggerId]);
    expect((await inner.load(CAM)).state.outbox).toEqual([]);
  });
});
