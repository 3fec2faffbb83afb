// The fleet cost section of `npm run bench`: runs fleet.ts twice in its own processes (per-camera
// packing on the defaults, and today's mixed packing), sets them beside the naive port, CloudWatch
// metrics + alarms and the floor, and returns the flat results, the table rows and a Mermaid chart
// of cost per camera-month against fleet size and linger.
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DEFAULT_LINGER_MS, MIXED_LINGER_MS } from '../../lib/client/metric-publisher.js';
import { PROJECT_ROOT } from '../../lib/local/moto-server.js';
import { DEFAULTS as STACK_DEFAULTS } from '../../lib/stack/stack-config.js';
import {
  DEFAULT_FLEET,
  cloudWatchUsdPerCameraMonth,
  eventsPerCameraMonth,
  floorUsdPerMillionEvents,
  modelUsdPerMillionEvents,
  steadyStateWru,
  steadyUsdPerMillionEvents,
  type FleetRun,
} from './fleet.js';
import { DEFAULT_CAMERA_CONCURRENCY } from '../../lib/app/ingest-batch.js';
import { AWS_CALL_LATENCY_MS } from './aws-latency.js';
import { PRICES } from './prices.js';
import { historyUsdPerCameraMonth, measureHistoryBytes, REFERENCE_HISTORY } from './history-cost.js';
import type { Row } from './table.js';

export interface FleetSizes {
  packed: { cameras: number; durationS: number };
  unpacked: { cameras: number; durationS: number };
}

/**
 * What the stack costs whatever the traffic, per month (list prices): the dashboard, its alarms,
 * the alarm topic's KMS key, and Lambda's SQS pollers long-polling two idle queues (5 pollers
 * each, one 20 s receive at a time).
 */
export const STACK_FIXED_USD_PER_MONTH = (() => {
  const alarms = 11;
  const idleReceives = (2 * 5 * (30.4375 * 86_400)) / 20;
  return 3 + alarms * 0.1 + 1 + (idleReceives / 1e6) * PRICES.sqs.usdPerMillionRequests;
})();

/** Runs fleet.ts in its own process (the handler reads its environment once per process). */
export function spawnFleet(args: string[]): FleetRun {
  const script = join(dirname(fileURLToPath(import.meta.url)), 'fleet.ts');
  const r = spawnSync(process.execPath, ['--import', 'tsx', script, ...args], {
    cwd: PROJECT_ROOT,
    encoding: 'utf8',
    maxBuffer: 1 << 24,
  });
  if (r.status !== 0) throw new Error(`fleet run failed (${r.status}): ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as FleetRun;
}

export interface FleetSection {
  results: {
    fleetUsdPerMillionEvents: number;
    fleetUsdPerCameraMonth: number;
    /**
     * A running fleet's $ (fleet.ts `steadyUsdPerMillionEvents`): one state write per camera per linger at
     * `fleetWruPerCameraWrite`, the run's reads per write, Lambda, EventBridge and SQS; the fixed stack per
     * camera in the camera-month. The two keys above are the run's own (first registrations included).
     */
    fleetSteadyUsdPerMillionEvents: number;
    fleetSteadyUsdPerCameraMonth: number;
    fleetUnpackedUsdPerMillionEvents: number;
    fleetCloudWatchUsdPerCameraMonth: number;
    fleetFloorUsdPerMillionEvents: number;
    fleetWritesPerEvent: number;
    fleetAddedDelayS: number;
    fleetCameras: number;
    fleetIntervalS: number;
    fleetSimulatedCameras: number;
    /** Virtual seconds the packed fleet ran (writes per event include its one-off cohort registrations). */
    fleetSimulatedDurationS: number;
    fleetLingerS: number;
    fleetEventsLost: number;
    fleetCapacityCameras: number;
    /** Lambda $ per million events as billed: CPU time + round trips × documented AWS latencies. */
    fleetLambdaUsdPerMillionEvents: number;
    /** Lambda $ per million events at the durations measured on moto (reference only). */
    fleetLambdaMotoUsdPerMillionEvents: number;
    /** Median modelled invocation on AWS, ms, and its CPU part. */
    fleetModelledBatchMs: number;
    fleetHandlerCpuMs: number;
    /**
     * WRU per camera state write in steady state at the reference fleet (fleet.ts `steadyStateWru`): state
     * units per write × writes per camera-hour, plus one cohort registration per camera-hour at the
     * reference cohort size, over the writes per camera-hour. The run's own ratio (every registration
     * charged to a few minutes of writes) is `fleetWruPerCameraWriteInRun`.
     */
    fleetWruPerCameraWrite: number;
    fleetWruPerCameraWriteInRun: number;
    /** Cohort bookkeeping WRU per registration: in the run, and at the reference fleet's cohort size. */
    fleetWruPerRegistrationInRun: number;
    fleetWruPerRegistration: number;
    /** Member records per shard item and its size at the reference fleet (from the measured bytes per member). */
    fleetReferenceMembersPerShard: number;
    fleetReferenceShardBytes: number;
    /** The largest camera item written, bytes. */
    fleetLargestItemBytes: number;
    /** The metric history per camera-month, a year kept (scripts/bench/history-cost.ts). */
    fleetHistoryUsdPerCameraMonth: number;
    fleetHistoryParquetBytesPerEvent: number;
  };
  packed: FleetRun;
  unpacked: FleetRun;
  title: string;
  rows: Row[];
  chart: string;
}

export function benchFleet(sizes: FleetSizes, naiveUsdPerMillionEvents: number): FleetSection {
  const shape = DEFAULT_FLEET;
  const common = ['--interval-s', String(shape.intervalS), '--cameras-per-host', String(shape.camerasPerHost)];
  const packed = spawnFleet([
    ...common,
    '--cameras',
    String(sizes.packed.cameras),
    '--duration-s',
    String(sizes.packed.durationS),
  ]);
  const unpacked = spawnFleet([
    ...common,
    '--mixed',
    '--cameras',
    String(sizes.unpacked.cameras),
    '--duration-s',
    String(sizes.unpacked.durationS),
  ]);
  const perCameraMonth = (usdPerM: number) => (usdPerM * eventsPerCameraMonth(shape.intervalS)) / 1e6;
  const fixedPerCamera = STACK_FIXED_USD_PER_MONTH / shape.cameras;
  const ours = packed.usdPerMillionEvents;
  const steady = steadyStateWru(packed.cohortCost, DEFAULT_LINGER_MS, shape.cameras);
  const oursMonth = perCameraMonth(ours) + fixedPerCamera;
  const steadyUsd = steadyUsdPerMillionEvents(packed, steady, shape.intervalS, DEFAULT_LINGER_MS);
  const steadyMonth = perCameraMonth(steadyUsd) + fixedPerCamera;
  const cloudWatch = cloudWatchUsdPerCameraMonth(shape);
  const floor = floorUsdPerMillionEvents(packed.avgEventBytes, shape.intervalS, DEFAULT_LINGER_MS);
  // Capacity: maxConcurrency invocations, each taking a measured batch in a measured time; a
  // camera sends one message per linger.
  const messagesPerSecond =
    (STACK_DEFAULTS.maxConcurrency * packed.medianBatchMessages) / (packed.medianBatchMs / 1000);
  const capacity = Math.floor(messagesPerSecond * (DEFAULT_LINGER_MS / 1000));

  const n = (x: number, d = 0) =>
    Number.isFinite(x) ? x.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d }) : 'n/a';
  const usd = (v: number) => `$${v < 0.1 ? v.toFixed(4) : v.toFixed(2)}`;
  const x = (a: number, b: number) => `${n(a / b, a / b >= 10 ? 0 : 2)}×`;
  const met = (ok: boolean) => (ok ? 'met' : 'MISSED');
  const parts = (r: FleetRun) =>
    `SQS ${usd(r.usd.sqs)}, Lambda ${usd(r.usd.lambda)}, DynamoDB ${usd(r.usd.dynamodb)}, EventBridge ${usd(r.usd.eventBridge)}`;
  const rows: Row[] = [];
  rows.push([
    `(a) defaults: per-camera packing, linger ${DEFAULT_LINGER_MS / 1000} s, batch ${STACK_DEFAULTS.batchSize} / ${STACK_DEFAULTS.batchingWindowSeconds} s window (${parts(packed)})`,
    `${usd(ours)}/M; ${usd(oursMonth)}/camera-month`,
    `${n(packed.events)} events, ${n(packed.messages)} messages, ${packed.invocations} invocations`,
    '',
    '≤$0.08/M, ≤$0.10/camera-month',
    met(ours <= 0.08 && oursMonth <= 0.1),
  ]);
  rows.push([
    `(b) today's unpacked producer (mixed packing, ${MIXED_LINGER_MS} ms) (${parts(unpacked)})`,
    `${usd(unpacked.usdPerMillionEvents)}/M`,
    `${n(unpacked.events)} events, ${n(unpacked.messages)} messages, ${unpacked.invocations} invocations`,
    `(b)/(a) ${x(unpacked.usdPerMillionEvents, ours)}`,
    '≥15× cheaper',
    met(unpacked.usdPerMillionEvents / ours >= 15),
  ]);
  rows.push([
    '(c) naive per-event port (measured above)',
    `${usd(naiveUsdPerMillionEvents)}/M`,
    '',
    `(c)/(a) ${x(naiveUsdPerMillionEvents, ours)}`,
    '',
    '',
  ]);
  rows.push([
    `(d) CloudWatch: a metric + a standard alarm per camera-metric, PutMetricData per host per interval`,
    `${usd(cloudWatch)}/camera-month`,
    `ours ${usd(oursMonth)}/camera-month`,
    `(d)/(a) ${x(cloudWatch, oursMonth)}`,
    '≥10× cheaper',
    met(cloudWatch / oursMonth >= 10),
  ]);
  rows.push([
    '(e) floor: SQS at full 64 KiB chunks + one 1-WRU write per camera per linger',
    `${usd(floor)}/M`,
    `ours without Lambda ${usd(ours - packed.usd.lambda)}/M (${x(ours - packed.usd.lambda, floor)})`,
    `(a)/(e) ${x(ours, floor)}`,
    '≤1.5×',
    met(ours / floor <= 1.5),
  ]);
  rows.push([
    `(a') defaults in steady state: one state write per camera per linger at ${n(steady.unitsPerCameraWrite, 3)} WRU (one cohort registration per camera-hour at the reference size) and ${n(packed.readUnits / Math.max(1, packed.writes), 2)} RRU, the run's Lambda, EventBridge and SQS; history not included`,
    `${usd(steadyUsd)}/M; ${usd(steadyMonth)}/camera-month`,
    `(a) in the run ${usd(ours)}/M (its ${packed.durationS} s carry every camera's first registration)`,
    `(a')/(e) ${x(steadyUsd, floor)}`,
    '≤$0.06/camera-month, ≤1.5× the floor',
    met(steadyMonth <= 0.06 && steadyUsd / floor <= 1.5),
  ]);
  rows.push([
    '(a) writes per event; added detection delay (longest hold in a publisher, virtual clock)',
    `${n(packed.writesPerEvent, 4)}; ${n(packed.maxHoldS, 1)} s`,
    `(b) ${n(unpacked.writesPerEvent, 2)}; ${n(unpacked.maxHoldS, 1)} s`,
    '',
    `delay ≤ linger ${DEFAULT_LINGER_MS / 1000} s`,
    met(packed.maxHoldS <= DEFAULT_LINGER_MS / 1000),
  ]);
  rows.push([
    'events lost (sent − acknowledged by the handler), (a) / (b)',
    `${packed.lost} / ${unpacked.lost}`,
    `items ≤ ${packed.maxItemBytes} B (${n(packed.writeUnits / packed.writes, 2)} WRU/write)`,
    '',
    '0',
    met(packed.lost === 0 && unpacked.lost === 0),
  ]);
  const c = packed.cohortCost;
  rows.push([
    `WRU per camera write, steady state at ${n(shape.cameras)} cameras: (state WRU/write × ${n(steady.writesPerCameraHour, 0)} writes + one cohort registration) per camera-hour`,
    `${n(steady.unitsPerCameraWrite, 3)} (state ${n(steady.stateUnitsPerWrite, 3)}; registration ${n(steady.bookkeepingUnitsPerCameraHour, 2)} WRU: member write ${steady.referenceMemberWriteUnits} to a ${n(steady.referenceShardBytes)} B shard of ${n(steady.referenceMembersPerShard, 0)} members × ${n(Math.max(c.bytesPerMember, c.warmedBytesPerMember), 0)} B (a warmed-up camera's record; ${n(c.bytesPerMember, 0)} B in the run), head ${n(steady.headWritesPerCameraHour, 4)} × ${steady.headWriteUnits}, outbox ${n(steady.outboxUnitsPerRegistration, 2)})`,
    `in the run ${n(steady.unitsPerCameraWriteInRun, 3)}: ${c.registrations} registrations at ${n(steady.unitsPerRegistrationInRun, 2)} WRU (shard ${c.shard.units}, head ${c.head.units}, clearing ${c.clearing.units}, index ${c.indexUnits}, failed ${c.failedUnits}) over ${c.camera.writes} state writes`,
    '',
    '≤1.1',
    met(steady.unitsPerCameraWrite <= 1.1),
  ]);
  rows.push([
    `Lambda time billed: median batch (messages) = handler CPU + round trips (DynamoDB ${packed.medianCalls.DynamoDB} calls over ≤${DEFAULT_CAMERA_CONCURRENCY} cameras at a time) × ${AWS_CALL_LATENCY_MS.DynamoDB} ms`,
    `${n(packed.medianModelledBatchMs)} ms (${packed.medianBatchMessages}); CPU ${n(packed.medianCpuMs)} ms; Lambda ${usd(packed.usd.lambda)}/M`,
    `on moto ${n(packed.medianBatchMs)} ms, ${n(packed.medianDynamoDbCallMs, 1)} ms per DynamoDB call; Lambda ${usd(packed.motoLambdaUsdPerMillionEvents)}/M`,
    `moto/billed ${x(packed.medianBatchMs, packed.medianModelledBatchMs)}`,
    '',
    '',
  ]);
  rows.push([
    `capacity of the default stack: maxConcurrency ${STACK_DEFAULTS.maxConcurrency} × batch / measured batch time × linger`,
    `${n(capacity)} cameras`,
    `${n(messagesPerSecond, 0)} messages/s (on moto); ${n(Math.floor(((STACK_DEFAULTS.maxConcurrency * packed.medianBatchMessages) / (packed.medianModelledBatchMs / 1000)) * (DEFAULT_LINGER_MS / 1000)))} cameras at the billed batch time`,
    '',
    '',
    '',
  ]);
  for (const lingerS of [10, 30, 60, 120, 300]) {
    const m = modelUsdPerMillionEvents(packed, shape.intervalS, lingerS * 1000);
    const writesPerEvent = shape.intervalS / (5 * lingerS);
    rows.push([
      `knob: linger ${lingerS} s${lingerS * 1000 === DEFAULT_LINGER_MS ? ' (default)' : ''} → delay ≤ ${lingerS} s, ${n(writesPerEvent, 3)} writes/event (model from (a))`,
      `${usd(m)}/M; ${usd(perCameraMonth(m) + fixedPerCamera)}/camera-month`,
      `fleet $${n(perCameraMonth(m) * shape.cameras + STACK_FIXED_USD_PER_MONTH)}/month`,
      '',
      '',
      '',
    ]);
  }

  // The metric history: bytes measured on simulated events, a full default batch per PutRecordBatch.
  const historyBytes = measureHistoryBytes();
  const history = historyUsdPerCameraMonth(
    {
      ...REFERENCE_HISTORY,
      cameras: shape.cameras,
      intervalS: shape.intervalS,
      eventsPerBatch: STACK_DEFAULTS.batchSize * Math.max(1, (5 * DEFAULT_LINGER_MS) / 1000 / shape.intervalS),
    },
    historyBytes,
  );
  rows.push([
    `(f) metric history: Firehose (ingest ${usd(history.firehoseIngest)}, Parquet ${usd(history.formatConversion)}, partitioning ${usd(history.dynamicPartitioning)}) + S3 a year, Glacier IR after ${REFERENCE_HISTORY.coldAfterDays} d (${usd(history.storage)} + requests ${usd(history.requests)}) per fleet-month`,
    `${usd(history.usdPerCameraMonth)}/camera-month`,
    `${n(historyBytes.lineBytesPerEvent)} B/event sent, ${n(historyBytes.parquetBytesPerEvent, 1)} B/event in Parquet (${n(historyBytes.objectEvents)}-row object)`,
    `(f)/(a) ${x(history.usdPerCameraMonth, oursMonth)}`,
    '≤$0.02/camera-month',
    met(history.usdPerCameraMonth <= 0.02),
  ]);

  const sizesAxis = [100, 1_000, 10_000, 100_000, 1_000_000];
  const line = (f: (cams: number) => number) => `[${sizesAxis.map((c) => Number(f(c).toFixed(4))).join(', ')}]`;
  const lingers = [10, 60, 300];
  const chart = [
    '```mermaid',
    'xychart-beta',
    `  title "$ per camera-month vs fleet size (log steps), ${shape.intervalS} s interval"`,
    `  x-axis "cameras" [${sizesAxis.map((c) => `"${n(c)}"`).join(', ')}]`,
    '  y-axis "$ per camera-month"',
    ...lingers.map(
      (l) =>
        `  line ${line((cams) => perCameraMonth(modelUsdPerMillionEvents(packed, shape.intervalS, l * 1000)) + STACK_FIXED_USD_PER_MONTH / cams)}`,
    ),
    `  line ${line((cams) => cloudWatchUsdPerCameraMonth({ ...shape, cameras: cams }))}`,
    '```',
    '',
    `Lines, top to bottom at 10,000 cameras: CloudWatch metrics + alarms; linger ${lingers.join(' s, ')} s.`,
  ].join('\n');

  const title = `Fleet cost: ${n(shape.cameras)} cameras × 5 metrics every ${shape.intervalS} s (hosts of ${shape.camerasPerHost}); simulated ${n(packed.cameras)} cameras × ${packed.durationS} s packed, ${n(unpacked.cameras)} × ${unpacked.durationS} s unpacked, virtual clock → moto → event-source mapping → handler; list prices ${PRICES.region} ${PRICES.takenOn}; fixed stack $${n(STACK_FIXED_USD_PER_MONTH, 2)}/month included per camera`;
  return {
    results: {
      fleetUsdPerMillionEvents: ours,
      fleetUsdPerCameraMonth: oursMonth,
      fleetSteadyUsdPerMillionEvents: steadyUsd,
      fleetSteadyUsdPerCameraMonth: steadyMonth,
      fleetUnpackedUsdPerMillionEvents: unpacked.usdPerMillionEvents,
      fleetCloudWatchUsdPerCameraMonth: cloudWatch,
      fleetFloorUsdPerMillionEvents: floor,
      fleetWritesPerEvent: packed.writesPerEvent,
      fleetAddedDelayS: packed.maxHoldS,
      fleetCameras: shape.cameras,
      fleetIntervalS: shape.intervalS,
      fleetSimulatedCameras: packed.cameras,
      fleetSimulatedDurationS: packed.durationS,
      fleetLingerS: DEFAULT_LINGER_MS / 1000,
      fleetEventsLost: packed.lost + unpacked.lost,
      fleetCapacityCameras: capacity,
      fleetLambdaUsdPerMillionEvents: packed.usd.lambda,
      fleetLambdaMotoUsdPerMillionEvents: packed.motoLambdaUsdPerMillionEvents,
      fleetModelledBatchMs: packed.medianModelledBatchMs,
      fleetHandlerCpuMs: packed.medianCpuMs,
      fleetWruPerCameraWrite: steady.unitsPerCameraWrite,
      fleetWruPerCameraWriteInRun: steady.unitsPerCameraWriteInRun,
      fleetWruPerRegistrationInRun: steady.unitsPerRegistrationInRun,
      fleetWruPerRegistration: steady.bookkeepingUnitsPerCameraHour,
      fleetReferenceMembersPerShard: steady.referenceMembersPerShard,
      fleetReferenceShardBytes: steady.referenceShardBytes,
      fleetLargestItemBytes: packed.maxItemBytes,
      fleetHistoryUsdPerCameraMonth: history.usdPerCameraMonth,
      fleetHistoryParquetBytesPerEvent: historyBytes.parquetBytesPerEvent,
    },
    packed,
    unpacked,
    title,
    rows,
    chart,
  };
}
