// (Replay) The streaming replay engine (lib/replay): its rate per core through the production path next
// to JSON.parse of the same lines; its parallel efficiency on worker threads; a simulated healthy
// fleet-month at the real rate (lib/sim/fleet-month.ts) through the default policy, with drift
// scenarios for the model-scope delay; and the paper figure of a fleet-month on 1,000 Lambda workers
// (assumptions in docs/performance.md "Replay engine").
import { cpus } from 'node:os';
import { DEFAULT_POLICY } from '../../lib/core/policy.js';
import { isModelScope, type Trigger } from '../../lib/core/trigger.js';
import { replay } from '../../lib/replay/engine.js';
import { replayParallel, type SourceSpec } from '../../lib/replay/parallel.js';
import {
  FLEET_MONTH_MODELS,
  fleetMonthCameras,
  fleetMonthEvents,
  fleetMonthSource,
  type FleetMonthOptions,
} from '../../lib/sim/fleet-month.js';
import { WORKLOAD_NOW_MS, workloadLines } from './workload.js';

const DAY = 86_400_000;
const FLEET_MONTH_MODULE = new URL('../../lib/sim/fleet-month.ts', import.meta.url).href;
const NOW = Date.UTC(2027, 0, 1);
const cpuSeconds = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
};

/**
 * Events per CPU-second of this thread (CPU time: the machine is shared, wall time would measure the
 * neighbours): the engine on in-memory lines (parse, validate, apply, cohorts) and JSON.parse of the same
 * lines. Best of `rounds`.
 */
export async function benchReplayCore(events: number, rounds = 3) {
  const lines = workloadLines(events, 'rp');
  const batches: { line: number; text: string }[][] = [];
  for (let i = 0; i < lines.length; i += 10_000)
    batches.push(lines.slice(i, i + 10_000).map((text, k) => ({ line: i + k + 1, text })));
  let floor = 0,
    engine = 0,
    triggers = 0;
  for (let r = 0; r < rounds; r++) {
    let t = cpuSeconds();
    let sink = 0;
    for (const l of lines) sink += (JSON.parse(l) as { value: number }).value;
    if (Number.isNaN(sink)) throw new Error('unreachable');
    floor = Math.max(floor, lines.length / (cpuSeconds() - t));
    t = cpuSeconds();
    const res = await replay(
      { lines: () => batches },
      { policies: { policy: DEFAULT_POLICY }, nowMs: WORKLOAD_NOW_MS },
    );
    engine = Math.max(engine, res.totals.events / (cpuSeconds() - t));
    if (res.totals.events !== lines.length) throw new Error(`replay read ${res.totals.events} of ${lines.length}`);
    triggers = res.totals.triggers;
  }
  return { replayEventsPerSecPerCore: engine, replayFloorEventsPerSec: floor, events: lines.length, triggers };
}

/**
 * The same generated fleet on 1 and on N worker threads (wall time; thread start-up included): N-worker
 * events/s ÷ (N × 1-worker events/s). Also the CPU-time ratio (work added by sharding, whatever the load).
 */
export async function benchReplayParallel(o: { cameras: number; days: number; workers?: number }) {
  const workers = o.workers ?? cpus().length;
  const spec: SourceSpec = {
    module: FLEET_MONTH_MODULE,
    export: 'fleetMonthSource',
    args: { cameras: o.cameras, days: o.days, seed: 3, startMs: Date.UTC(2026, 2, 1) } satisfies FleetMonthOptions,
  };
  const run = async (n: number) => {
    const c = cpuSeconds(),
      t = performance.now();
    // One worker on a thread too, so both sides pay the same start-up.
    const r = await replayParallel(spec, {
      policies: { policy: DEFAULT_POLICY },
      nowMs: NOW,
      workers: n,
      threads: true,
    });
    return {
      eventsPerSec: r.totals.events / ((performance.now() - t) / 1000),
      cpuPerEvent: (cpuSeconds() - c) / r.totals.events,
      ids: r.triggers.map((x) => x.detail.triggerId).join(),
    };
  };
  const one = await run(1);
  const many = await run(workers);
  if (one.ids !== many.ids) throw new Error('replay on worker threads decided differently from one thread');
  return {
    workers,
    replayParallelEfficiency: many.eventsPerSec / (workers * one.eventsPerSec),
    replayParallelCpuEfficiency: one.cpuPerEvent / many.cpuPerEvent,
    oneWorkerEventsPerSec: one.eventsPerSec,
    eventsPerSec: many.eventsPerSec,
  };
}

const countBy = (ts: readonly Trigger[], f: (t: Trigger) => boolean) => ts.filter(f).length;
const modelRetrain = (t: Trigger) => t.detailType === 'RetrainingRequested' && isModelScope(t.detail);

/** The healthy fleet-month and the drift runs, on `workers` threads. */
export async function benchFleetMonth(o: {
  cameras: number;
  days: number;
  workers?: number;
  drift: { cameras: number; days: number; seeds: number[] };
}) {
  const workers = o.workers ?? cpus().length;
  const healthy: FleetMonthOptions = { cameras: o.cameras, days: o.days, seed: 21, startMs: Date.UTC(2026, 3, 1) };
  const run = (args: FleetMonthOptions) =>
    replayParallel(
      { module: FLEET_MONTH_MODULE, export: 'fleetMonthSource', args },
      { policies: { policy: DEFAULT_POLICY }, nowMs: NOW, workers },
    );
  const t0 = performance.now();
  const h = await run(healthy);
  const seconds = (performance.now() - t0) / 1000;
  const mergeSeconds = h.mergeMs / 1000;
  const models = new Set(h.cohorts.map((c) => `${c.cohort.modelVersion}#${c.cohort.modality}`)).size;
  const modelMonths = (models * o.days) / 30;
  const cameraDays = o.cameras * o.days;
  const byType: Record<string, number> = {};
  for (const t of h.triggers) {
    const k = `${t.detailType}${isModelScope(t.detail) ? ' (model)' : ''}`;
    byType[k] = (byType[k] ?? 0) + 1;
  }
  // Drift runs: each model drifts once, at a different hour of its second day (day and night).
  const delaysMin: number[] = [];
  let drifts = 0;
  for (const seed of o.drift.seeds) {
    const startMs = Date.UTC(2026, 4, 1);
    const plan = FLEET_MONTH_MODELS.map((modelVersion, i) => ({
      modelVersion,
      onsetMs: startMs + DAY + ((2 + 4 * i + seed) % 24) * 3_600_000,
    }));
    const args: FleetMonthOptions = { cameras: o.drift.cameras, days: o.drift.days, seed, startMs, drifts: plan };
    const present = new Set(fleetMonthCameras(args).map((c) => c.modelVersion));
    const r = await run(args);
    for (const d of plan) {
      if (!present.has(d.modelVersion)) continue;
      drifts++;
      const fired = r.triggers.find(
        (t) => modelRetrain(t) && (t.detail as { modelVersion?: string }).modelVersion === d.modelVersion,
      );
      if (fired) delaysMin.push((Date.parse(fired.detail.lastEventAt) - d.onsetMs) / 60_000);
    }
  }
  delaysMin.sort((a, b) => a - b);
  const p50 = delaysMin.length ? delaysMin[Math.floor((delaysMin.length - 1) / 2)]! : Number.NaN;
  return {
    fleetMonthFalseModelRetrainsPerModelMonth: countBy(h.triggers, modelRetrain) / modelMonths,
    fleetMonthFalseAnomaliesPer1kCameraDays:
      (countBy(h.triggers, (t) => t.detailType === 'CameraAnomalyDetected') * 1000) / cameraDays,
    fleetMonthModelDriftDelayP50Min: p50,
    fleetMonthEvents: h.totals.events,
    fleetMonthCameras: o.cameras,
    fleetMonthDays: o.days,
    fleetMonthModels: models,
    fleetMonthTriggersByType: byType,
    fleetMonthSeconds: seconds,
    fleetMonthEventsPerSec: h.totals.events / seconds,
    fleetMonthRounds: h.rounds,
    fleetMonthMergeSeconds: mergeSeconds,
    fleetMonthDriftsDetected: delaysMin.length,
    fleetMonthDrifts: drifts,
    fleetMonthDriftDelaysMin: delaysMin,
    workers,
  };
}

/** Events per CPU-second of one thread on already-valid events (what a Lambda worker replays from Parquet). */
export async function benchEventsPerCore(o: { cameras: number; days: number }) {
  const args: FleetMonthOptions = { cameras: o.cameras, days: o.days, seed: 4, startMs: Date.UTC(2026, 2, 1) };
  let t = cpuSeconds();
  let n = 0;
  for (const b of fleetMonthEvents(args)) n += b.length;
  const generate = cpuSeconds() - t;
  t = cpuSeconds();
  const r = await replay(fleetMonthSource(args), { policies: { policy: DEFAULT_POLICY }, nowMs: NOW });
  const total = cpuSeconds() - t;
  return { eventsPerSecPerCore: n / Math.max(total - generate, 1e-9), events: r.totals.events, mergeMs: r.mergeMs };
}

/**
 * The paper figure: a fleet-month (10,000 cameras × 5 metrics / 10 s × 30 days) on a Distributed Map of
 * 1,000 Lambda workers. Each worker replays its cameras (camera-bucket partitions of the history) at the
 * measured rate per core (1 vCPU at 1,769 MB), reading its Parquet share from S3 at `s3MBps`; the map
 * starts its children at `startPerSec`; the merge replays the member records in one Lambda.
 */
export function fleetMonthOnLambdas(o: {
  eventsPerSecPerCore: number;
  events?: number;
  workers?: number;
  bytesPerEvent?: number;
  s3MBps?: number;
  startPerSec?: number;
  mergeSeconds?: number;
  rounds?: number;
}) {
  const events = o.events ?? 10_000 * 5 * 8640 * 30.4;
  const workers = o.workers ?? 1000;
  const bytesPerEvent = o.bytesPerEvent ?? 12;
  const s3MBps = o.s3MBps ?? 80;
  const startPerSec = o.startPerSec ?? 100;
  const perWorker = events / workers;
  const computeS = perWorker / o.eventsPerSecPerCore;
  // Reads overlap compute (the reader prefetches the next object); the slower of the two bounds a worker.
  const readS = (perWorker * bytesPerEvent) / (s3MBps * 1e6);
  const workerS = Math.max(computeS, readS) + 2; // + cold start and result write
  const rampS = workers / startPerSec;
  const mergeS = o.mergeSeconds ?? 60;
  const rounds = o.rounds ?? 2;
  // Round 2 reruns only the shards whose cameras read a wrong prior (new cameras): bounded by one worker.
  const totalS = rampS + workerS + mergeS + (rounds - 1) * (workerS + mergeS);
  return { hours: totalS / 3600, perWorker, computeS, readS, rampS, mergeS, rounds, events };
}
