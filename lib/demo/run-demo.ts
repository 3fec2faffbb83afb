// The main job, locally: moto + the stack's resources, the real ingest handler behind a local
// event-source mapping, a simulated fleet sending the wire format, and a verdict per scenario.
// Everything it starts it stops, also on failure.
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  DeleteMessageBatchCommand,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { CameraStateStore } from '../adapters/state-store.js';
import { DEAD_LETTER_ATTRIBUTES, ENV, INGEST, STATE_TABLE } from '../resources.js';
import { DEFAULT_POLICY_INPUT, parsePolicy } from '../core/policy.js';
import { LocalEventSourceMapping, type BatchOutcome } from '../local/event-source-mapping.js';
import { injectFaults, type FaultRule } from '../local/faults.js';
import { drainQueue, queueDepth } from '../local/queues.js';
import { createLocalStack, functionEnv, localClientConfig } from '../local/local-stack.js';
import { deliverLocalHistory, type DeliveryResult } from '../local/history-delivery.js';
import { S3Client } from '@aws-sdk/client-s3';
import { startMoto, type MotoServer } from '../local/moto-server.js';
import { FleetSimulator, type FleetOptions, type SimMessage } from '../sim/fleet-simulator.js';
import { scenario } from '../sim/scenarios.js';
import { monitorPolicy, type MonitorPolicy } from './policy.js';
import { runClosedLoop, type ClosedLoopResult } from './closed-loop.js';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import {
  deadLetterKey,
  summarize,
  type DemoSummary,
  type ObservedDeadLetter,
  type ObservedTrigger,
  type StateCheck,
} from './summary.js';

export interface DemoOptions extends FleetOptions {
  /** Handler invocations at once (Lambda concurrency). */
  pollers?: number;
  batchSize?: number;
  maxBatchingWindowMs?: number;
  /** Local visibility timeout (s): short, so failed records come back within the run. */
  visibilityTimeoutSeconds?: number;
  /** Messages sent but not yet handled before the fleet waits (keeps arrival close to event order). */
  maxBacklog?: number;
  /** Give up (and fail) after this long. */
  timeoutMs?: number;
  onProgress?: (p: DemoProgress) => void;
}

export interface DemoProgress {
  phase: 'starting' | 'sending' | 'draining' | 'checking';
  simulatedMs: number;
  startMs: number;
  endMs: number;
  messagesSent: number;
  messagesTotal: number;
  messagesHandled: number;
  triggers: number;
  failedRecords: number;
}

export interface DemoRun {
  summary: DemoSummary;
  sim: FleetSimulator;
  triggers: ObservedTrigger[];
  wallMs: number;
  mapping: LocalEventSourceMapping['counters'];
  /** Threshold per metric of the running policy, for charts. */
  policy: MonitorPolicy;
  /** The closed-loop phase after the fleet run (one model through the simulated training pipeline). */
  closedLoop: ClosedLoopResult;
  /** The metric history the run left in moto's S3 (after the local delivery), as `vmon backtest --from local` reads it. */
  history?: DeliveryResult;
}

const DEFAULTS = {
  pollers: 3,
  batchSize: 40,
  maxBatchingWindowMs: 100,
  visibilityTimeoutSeconds: 4,
  maxBacklog: 120,
  // The default run (100 cameras, 20 h) takes 1-2 minutes on a shared 2-core machine.
  timeoutMs: 600_000,
};

/**
 * Throttles the handler's state writes for the cameras whose scenario has a storage fault: every
 * write of a 'permanent' one, the first `transientFailures` of a 'transient' one.
 */
function storageFaultRules(sim: FleetSimulator, transientFailures: number): FaultRule[] {
  const rules: FaultRule[] = [];
  for (const cam of sim.cameras) {
    const fault = scenario(cam.scenario).storageFault;
    if (!fault) continue;
    const pk = STATE_TABLE.cameraKey(cam.id);
    rules.push({
      command: 'PutItem',
      fault: 'throttle',
      when: (input) =>
        (input.Item as Record<string, { S?: string }> | undefined)?.[STATE_TABLE.partitionKey.name]?.S === pk,
      ...(fault === 'transient' ? { times: transientFailures } : {}),
    });
  }
  return rules;
}

/** Long-polls the tap queue (every event the monitor publishes) until stopped. */
class TapCollector {
  readonly triggers: ObservedTrigger[] = [];
  private running = true;
  private loop: Promise<void>;
  private readonly abort = new AbortController();
  constructor(
    private readonly sqs: SQSClient,
    private readonly queueUrl: string,
  ) {
    this.loop = this.run();
  }
  private async receiveOnce(wait: number, abortSignal?: AbortSignal): Promise<number> {
    const r = await this.sqs.send(
      new ReceiveMessageCommand({ QueueUrl: this.queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: wait }),
      { abortSignal },
    );
    const msgs = r.Messages ?? [];
    for (const m of msgs) {
      const e = JSON.parse(m.Body!) as { 'detail-type': string; detail: Record<string, unknown> };
      const d = e.detail;
      this.triggers.push({
        detailType: e['detail-type'],
        cameraId: String(d.cameraId),
        metric: d.metric as string | undefined,
        detector: d.detector as string | undefined,
        statistic: d.statistic as number | undefined,
        threshold: d.threshold as number | undefined,
        firedAtMs: Date.parse(String(d.lastEventAt ?? d.firstEventAt)),
      });
    }
    if (msgs.length)
      await this.sqs.send(
        new DeleteMessageBatchCommand({
          QueueUrl: this.queueUrl,
          Entries: msgs.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle! })),
        }),
      );
    return msgs.length;
  }
  private async run() {
    while (this.running) {
      try {
        await this.receiveOnce(1, this.abort.signal);
      } catch {
        if (this.running) await new Promise((r) => setTimeout(r, 200));
      }
    }
  }
  async stop() {
    this.running = false;
    this.abort.abort();
    await this.loop.catch(() => undefined);
  }
  async drainRemaining(): Promise<void> {
    // Events are put on the tap synchronously with the handler's PutEvents, so an empty receive means done.
    while ((await this.receiveOnce(0)) > 0) {
      /* keep reading */
    }
  }
}

async function readDeadLetters(
  sqs: SQSClient,
  queueUrl: string,
): Promise<(ObservedDeadLetter & { messageId: string })[]> {
  return (await drainQueue(sqs, queueUrl, 2)).map((m) => {
    const attrs = m.MessageAttributes ?? {};
    const reason = attrs[DEAD_LETTER_ATTRIBUTES.reason]?.StringValue;
    const index = attrs[DEAD_LETTER_ATTRIBUTES.index]?.StringValue;
    return {
      ...(index !== undefined ? { index } : {}),
      messageId: m.MessageId!,
      sourceMessageId: attrs[DEAD_LETTER_ATTRIBUTES.sourceMessageId]?.StringValue ?? m.MessageId!,
      receiveCount: Number(m.Attributes?.ApproximateReceiveCount ?? 0),
      ...(reason !== undefined ? { reason } : {}),
    };
  });
}

/** Compares each camera's stored newest event per stream with the last one the fleet sent. */
async function checkStoredState(store: CameraStateStore, sim: FleetSimulator): Promise<StateCheck> {
  const stored = new Map<string, Record<string, number>>();
  let next = 0;
  const reader = async () => {
    while (next < sim.cameras.length) {
      const cameraId = sim.cameras[next++]!.id;
      const { state, version } = await store.load(cameraId);
      if (version === 0) continue; // no item
      const newest: Record<string, number> = {};
      for (const [key, entries] of Object.entries(state.streams))
        if (entries.length) newest[key] = entries[entries.length - 1]!.ts;
      stored.set(cameraId, newest);
    }
  };
  await Promise.all(Array.from({ length: 8 }, reader));

  const check: StateCheck = { matching: 0, expected: 0, mismatches: [] };
  for (const cam of sim.cameras) {
    // A camera whose every write fails has no item: its messages are in the DLQ instead.
    if (scenario(cam.scenario).storageFault === 'permanent') {
      check.expected++;
      if (!stored.has(cam.id)) check.matching++;
      else check.mismatches.push(`${cam.id} has a state item although every write was failed`);
      continue;
    }
    check.expected++;
    const want = sim.lastSentByStream(cam.id);
    const got = stored.get(cam.id) ?? {};
    const bad = Object.entries(want).filter(([k, ts]) => got[k] !== ts);
    if (bad.length === 0) check.matching++;
    else
      check.mismatches.push(
        `${cam.id} ${bad[0]![0]}: stored ${got[bad[0]![0]] === undefined ? 'nothing' : new Date(got[bad[0]![0]]!).toISOString()}, sent ${new Date(bad[0]![1]).toISOString()}`,
      );
  }
  return check;
}

let handlerEndpoint: string | undefined;

/** Runs the demo and returns its verdict. One run per process: the handler module reads its env once. */
export async function runDemo(opts: DemoOptions = {}): Promise<DemoRun> {
  const o = {
    ...DEFAULTS,
    ...Object.fromEntries(Object.entries(opts).filter(([, v]) => v !== undefined)),
  } as typeof DEFAULTS & DemoOptions;
  const started = Date.now();
  const deadline = started + o.timeoutMs;
  const sim = new FleetSimulator(opts);
  const progress: DemoProgress = {
    phase: 'starting',
    simulatedMs: sim.startMs,
    startMs: sim.startMs,
    endMs: sim.endMs,
    messagesSent: 0,
    messagesTotal: 0,
    messagesHandled: 0,
    triggers: 0,
    failedRecords: 0,
  };
  const report = () => o.onProgress?.({ ...progress });
  report();

  // Messages are generated up front: the total drives the progress bar and costs ~1 s.
  const messages: SimMessage[] = [...sim.messages()];
  progress.messagesTotal = messages.length;

  const cleanups: (() => Promise<void> | void)[] = [];
  let moto: MotoServer | undefined;
  try {
    moto = await startMoto();
    cleanups.push(() => moto!.stop());
    const maxReceiveCount = INGEST.maxReceiveCount;
    const stack = await createLocalStack(moto.endpoint, {
      visibilityTimeoutSeconds: o.visibilityTimeoutSeconds,
      maxReceiveCount,
    });
    const sqs = new SQSClient(localClientConfig(moto.endpoint));
    const ddb = new DynamoDBClient(localClientConfig(moto.endpoint));
    cleanups.push(() => {
      sqs.destroy();
      ddb.destroy();
    });

    // The real handler, configured as Lambda would configure it: env first, then import.
    if (handlerEndpoint !== undefined && handlerEndpoint !== moto.endpoint) {
      throw new Error('runDemo can run once per process: the ingest handler module has already read its environment');
    }
    Object.assign(process.env, functionEnv(stack));
    // These scenarios judge each camera alone (retrainScope "camera"); model-scope decisions over
    // cohorts have their own demo (lib/demo/fleet-demo.ts, npm run demo -- --fleet).
    process.env[ENV.defaultPolicy] ??= JSON.stringify(parsePolicy({ ...DEFAULT_POLICY_INPUT, retrainScope: 'camera' }));
    // The demo reports injected faults and rejections itself; the handler's own logs stay quiet unless asked for.
    process.env.POWERTOOLS_LOG_LEVEL ??= 'SILENT';
    handlerEndpoint = moto.endpoint;
    const ingest = await import('../../functions/ingest.js');
    const policy = monitorPolicy();

    // A transient fault fails the camera's first write only: its message comes back after the
    // visibility timeout, well before the camera's next upload, so its events stay in order.
    const storageFaults = injectFaults(ingest.clients.dynamodb, storageFaultRules(sim, 1));
    cleanups.push(() => storageFaults.remove());

    // Accounting from the handler's own answers: a message counts as applied when first acknowledged.
    const byMessageId = new Map<string, SimMessage>();
    const acknowledged = new Set<string>();
    const doomed = new Set<string>();
    /** Messages acknowledged or given up on (redriven): a camera's next upload may follow. */
    const settled = new Set<SimMessage>();
    let applied = 0;
    const onBatch = (b: BatchOutcome) => {
      for (const r of b.records) {
        const m = byMessageId.get(r.messageId);
        if (b.failedIds.has(r.messageId)) {
          if (Number(r.attributes.ApproximateReceiveCount) >= maxReceiveCount) {
            doomed.add(r.messageId);
            if (m) settled.add(m);
          }
          continue;
        }
        if (acknowledged.has(r.messageId)) continue;
        acknowledged.add(r.messageId);
        if (m) settled.add(m);
        applied += m?.validEvents ?? 0;
        // The simulated clock shown is how far the pipeline has got, not the fleet.
        if (m && m.sendAtMs > progress.simulatedMs) progress.simulatedMs = m.sendAtMs;
      }
      progress.messagesHandled = acknowledged.size + doomed.size;
      progress.failedRecords += b.failedIds.size;
    };
    const mapping = new LocalEventSourceMapping(sqs, ingest.handler, {
      queueUrl: stack.ingestQueueUrl,
      batchSize: o.batchSize,
      maxBatchingWindowMs: o.maxBatchingWindowMs,
      pollers: o.pollers,
      onBatch,
    }).start();
    cleanups.push(() => mapping.stop());
    const tap = new TapCollector(sqs, stack.tapQueueUrl);
    cleanups.push(() => tap.stop());

    const ticker = setInterval(() => {
      progress.triggers = tap.triggers.length;
      report();
    }, 250);
    cleanups.push(() => clearInterval(ticker));
    const checkTime = (what: string) => {
      if (Date.now() > deadline)
        throw new Error(
          `demo timed out after ${o.timeoutMs / 1000} s while ${what} (${progress.messagesHandled}/${progress.messagesSent} messages handled)`,
        );
    };

    // Send in event-time order, 10 per call, a few calls at once, never too far ahead of the handler.
    progress.phase = 'sending';
    const sendChunk = async (chunk: SimMessage[]) => {
      const r = await sqs.send(
        new SendMessageBatchCommand({
          QueueUrl: stack.ingestQueueUrl,
          Entries: chunk.map((m, i) => ({ Id: String(i), MessageBody: m.body })),
        }),
      );
      if (r.Failed?.length)
        throw new Error(
          `SendMessageBatch refused ${r.Failed.length} message(s): ${r.Failed[0]!.Message ?? r.Failed[0]!.Code}`,
        );
      for (const s of r.Successful ?? []) byMessageId.set(s.MessageId!, chunk[Number(s.Id)]!);
    };
    const inFlight = new Set<Promise<void>>();
    // A camera's next upload waits for its previous one, as an hour apart it would in service: the
    // compressed clock must not let a later hour overtake an earlier one (its events would be late,
    // and the sequential charts skip late events). Not for a camera whose every write fails.
    const previousUpload = new Map<string, SimMessage>();
    const waitsForPrevious = (m: SimMessage) => {
      const prev = previousUpload.get(m.cameraId);
      return prev !== undefined && prev.sendAtMs < m.sendAtMs && !settled.has(prev) && !alwaysFails.has(m.cameraId);
    };
    const alwaysFails = new Set(
      sim.cameras.filter((c) => scenario(c.scenario).storageFault === 'permanent').map((c) => c.id),
    );
    for (let i = 0; i < messages.length; i += 10) {
      const chunk = messages.slice(i, i + 10);
      while (
        progress.messagesSent - progress.messagesHandled > o.maxBacklog ||
        inFlight.size >= 4 ||
        chunk.some(waitsForPrevious)
      ) {
        checkTime('sending');
        if (inFlight.size >= 4) await Promise.race(inFlight);
        else await new Promise((r) => setTimeout(r, 20));
      }
      for (const m of chunk) previousUpload.set(m.cameraId, m);
      const p = sendChunk(chunk).finally(() => inFlight.delete(p));
      inFlight.add(p);
      progress.messagesSent += chunk.length;
    }
    await Promise.all(inFlight);

    progress.phase = 'draining';
    for (;;) {
      checkTime('waiting for the ingest queue to drain');
      // Done when nothing is left, visible or in flight (redrive happens on a poller's receive).
      if ((await queueDepth(sqs, stack.ingestQueueUrl)) === 0) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    await mapping.stop();
    await tap.stop();
    await tap.drainRemaining();
    progress.phase = 'checking';
    progress.triggers = tap.triggers.length;
    report();

    // The metric history: what moto's Firehose received, written as Parquet (Firehose's step, locally).
    let history: DeliveryResult | undefined;
    if (stack.historyBucket) {
      const s3 = new S3Client({ ...localClientConfig(moto.endpoint), forcePathStyle: true });
      try {
        history = await deliverLocalHistory(s3, stack.historyBucket);
      } finally {
        s3.destroy();
      }
    }

    const letters = await readDeadLetters(sqs, stack.deadLetterQueueUrl);
    const redrivenIds = new Set(letters.filter((l) => l.reason === undefined).map((l) => l.messageId));
    const rejectedBySource = new Set(letters.filter((l) => l.reason !== undefined).map((l) => l.sourceMessageId));
    const distinctRejected = new Set(letters.filter((l) => l.reason !== undefined).map(deadLetterKey)).size;
    let sent = 0,
      badPartsSent = 0,
      redriven = 0,
      lost = 0,
      badPartsLost = 0;
    for (const [id, m] of byMessageId) {
      sent += m.validEvents;
      badPartsSent += m.badParts;
      if (redrivenIds.has(id)) redriven += m.validEvents;
      else if (!acknowledged.has(id)) lost += m.validEvents;
      if (m.badParts > 0 && !rejectedBySource.has(id) && !redrivenIds.has(id)) badPartsLost += m.badParts;
    }
    const state = await checkStoredState(new CameraStateStore(ddb, stack.tableName), sim);
    const summary = summarize({
      cameras: sim.cameras,
      triggers: tap.triggers,
      deadLetters: letters,
      events: {
        messagesSent: byMessageId.size,
        sent,
        applied,
        badPartsSent,
        rejected: distinctRejected,
        duplicateDeadLetters: letters.length - new Set(letters.map(deadLetterKey)).size,
        redriven,
        lost,
        badPartsLost,
      },
      state,
      availableActions: policy.actions,
      maxReceiveCount,
      nights: sim.nights(),
    });
    const eventBridge = new EventBridgeClient(localClientConfig(moto.endpoint));
    cleanups.push(() => eventBridge.destroy());
    const lifecycle = await import('../../functions/model-lifecycle.js');
    const closedLoop = await runClosedLoop({
      sqs,
      eventBridge,
      ddb,
      stack,
      ingest: ingest.handler,
      lifecycle: lifecycle.handler,
      startMs: sim.endMs + 3_600_000,
      seed: opts.seed ?? 42,
    });
    return {
      closedLoop,
      summary,
      sim,
      triggers: tap.triggers,
      wallMs: Date.now() - started,
      mapping: { ...mapping.counters },
      policy,
      ...(history ? { history } : {}),
    };
  } finally {
    for (const c of cleanups.reverse()) {
      try {
        await c();
      } catch {
        /* keep stopping the rest */
      }
    }
  }
}
