// Outbox-sweep Lambda, on a schedule: publishes triggers left in camera outboxes past the grace
// period (see lib/app/outbox-sweep.ts). Wiring only.
import type { Context } from 'aws-lambda';
import { sweepOutboxes, type SweepResult } from '../lib/app/outbox-sweep.js';
import { createObservability, instrumented, recordSweep } from '../lib/adapters/observability.js';
import { OUTBOX_SWEEP } from '../lib/resources.js';
import { SERVICE } from '../lib/telemetry.js';
import { monitorWiring } from './wiring.js';

const obs = createObservability(SERVICE.outboxSweep);
const wiring = monitorWiring(obs);
export const clients = wiring.clients;
const publisher = wiring.deps.publisher;

export const handler = async (_event: unknown, context?: Context): Promise<SweepResult> =>
  instrumented(obs, context, async () => {
    publisher.takeFailures();
    const result = await sweepOutboxes(wiring.deps, {
      nowMs: Date.now(),
      graceMs: OUTBOX_SWEEP.graceSeconds * 1000,
      maxCameras: OUTBOX_SWEEP.maxCamerasPerRun,
    });
    recordSweep(obs, result, publisher.takeFailures());
    return result;
  });
