// The outbox sweep: publishes triggers that a committed state write decided but no invocation
// published (the function died after the write and its message was parked in the DLQ, or the camera
// went quiet). Runs on a schedule; finds such cameras through the sparse pending-outbox index.
import { updateCamera, type CameraUpdateDeps } from './camera-update.js';

export interface SweepResult {
  cameras: number;
  published: number;
  failed: { cameraId: string; error: string }[];
}

export async function sweepOutboxes(
  deps: CameraUpdateDeps,
  opts: { nowMs: number; graceMs: number; maxCameras: number },
): Promise<SweepResult> {
  const result: SweepResult = { cameras: 0, published: 0, failed: [] };
  for (const cameraId of await deps.store.pendingOutboxes(opts.nowMs - opts.graceMs, opts.maxCameras)) {
    result.cameras++;
    try {
      // No change to the state: updateCamera publishes what the outbox holds and clears it.
      const out = await updateCamera(
        cameraId,
        () => ({ changed: false, triggers: [], result: null }),
        deps,
        opts.nowMs,
      );
      result.published += out.published.length;
    } catch (err) {
      result.failed.push({ cameraId, error: `${(err as Error).name}: ${(err as Error).message}` });
    }
  }
  return result;
}
