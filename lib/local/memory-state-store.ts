// The state-store port in memory, with the same conditional-write semantics as the DynamoDB table:
// a save lands only on the expected version, and a conflict hands back the current state. Each
// camera's state is kept as the very item the table would hold (cameraItem), so every load and save
// pays decode and encode, and the deflate of a large state, as on DynamoDB.
// Used by the in-process bench and the use-case unit tests.
import type { SaveResult, StateStore, VersionedState } from '../app/ports.js';
import type { CameraState } from '../core/camera-state.js';
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { cameraItem, fromItem } from '../adapters/state-store.js';

interface StoredItem {
  item: Record<string, AttributeValue>;
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
    return { state: fromItem(item?.item).state, version: item?.version ?? 0 };
  }

  async save(cameraId: string, state: CameraState, expected: number, nowMs: number): Promise<SaveResult> {
    if ((this.items.get(cameraId)?.version ?? 0) !== expected) return { ok: false, current: await this.load(cameraId) };
    const version = expected + 1;
    this.items.set(cameraId, {
      item: cameraItem(cameraId, state, version, nowMs),
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
