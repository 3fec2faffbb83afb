// The fleet-decisions demo (`npm run demo -- --fleet`): three models' cohorts through the real ingest
// handler on moto, under the built-in default policy (retrainScope "model"): a drift staggered over 30
// minutes on 40 % of one model's cameras, a lone drifting camera among 20 healthy peers of another, and a
// healthy third model. Samples each cohort's share after every round of messages; the summary and the
// report show the share over time with the threshold and the decisions.
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SendMessageBatchCommand, SQSClient } from '@aws-sdk/client-sqs';
import { DynamoCohortStore } from '../adapters/cohort-store.js';
import { CameraStateStore } from '../adapters/state-store.js';
import { cohortCounts } from '../core/cohort.js';
import { DEFAULT_POLICY } from '../core/policy.js';
import { LocalEventSourceMapping } from '../local/event-source-mapping.js';
import { createLocalStack, functionEnv, localClientConfig } from '../local/local-stack.js';
import { startMoto, type MotoServer } from '../local/moto-server.js';
import { drainQueue, queueDepth } from '../local/queues.js';
import { cohortCameraId, demoCohorts, type CohortPlan } from '../sim/cohort-fleet.js';
import { uploadRounds, type UploadCamera } from '../sim/upload-patterns.js';
import type { ReportDocument } from '../report/html-report.js';
import { ENV } from '../resources.js';

const MIN = 60_000;
export const FLEET_DEMO_START = Date.parse('2026-11-27T06:00:00Z');

export interface PublishedEvent {
  type: string;
  detail: Record<string, unknown>;
}

export interface CohortOutcomeRow {
  plan: CohortPlan;
  drifting: number;
  modelTriggers: PublishedEvent[];
  cameraRetrains: PublishedEvent[];
  anomalies: PublishedEvent[];
  share: { t: number; value: number }[];
  ok: boolean;
}

export interface FleetDemoRun {
  rows: CohortOutcomeRow[];
  events: PublishedEvent[];
  messages: number;
  uploadMinutes: number;
  /** Events too late to apply, over every camera (the offline backlog and the retried uploads must be 0). */
  tooLate: number;
  threshold: number;
  elapsedMs: number;
  ok: boolean;
}

function verdict(row: Omit<CohortOutcomeRow, 'ok'>): boolean {
  if (row.drifting === 0) return row.modelTriggers.length + row.cameraRetrains.length + row.anomalies.length === 0;
  if (row.drifting === 1)
    return row.anomalies.length === 1 && row.modelTriggers.length === 0 && row.cameraRetrains.length === 0;
  return (
    row.modelTriggers.filter((e) => e.type === 'RetrainingRequested').length === 1 &&
    row.cameraRetrains.length === 0 &&
    row.anomalies.length === 0
  );
}

/** One run per process: the ingest handler module reads its environment once. */
export async function runFleetDemo(
  opts: { seed?: number; minutes?: number; uploadMinutes?: number; timeoutMs?: number } = {},
): Promise<FleetDemoRun> {
  const started = Date.now();
  const deadline = started + (opts.timeoutMs ?? 600_000);
  const plans = demoCohorts();
  const uploadMinutes = opts.uploadMinutes ?? 10;
  // Each camera uploads its last `uploadMinutes` of events per message; a period's uploads arrive shuffled
  // (docs/fleet-decisions.md#watermarks): decisions must not depend on the order.
  const cameras = demoUploaders(plans, uploadMinutes);
  const rounds = uploadRounds(cameras, {
    startMs: FLEET_DEMO_START,
    minutes: opts.minutes ?? 180,
    uploadMinutes,
    seed: opts.seed ?? 42,
  });
  const cleanups: (() => Promise<void> | void)[] = [];
  let moto: MotoServer | undefined;
  try {
    moto = await startMoto();
    cleanups.push(() => moto!.stop());
    const stack = await createLocalStack(moto.endpoint, {});
    const sqs = new SQSClient(localClientConfig(moto.endpoint));
    const ddb = new DynamoDBClient(localClientConfig(moto.endpoint));
    cleanups.push(() => {
      sqs.destroy();
      ddb.destroy();
    });
    Object.assign(process.env, functionEnv(stack));
    delete process.env[ENV.defaultPolicy]; // the built-in default: retrainScope "model"
    process.env.POWERTOOLS_LOG_LEVEL ??= 'SILENT';
    const ingest = await import('../../functions/ingest.js');
    const mapping = new LocalEventSourceMapping(sqs, ingest.handler, {
      queueUrl: stack.ingestQueueUrl,
      batchSize: 10,
      maxBatchingWindowMs: 50,
      pollers: 2,
    }).start();
    cleanups.push(() => mapping.stop());

    const cohorts = new DynamoCohortStore(ddb, stack.tableName);
    const share = new Map<string, { t: number; value: number }[]>(plans.map((p) => [p.modelVersion, []]));
    let messages = 0;
    for (const [k, round] of rounds.entries()) {
      for (let i = 0; i < round.length; i += 10) {
        const chunk = round.slice(i, i + 10);
        const r = await sqs.send(
          new SendMessageBatchCommand({
            QueueUrl: stack.ingestQueueUrl,
            Entries: chunk.map((m, k) => ({ Id: String(k), MessageBody: m.body })),
          }),
        );
        if (r.Failed?.length) throw new Error(`SendMessageBatch failed for ${r.Failed.length} message(s)`);
        messages += chunk.length;
      }
      // Rounds of event time are applied in order: wait for this one before sampling the shares.
      while ((await queueDepth(sqs, stack.ingestQueueUrl)) > 0) {
        if (Date.now() > deadline) throw new Error('fleet demo timed out waiting for the ingest queue to drain');
        await new Promise((r) => setTimeout(r, 100));
      }
      const at = FLEET_DEMO_START + ((k + 1) * uploadMinutes - 1) * MIN;
      for (const p of plans) {
        const { head } = await cohorts.loadHead({ modelVersion: p.modelVersion, modality: 'Rgb' });
        share.get(p.modelVersion)!.push({ t: at, value: cohortCounts(head).share });
      }
    }

    const seen = new Set<string>();
    const events: PublishedEvent[] = [];
    for (const m of await drainQueue(sqs, stack.tapQueueUrl, 2)) {
      const e = JSON.parse(m.Body!);
      if (seen.has(e.detail.triggerId)) continue; // at least once: consumers dedupe by triggerId
      seen.add(e.detail.triggerId);
      events.push({ type: e['detail-type'], detail: e.detail });
    }
    const states = new CameraStateStore(ddb, stack.tableName);
    let tooLate = 0;
    for (const c of cameras) tooLate += (await states.load(c.cameraId)).state.tl ?? 0;
    const rows = plans.map((plan) => {
      const mine = events.filter((e) => e.detail.modelVersion === plan.modelVersion);
      const row = {
        plan,
        drifting: plan.onsets.size,
        modelTriggers: mine.filter((e) => e.detail.scope === 'model' && e.type !== 'AlertResolved'),
        cameraRetrains: mine.filter((e) => e.detail.scope === 'camera' && e.type === 'RetrainingRequested'),
        anomalies: mine.filter((e) => e.type === 'CameraAnomalyDetected'),
        share: share.get(plan.modelVersion)!,
      };
      return { ...row, ok: verdict(row) };
    });
    return {
      rows,
      events,
      messages,
      uploadMinutes,
      tooLate,
      threshold: DEFAULT_POLICY.cohort.minShare,
      elapsedMs: Date.now() - started,
      ok: rows.every((r) => r.ok) && tooLate === 0,
    };
  } finally {
    for (const c of cleanups.reverse()) await c();
  }
}

/**
 * The demo's cameras as uploaders: one drifting det-v4 camera is offline from minute 60 to 120 and uploads
 * its backlog first when back; two cls-v1 cameras have an upload retried after their next one (the first
 * attempt lost, or delivered too).
 */
export function demoUploaders(plans: readonly CohortPlan[], uploadMinutes: number): UploadCamera[] {
  const at = (min: number) => Math.floor(min / uploadMinutes) * uploadMinutes;
  return plans.flatMap((plan) =>
    Array.from({ length: plan.cameras }, (_, c): UploadCamera => {
      const onsetMin = plan.onsets.get(c);
      return {
        cameraId: cohortCameraId(plan.modelVersion, c),
        modelVersion: plan.modelVersion,
        ...(onsetMin !== undefined ? { onsetMin } : {}),
        ...(plan.modelVersion === 'det-v4' && c === 1 ? { offline: { fromMin: at(60), toMin: at(120) } } : {}),
        ...(plan.modelVersion === 'cls-v1' && c < 2
          ? { retried: [{ periodMin: at(60 + 30 * c), firstLost: c === 0 }] }
          : {}),
      };
    }),
  );
}

const minutesIn = (ms: number) => `${Math.round((ms - FLEET_DEMO_START) / MIN)} min`;

export function formatFleetSummary(run: FleetDemoRun): string {
  const lines = [
    `model   cameras  drifting  peak share  decision (event time)                          anomalies        status`,
    `------  -------  --------  ----------  ---------------------------------------------  ---------------  ------`,
  ];
  for (const r of run.rows) {
    const peak = Math.max(0, ...r.share.map((s) => s.value));
    const decision = r.modelTriggers.length
      ? r.modelTriggers
          .map(
            (t) =>
              `${t.type} at ${minutesIn(Date.parse(String(t.detail.lastEventAt)))} (${t.detail.affectedCameraCount}/${t.detail.activeCameras})`,
          )
          .join(', ')
      : '-';
    lines.push(
      [
        r.plan.modelVersion.padEnd(6),
        String(r.plan.cameras).padStart(7),
        String(r.drifting).padStart(8),
        peak.toFixed(2).padStart(10),
        decision.padEnd(45),
        (r.anomalies.map((a) => String(a.detail.cameraId)).join(',') || '-').padEnd(15),
        r.ok ? 'ok' : 'FAIL',
      ].join('  '),
    );
  }
  lines.push('');
  lines.push(`threshold: share ≥ ${run.threshold} of active cameras and ≥ ${DEFAULT_POLICY.cohort.minCameras} cameras`);
  lines.push(`uploads: every camera sends ${run.uploadMinutes} min of events per message, shuffled within each period`);
  lines.push(
    `late uploads: det-v4-cam0001 offline 60-120 min (backlog first on return), cls-v1-cam0000/0001 each retry an upload after their next: ${run.tooLate} events too late`,
  );
  const every = Math.max(1, Math.round(30 / run.uploadMinutes));
  lines.push(`share over time (every ${every * run.uploadMinutes} min of event time):`);
  for (const r of run.rows)
    lines.push(
      `  ${r.plan.modelVersion.padEnd(6)} ${r.share
        .filter((_, i) => i % every === every - 1)
        .map((s) => `${minutesIn(s.t)}: ${s.value.toFixed(2)}`)
        .join('  ')}`,
    );
  const cameraScope = run.events.filter((e) => e.detail.scope === 'camera' && e.type === 'RetrainingRequested').length;
  lines.push(
    `events on the bus: ${run.events.length} (camera-scope retrains ${cameraScope}) · ${run.messages} messages · ${(run.elapsedMs / 1000).toFixed(0)} s`,
  );
  return lines.join('\n');
}

export function fleetDemoReport(run: FleetDemoRun): ReportDocument {
  return {
    title: 'VisuTility Monitor · fleet decisions demo',
    subtitle: 'three models through the real ingest handler on moto, default policy (retrainScope "model")',
    summary: run.rows.map((r) => ({ label: r.plan.modelVersion, value: r.ok ? 'ok' : 'FAIL' })),
    tables: [
      {
        title: 'Cohorts',
        columns: ['model', 'cameras', 'drifting', 'expected', 'model decisions', 'anomalies', 'status'],
        rows: run.rows.map((r) => [
          r.plan.modelVersion,
          r.plan.cameras,
          r.drifting,
          r.plan.expected,
          r.modelTriggers
            .map((t) => `${t.type} (${t.detail.affectedCameraCount}/${t.detail.activeCameras})`)
            .join(', ') || '-',
          r.anomalies.map((a) => String(a.detail.cameraId)).join(', ') || '-',
          r.ok ? 'ok' : 'FAIL',
        ]),
      },
    ],
    charts: run.rows.map((r) => ({
      title: `${r.plan.modelVersion} · Rgb · share of active cameras with drift/regression alerts`,
      yName: 'share',
      series: [{ name: `${r.plan.modelVersion} share`, points: r.share }],
      thresholds: [{ value: run.threshold, label: `minShare ${run.threshold}` }],
      // A model decision pinned at the share it was taken at (the line it reads); a lone camera's anomaly
      // is not about the share: a vertical line at its time.
      markers: [...r.modelTriggers, ...r.anomalies].map((e) => ({
        t: Date.parse(String(e.detail.lastEventAt)),
        ...(typeof e.detail.share === 'number' && !e.detail.cameraId ? { value: e.detail.share } : {}),
        label: `${e.type}${e.detail.cameraId ? ` · ${e.detail.cameraId}` : ''}`,
      })),
    })),
  };
}
