// The state-store port in memory, with the same conditional-write semantics as the DynamoDB table:
// a save lands only on the expected version, and a conflict hands back the current state. Each
// camera's state is kept encoded, so every load and save pays decode and encode as on DynamoDB.
// Used by the in-process bench and the use-case unit tests.
import type { SaveResult, StateStore, VersionedState } from '../app/ports.js';
import type { CameraState } from '../core/camera-state.js';
import { decodeState, encodeState, type EncodedState } from '../core/state-codec.js';

interface StoredItem {
  encoded: EncodedState;
  version: number;
  updatedAtMs: number;
  /** The outbox held triggers when written (the table's sparse pending-outbox index). */
  pendingOutbox: boolean;
}

export class MemoryStateStore implements StateStore {
  private readonly items = new Map<string, StoredItem>();
  /** Successful saves. */
  writes = 0;

  async load(cameraId: string): Promise<VersionedState> {
    const item = this.items.get(cameraId);
    return { state: decodeState(item?.encoded), version: item?.version ?? 0 };
  }

  async save(cameraId: string, state: CameraState, expected: number, nowMs: number): Promise<SaveResult> {
    if ((this.items.get(cameraId)?.version ?? 0) !== expected) return { ok: false, current: await this.load(cameraId) };
    const version = expected + 1;
    this.items.set(cameraId, {
      encoded: encodeState(state),
      version,
      updatedAtMs: nowMs,
      pendingOutbox: state.outbox.length > 0,
    });
    this.writes++;
    return { ok: true, version };
  }

  async pendingOutboxes(updatedBeforeMs: number, limit: number): Promise<string[]> {
    const out: string[] = [];
    for (const [cameraId, item] of this.items) {
      if (out.length >= limit) break;
      if (item.pendingOutbox && item.updatedAtMs < updatedBeforeMs) out.push(cameraId);
    }
    return out;
  }

  /** Cameras with a stored state. */
  cameras(): string[] {
    return [...this.items.keys()];
  }
}
