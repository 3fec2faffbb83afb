// The outbox sweep: publishes triggers that a committed state write decided but no invocation
// published (the function died after the write and its message was parked in the DLQ, or the camera
// went quiet). Runs on a schedule; finds such cameras through the sparse pending-outbox index.
import { updateCamera, type CameraUpdateDeps } from './camera-update.js';
import { sweepCohortOutboxes, type CohortStore } from './cohort-signals.js';

export interface SweepResult {
  cameras: number;
  published: number;
  /** Cohort heads whose outbox was published (model-scope decisions; docs/fleet-decisions.md). */
  cohorts?: number;
  failed: { cameraId: string; error: string }[];
}

export async function sweepOutboxes(
  deps: CameraUpdateDeps & { cohorts?: CohortStore },
  opts: { nowMs: number; graceMs: number; maxCameras: number },
): Promise<SweepResult> {
  const result: SweepResult = { cameras: 0, published: 0, failed: [] };
  if (deps.cohorts) {
    const c = await sweepCohortOutboxes(
      { cohorts: deps.cohorts, publisher: deps.publisher },
      { nowMs: opts.nowMs, graceMs: opts.graceMs, maxCohorts: opts.maxCameras },
    );
    const cohorts = new Set(c.published.map((t) => `${t.detail.modelVersion}#${t.detail.modality}`)).size;
    if (cohorts > 0) result.cohorts = cohorts;
    result.published += c.published.length;
  }
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
