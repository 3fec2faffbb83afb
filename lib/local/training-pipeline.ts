// A simulated training pipeline for the local stack and the demo: what a real consumer of the
// retraining queue does. It takes RetrainingRequested events off the queue, deduplicates them by
// triggerId (delivery is at least once), "trains" for a while, then puts RetrainingCompleted and
// ModelDeployed back on the monitor bus, which closes the loop through the lifecycle handler.
import { PutEventsCommand, type EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { DeleteMessageBatchCommand, ReceiveMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { isoTime } from '../core/trigger.js';

export const TRAINING_SOURCE = 'visutility.training-sim';

export interface TrainingRun {
  triggerId: string;
  scope: 'camera' | 'model';
  cameraId?: string;
  modality?: string;
  /** The model the trigger is about. */
  modelVersion?: string;
  /** The model this run deploys. */
  deployedVersion: string;
  /** Clock time the request was taken. */
  startedAt: number;
  /** Clock time completion and deployment were reported. */
  finishedAt?: number;
}

export interface TrainingPipelineOptions {
  /** The retraining queue (the stack's RetrainingRequested rule target). */
  queueUrl: string;
  eventBusName: string;
  /** How long one run "trains", in `clock` units (ms). */
  trainingMs: number;
  /** The pipeline's clock (ms): wall time by default; the demo passes its simulated clock. */
  clock?: () => number;
  /** How often to look at the queue and at runs in training (wall ms). */
  pollMs?: number;
  onRun?: (run: TrainingRun, phase: 'started' | 'deployed') => void;
}

export class SimulatedTrainingPipeline {
  readonly runs: TrainingRun[] = [];
  readonly counters = { received: 0, duplicates: 0, deployed: 0, errors: 0 };
  private readonly seen = new Set<string>();
  private running = false;
  private loop?: Promise<void>;
  private readonly abort = new AbortController();
  private readonly clock: () => number;

  constructor(
    private readonly sqs: SQSClient,
    private readonly eventBridge: EventBridgeClient,
    private readonly opts: TrainingPipelineOptions,
  ) {
    this.clock = opts.clock ?? Date.now;
  }

  start(): this {
    this.running = true;
    this.loop = this.run();
    return this;
  }

  async stop(): Promise<void> {
    this.running = false;
    this.abort.abort();
    await this.loop?.catch(() => undefined);
  }

  private async run() {
    while (this.running) {
      try {
        await this.receive();
        await this.finishDue();
      } catch {
        if (!this.running) break;
        this.counters.errors++;
      }
      await new Promise((r) => setTimeout(r, this.opts.pollMs ?? 100));
    }
  }

  /** Takes new requests; a triggerId already taken is a redelivery or a duplicate publish: dropped. */
  private async receive() {
    const r = await this.sqs.send(
      new ReceiveMessageCommand({ QueueUrl: this.opts.queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 0 }),
      { abortSignal: this.abort.signal },
    );
    const msgs = r.Messages ?? [];
    if (msgs.length === 0) return;
    for (const m of msgs) {
      this.counters.received++;
      const event = JSON.parse(m.Body!) as { 'detail-type'?: string; detail?: Record<string, unknown> };
      const d = event.detail ?? {};
      const triggerId = typeof d.triggerId === 'string' ? d.triggerId : undefined;
      if (!triggerId || event['detail-type'] !== 'RetrainingRequested') continue;
      if (this.seen.has(triggerId)) {
        this.counters.duplicates++;
        continue;
      }
      this.seen.add(triggerId);
      const modelVersion =
        (d.referenceWindow as { modelVersion?: string } | undefined)?.modelVersion ??
        (typeof d.modelVersion === 'string' ? d.modelVersion : undefined);
      const run: TrainingRun = {
        triggerId,
        scope: d.scope === 'model' ? 'model' : 'camera',
        ...(typeof d.cameraId === 'string' ? { cameraId: d.cameraId } : {}),
        ...(typeof d.modality === 'string' ? { modality: d.modality } : {}),
        ...(modelVersion ? { modelVersion } : {}),
        deployedVersion: `${modelVersion && modelVersion !== 'unknown' ? modelVersion : 'model'}-r${this.runs.length + 1}`,
        startedAt: this.clock(),
      };
      this.runs.push(run);
      this.opts.onRun?.(run, 'started');
    }
    // Taken (or dropped as duplicates): the dedup set, not the queue, now owns them.
    await this.sqs.send(
      new DeleteMessageBatchCommand({
        QueueUrl: this.opts.queueUrl,
        Entries: msgs.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle! })),
      }),
    );
  }

  /** Reports every run whose training time has passed: completion, then deployment, at the clock's time. */
  private async finishDue() {
    const now = this.clock();
    for (const run of this.runs) {
      if (run.finishedAt !== undefined || now < run.startedAt + this.opts.trainingMs) continue;
      const at = isoTime(now);
      // Camera scope names the camera; model scope names the cohort (modelVersion + modality).
      const subject =
        run.scope === 'camera' && run.cameraId
          ? { cameraId: run.cameraId }
          : { ...(run.modelVersion ? { modelVersion: run.modelVersion } : {}) };
      const common = { ...subject, ...(run.modality ? { modality: run.modality } : {}), triggerId: run.triggerId, at };
      const entry = (type: string, detail: object) => ({
        EventBusName: this.opts.eventBusName,
        Source: TRAINING_SOURCE,
        DetailType: type,
        Detail: JSON.stringify(detail),
      });
      const r = await this.eventBridge.send(
        new PutEventsCommand({
          Entries: [
            entry('RetrainingCompleted', common),
            entry('ModelDeployed', run.scope === 'camera' ? { ...common, modelVersion: run.deployedVersion } : common),
          ],
        }),
      );
      if (r.FailedEntryCount) throw new Error(`PutEvents refused ${r.FailedEntryCount} entries`);
      run.finishedAt = now;
      this.counters.deployed++;
      this.opts.onRun?.(run, 'deployed');
    }
  }
}
