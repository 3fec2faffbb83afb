// In-memory ports for the use-case unit tests: the state store is lib/local's MemoryStateStore
// (conditional writes); the trigger and dead-letter sinks record what they get and fail on demand,
// and ContendedStateStore lets another writer in before a save, as a concurrent invocation would.
import type {
  DeadLetter,
  DeadLetterSink,
  SaveResult,
  StateStore,
  TriggerSink,
  VersionedState,
} from '../../lib/app/ports.js';
import type { CameraState } from '../../lib/core/camera-state.js';
import type { Trigger } from '../../lib/core/trigger.js';
import { MemoryStateStore } from '../../lib/local/memory-state-store.js';

export class RecordingTriggerSink implements TriggerSink {
  /** Every trigger that reached the bus, in order (a republished one appears again). */
  readonly published: Trigger[] = [];
  /** The next this-many publish calls throw and publish nothing (a 5xx, or the process dying). */
  failNext = 0;
  async publish(triggers: readonly Trigger[]): Promise<void> {
    if (this.failNext > 0) {
      this.failNext--;
      throw new Error('injected: the bus refused the triggers');
    }
    this.published.push(...triggers);
  }
  ids(): string[] {
    return this.published.map((t) => t.detail.triggerId);
  }
}

export class RecordingDeadLetterSink implements DeadLetterSink {
  readonly letters: DeadLetter[] = [];
  /** Source message ids whose letters cannot be sent (the queue refuses them). */
  readonly refused = new Set<string>();
  async send(letters: readonly DeadLetter[]): Promise<Set<string>> {
    const failed = new Set<string>();
    for (const l of letters) {
      if (this.refused.has(l.sourceMessageId)) failed.add(l.sourceMessageId);
      else this.letters.push(l);
    }
    return failed;
  }
}

export interface Contention {
  /** Which saves of the camera meet a concurrent writer (1 = its first save). */
  saves: ReadonlySet<number>;
  /** Only this camera's saves (default: every camera's, each counted on its own). */
  cameraId?: string;
  /** What the concurrent writer does to the state before writing it. */
  interloper: (state: CameraState) => void;
}

/** A state store where a concurrent writer gets in before chosen saves, so those saves conflict. */
export class ContendedStateStore implements StateStore {
  interloperWrites = 0;
  private readonly saves = new Map<string, number>();
  constructor(
    readonly inner: MemoryStateStore,
    private readonly contention: Contention,
  ) {}
  load(cameraId: string): Promise<VersionedState> {
    return this.inner.load(cameraId);
  }
  async save(cameraId: string, state: CameraState, expected: number, nowMs: number): Promise<SaveResult> {
    const n = (this.saves.get(cameraId) ?? 0) + 1;
    this.saves.set(cameraId, n);
    const { saves, cameraId: only, interloper } = this.contention;
    if (saves.has(n) && (only === undefined || only === cameraId)) {
      const theirs = await this.inner.load(cameraId);
      interloper(theirs.state);
      const saved = await this.inner.save(cameraId, theirs.state, theirs.version, nowMs);
      if (!saved.ok) throw new Error('the interloper itself conflicted');
      this.interloperWrites++;
    }
    return this.inner.save(cameraId, state, expected, nowMs);
  }
  pendingOutboxes(updatedBeforeMs: number, limit: number): Promise<string[]> {
    return this.inner.pendingOutboxes(updatedBeforeMs, limit);
  }
}

export function memoryPorts() {
  return {
    store: new MemoryStateStore(),
    publisher: new RecordingTriggerSink(),
    deadLetters: new RecordingDeadLetterSink(),
  };
}
