// `npm run bench [-- --quick] [-- --out FILE]`: every performance figure of the monitor, each next to
// a reference measured in the same run, printed as one table and written as flat JSON
// (bench/results.json; --quick writes bench/results-quick.json unless --out says otherwise).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PROJECT_ROOT } from '../../lib/local/moto-server.js';
import { BACKTEST_LABEL, benchBacktest } from './backtest.js';
import { benchColdStart, type ColdStartResult } from './cold-start.js';
import { benchMix, benchNaive, crossCheckCapacity, LAMBDA_MEMORY_MB, type MixResult } from './ddb-cost.js';
import { benchDetectorSection, detectorResults, detectorRows } from './detector-section.js';
import type { E2eResult } from './e2e.js';
import { startCountedMoto, startDynamoDbLocal } from './emulators.js';
import { benchFleet, type FleetSection } from './fleet-report.js';
import { benchInProcess, type InProcessResult } from './in-process.js';
import { PRICES } from './prices.js';
import { formatTable, type Row } from './table.js';
import { benchCohortBurst, benchCohortCost, type BurstResult, type CohortCostResult } from './cohorts.js';
import {
  benchEventsPerCore,
  benchFleetMonth,
  benchReplayCore,
  benchReplayParallel,
  fleetMonthOnLambdas,
} from './replay.js';
import { benchWatermarks } from './watermarks.js';

const quick = process.argv.includes('--quick');
const onlyArg = process.argv.indexOf('--only');
/**
 * `--only fleet`: the fleet cost section (and the naive port it compares with); `--only detectors`:
 * detection quality (Monte Carlo, the per-metric decision, NAB dev); `--only replay`: the replay section
 * (fleet-month included); `--only hotpath`: the ingest path in process and the cold start (no emulator).
 * Each is merged into the results file.
 */
const only = onlyArg > 0 ? process.argv[onlyArg + 1] : undefined;
const SECTIONS_ALONE = ['fleet', 'detectors', 'replay', 'hotpath'];
if (only !== undefined && !SECTIONS_ALONE.includes(only))
  throw new Error(`--only: the sections that run alone are ${SECTIONS_ALONE.join(', ')}, got ${only}`);
/** `--fleet-month-small`: the fleet-month at 40 cameras × 7 days instead of 200 × 30 (a quick check). */
const fleetMonthSmall = process.argv.includes('--fleet-month-small');
const outArg = process.argv.indexOf('--out');
const out =
  outArg > 0 ? process.argv[outArg + 1]! : join(PROJECT_ROOT, 'bench', quick ? 'results-quick.json' : 'results.json');

const P = quick
  ? {
      inProcess: { cameras: 200, batches: 5, rounds: 2 },
      mix: { cameras: 20, batches: 2 },
      naive: 200,
      xcheck: { cameras: 10, batches: 1 },
      coldRuns: 3,
      e2e: { events: 10_000, perMessage: 100, cameras: 50, timeoutS: 45 },
      det: { runs: 200, cap: 2_000, longRun: { streams: 2, n: 5_000 } },
      backtest: 50_000,
      cohortCost: { cameras: 12, batches: 3 },
      burst: { cameras: 100, invocations: 4 },
      fleet: { packed: { cameras: 60, durationS: 120 }, unpacked: { cameras: 30, durationS: 10 } },
      replay: {
        coreEvents: 50_000,
        parallel: { cameras: 6, days: 1 },
        perCore: { cameras: 3, days: 1 },
        month: { cameras: 6, days: 1, drift: { cameras: 24, days: 2, seeds: [1] } },
      },
      watermarks: { seeds: 2 },
    }
  : {
      inProcess: { cameras: 1000, batches: 50, rounds: 3 },
      mix: { cameras: 100, batches: 5 },
      naive: 1000,
      xcheck: { cameras: 50, batches: 2 },
      coldRuns: 7,
      e2e: { events: 1_000_000, perMessage: 500, cameras: 1000, timeoutS: 900 },
      det: { runs: 2_000, cap: 20_000, longRun: { streams: 8, n: 20_000 } },
      backtest: 500_000,
      cohortCost: { cameras: 60, batches: 40 },
      burst: { cameras: 2000, invocations: 8 },
      fleet: { packed: { cameras: 1000, durationS: 240 }, unpacked: { cameras: 200, durationS: 30 } },
      replay: {
        coreEvents: 1_000_000,
        parallel: { cameras: 40, days: 2 },
        perCore: { cameras: 20, days: 2 },
        // 200 cameras × 30 days × 5 metrics / 10 s: 259M events.
        month: fleetMonthSmall
          ? { cameras: 40, days: 7, drift: { cameras: 36, days: 2, seeds: [1, 2] } }
          : { cameras: 200, days: 30, drift: { cameras: 60, days: 3, seeds: [1, 2, 3] } },
      },
      watermarks: { seeds: 20 },
    };

const log = (s: string) => process.stderr.write(`[bench] ${s}\n`);
const time = async <T>(what: string, f: () => Promise<T> | T): Promise<T> => {
  const t = performance.now();
  log(`${what}…`);
  const r = await f();
  log(`${what}: ${((performance.now() - t) / 1000).toFixed(1)} s`);
  return r;
};

const n = (x: number, d = 0) =>
  Number.isFinite(x) ? x.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d }) : 'n/a';
const x = (a: number, b: number) => `${n(a / b, a / b >= 10 ? 0 : 2)}×`;
const usd = (v: number) => `$${v < 0.1 ? v.toFixed(4) : v.toFixed(2)}`;
const met = (ok: boolean) => (ok ? 'met' : 'MISSED');

const inProcessRow = (inProcess: InProcessResult): Row => [
  'ingest path in process (parse+validate+apply+encode/decode)',
  n(inProcess.handlerEventsPerSec),
  `JSON.parse floor ${n(inProcess.floorEventsPerSec)}`,
  `floor/ours ${x(inProcess.floorEventsPerSec, inProcess.handlerEventsPerSec)}`,
  '≥500k/s, ≤3× floor',
  met(inProcess.handlerEventsPerSec >= 500_000 && inProcess.floorEventsPerSec / inProcess.handlerEventsPerSec <= 3),
];
const coldStartRows = (cold: ColdStartResult): Row[] => [
  [
    'bundle size',
    `${n(cold.bundleBytes / 1024, 0)} KB`,
    `SDK clients only ${n(cold.sdkOnlyBundleBytes / 1024, 0)} KB; empty ${cold.emptyBundleBytes} B`,
    '',
    '≤500 KB',
    met(cold.bundleBytes <= 500 * 1024),
  ],
  [
    `module init, median of ${cold.runs} fresh processes (ms)`,
    n(cold.coldInitMs, 1),
    `empty ${n(cold.emptyInitMs, 1)}; SDK clients only ${n(cold.sdkOnlyInitMs, 1)}`,
    `${x(cold.coldInitMs, cold.emptyInitMs)} empty, ${x(cold.coldInitMs, cold.sdkOnlyInitMs)} SDK-only`,
    '≤2× empty',
    met(cold.coldInitMs <= 2 * cold.emptyInitMs),
  ],
  [
    `module init CPU time (user + system), same processes (ms)`,
    n(cold.coldInitCpuMs, 1),
    `SDK clients only ${n(cold.sdkOnlyInitCpuMs, 1)}`,
    `${x(cold.coldInitCpuMs, cold.sdkOnlyInitCpuMs)} SDK-only`,
    '≤1.25× SDK-only',
    met(cold.coldInitCpuMs <= 1.25 * cold.sdkOnlyInitCpuMs),
  ],
];
const hotPathResults = (inProcess: InProcessResult, cold: ColdStartResult) => ({
  handlerEventsPerSec: Math.round(inProcess.handlerEventsPerSec),
  floorEventsPerSec: Math.round(inProcess.floorEventsPerSec),
  bundleBytes: cold.bundleBytes,
  coldInitMs: cold.coldInitMs,
  emptyInitMs: cold.emptyInitMs,
  sdkOnlyInitMs: cold.sdkOnlyInitMs,
  coldInitCpuMs: cold.coldInitCpuMs,
  sdkOnlyInitCpuMs: cold.sdkOnlyInitCpuMs,
});
const benchInProcessSection = () =>
  time('ingest path in process', () =>
    benchInProcess(
      {
        cameras: P.inProcess.cameras,
        eventsPerMessage: 100,
        messagesPerBatch: 100,
        batches: P.inProcess.batches,
        seed: 1,
      },
      P.inProcess.rounds,
    ),
  );

if (only === 'hotpath') {
  const inProcess = await benchInProcessSection();
  const cold = await time('cold start', () => benchColdStart(P.coldRuns));
  const previous = existsSync(out) ? JSON.parse(readFileSync(out, 'utf8')) : {};
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, `${JSON.stringify({ ...previous, ...hotPathResults(inProcess, cold) }, null, 2)}\n`);
  process.stdout.write(
    formatTable(
      ['measure', 'ours', 'reference', 'ratio', 'goal', ''],
      [
        { section: 'Ingest path in process (events/s)' },
        inProcessRow(inProcess),
        { section: 'Cold start (bundled as the stack bundles it)' },
        ...coldStartRows(cold),
      ],
    ),
  );
  process.stdout.write(`\n${quick ? 'QUICK run' : 'full run'} of the hot path only; merged into ${out}\n`);
  process.exit(0);
}

const fleetChartFile = join(PROJECT_ROOT, 'bench', 'fleet-chart.md');
const writeFleetChart = (fleet: FleetSection) => {
  if (!quick) writeFileSync(fleetChartFile, `${fleet.chart}\n`);
};

if (only === 'fleet') {
  const env = await time('moto', () => startCountedMoto());
  let naiveOnly: Awaited<ReturnType<typeof benchNaive>>;
  try {
    naiveOnly = await time('naive port', () => benchNaive(env, P.naive));
  } finally {
    await env.stop();
  }
  const fleet = await time('fleet cost', () => benchFleet(P.fleet, naiveOnly.usdPerMillionEvents));
  const previous = existsSync(out) ? JSON.parse(readFileSync(out, 'utf8')) : {};
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, `${JSON.stringify({ ...previous, ...fleet.results }, null, 2)}\n`);
  writeFleetChart(fleet);
  process.stdout.write(
    formatTable(['measure', 'ours', 'reference', 'ratio', 'goal', ''], [{ section: fleet.title }, ...fleet.rows]),
  );
  process.stdout.write(`\n${quick ? 'QUICK run' : 'full run'} of the fleet section only; merged into ${out}\n`);
  process.exit(0);
}

if (only === 'detectors') {
  const det = await time('detection quality', () => benchDetectorSection(P.det, log));
  const previous = existsSync(out) ? JSON.parse(readFileSync(out, 'utf8')) : {};
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, `${JSON.stringify({ ...previous, ...detectorResults(det) }, null, 2)}\n`);
  process.stdout.write(formatTable(['measure', 'ours', 'reference', 'ratio', 'goal', ''], detectorRows(det)));
  process.stdout.write(`\n${quick ? 'QUICK run' : 'full run'} of the detectors section only; merged into ${out}\n`);
  process.exit(0);
}

/** The replay section: results keys and table rows. */
async function benchReplaySection() {
  const core = await time('replay engine per core', () => benchReplayCore(P.replay.coreEvents));
  const parallel = await time('replay on worker threads', () => benchReplayParallel(P.replay.parallel));
  const perCore = await time('replay of valid events per core', () => benchEventsPerCore(P.replay.perCore));
  const m = P.replay.month;
  const month = await time(`fleet-month replay, ${m.cameras} cameras × ${m.days} days`, () => benchFleetMonth(m));
  // The merge at the reference fleet: member records grow with cameras and days.
  const mergeSeconds = month.fleetMonthMergeSeconds * (10_000 / m.cameras) * (30 / m.days);
  const lambdas = fleetMonthOnLambdas({ eventsPerSecPerCore: perCore.eventsPerSecPerCore, mergeSeconds });
  const results = {
    replayEventsPerSecPerCore: Math.round(core.replayEventsPerSecPerCore),
    replayFloorEventsPerSec: Math.round(core.replayFloorEventsPerSec),
    replayParallelEfficiency: Number(parallel.replayParallelEfficiency.toFixed(3)),
    fleetMonthFalseModelRetrainsPerModelMonth: Number(month.fleetMonthFalseModelRetrainsPerModelMonth.toFixed(4)),
    fleetMonthFalseAnomaliesPer1kCameraDays: Number(month.fleetMonthFalseAnomaliesPer1kCameraDays.toFixed(4)),
    fleetMonthModelDriftDelayP50Min: Number(month.fleetMonthModelDriftDelayP50Min.toFixed(1)),
    replayFleetMonthHoursOn1000Lambdas: Number(lambdas.hours.toFixed(3)),
    replay: {
      coreEvents: core.events,
      parallel: {
        workers: parallel.workers,
        cpuEfficiency: Number(parallel.replayParallelCpuEfficiency.toFixed(3)),
        oneWorkerEventsPerSec: Math.round(parallel.oneWorkerEventsPerSec),
        eventsPerSec: Math.round(parallel.eventsPerSec),
      },
      validEventsPerSecPerCore: Math.round(perCore.eventsPerSecPerCore),
      fleetMonth: {
        cameras: month.fleetMonthCameras,
        days: month.fleetMonthDays,
        models: month.fleetMonthModels,
        events: month.fleetMonthEvents,
        seconds: Number(month.fleetMonthSeconds.toFixed(1)),
        eventsPerSec: Math.round(month.fleetMonthEventsPerSec),
        rounds: month.fleetMonthRounds,
        mergeSeconds: Number(month.fleetMonthMergeSeconds.toFixed(2)),
        triggersByType: month.fleetMonthTriggersByType,
        driftsDetected: month.fleetMonthDriftsDetected,
        drifts: month.fleetMonthDrifts,
        driftDelaysMin: month.fleetMonthDriftDelaysMin.map((d) => Number(d.toFixed(1))),
        workers: month.workers,
      },
      lambdas: {
        workerComputeS: Number(lambdas.computeS.toFixed(1)),
        workerReadS: Number(lambdas.readS.toFixed(1)),
        rampS: lambdas.rampS,
        mergeS: Number(lambdas.mergeS.toFixed(1)),
        rounds: lambdas.rounds,
      },
    },
  };
  const n0 = (v: number, d = 0) => v.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d });
  const ok = (b: boolean) => (b ? 'met' : 'MISSED');
  const floorRatio = core.replayFloorEventsPerSec / core.replayEventsPerSecPerCore;
  const mo = month;
  const rows: Row[] = [
    { section: 'Replay engine (lib/replay; events per CPU-second of one thread)' },
    [
      `replay per core, parse+validate+apply+cohorts (${n0(core.events)} JSONL lines in memory)`,
      n0(core.replayEventsPerSecPerCore),
      `JSON.parse floor ${n0(core.replayFloorEventsPerSec)}`,
      `floor/ours ${n0(floorRatio, 2)}×`,
      '≥400k/s, ≤5× floor',
      ok(core.replayEventsPerSecPerCore >= 400_000 && floorRatio <= 5),
    ],
    [
      `parallel efficiency, ${parallel.workers} worker threads vs 1 (wall time; generated fleet)`,
      n0(parallel.replayParallelEfficiency, 2),
      `1 worker ${n0(parallel.oneWorkerEventsPerSec)} ev/s, ${parallel.workers}: ${n0(parallel.eventsPerSec)} ev/s`,
      `CPU per event 1 vs ${parallel.workers}: ${n0(parallel.replayParallelCpuEfficiency, 2)}`,
      '≥0.8',
      ok(parallel.replayParallelEfficiency >= 0.8),
    ],
    [
      `fleet-month: ${mo.fleetMonthCameras} cameras × ${mo.fleetMonthDays} days, ${n0(mo.fleetMonthEvents)} events, default policy: false model retrains per model-month`,
      n0(mo.fleetMonthFalseModelRetrainsPerModelMonth, 3),
      `${mo.fleetMonthModels} models; replayed in ${n0(mo.fleetMonthSeconds)} s on ${mo.workers} threads`,
      '',
      '≤0.1',
      ok(mo.fleetMonthFalseModelRetrainsPerModelMonth <= 0.1),
    ],
    [
      'fleet-month: false CameraAnomalyDetected per 1,000 camera-days',
      n0(mo.fleetMonthFalseAnomaliesPer1kCameraDays, 3),
      `all triggers: ${JSON.stringify(mo.fleetMonthTriggersByType)}`,
      '',
      '≤1',
      ok(mo.fleetMonthFalseAnomaliesPer1kCameraDays <= 1),
    ],
    [
      'model drift delay p50 (min), every camera of a model drifting (onsets over 30 min)',
      n0(mo.fleetMonthModelDriftDelayP50Min, 1),
      `${mo.fleetMonthDriftsDetected}/${mo.fleetMonthDrifts} drifts decided`,
      '',
      '≤30',
      ok(mo.fleetMonthModelDriftDelayP50Min <= 30 && mo.fleetMonthDriftsDetected === mo.fleetMonthDrifts),
    ],
    [
      'fleet-month (13.1e9 events) on 1,000 Lambda workers, on paper (hours)',
      n0(lambdas.hours, 2),
      `worker ${n0(lambdas.computeS)} s compute at ${n0(perCore.eventsPerSecPerCore)} valid ev/s/core, ${n0(lambdas.readS)} s S3; ramp ${lambdas.rampS} s; merge ${n0(lambdas.mergeS)} s; ${lambdas.rounds} rounds`,
      '',
      '≤0.25 h',
      ok(lambdas.hours <= 0.25),
    ],
  ];
  return { results, rows };
}

if (only === 'replay') {
  const r = await benchReplaySection();
  const previous = existsSync(out) ? JSON.parse(readFileSync(out, 'utf8')) : {};
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, `${JSON.stringify({ ...previous, ...r.results }, null, 2)}\n`);
  process.stdout.write(formatTable(['measure', 'ours', 'reference', 'ratio', 'goal', ''], r.rows));
  process.stdout.write(`\n${quick ? 'QUICK run' : 'full run'} of the replay section only; merged into ${out}\n`);
  process.exit(0);
}

// Timed sections first, on a quiet process; DynamoDB Local's JVM then starts while the untimed
// Monte Carlo runs, and is used for the capacity cross-check.
const inProcess = await benchInProcessSection();
const backtest = await time('backtest replay', () => benchBacktest(P.backtest));
const replaySection = await benchReplaySection();
const cold = await time('cold start', () => benchColdStart(P.coldRuns));
const dynamoDbLocal = startDynamoDbLocal();
dynamoDbLocal.catch(() => undefined); // awaited (and reported) by the cross-check
const detection = await time('detection quality', () => benchDetectorSection(P.det, log));
const watermarks = await time('cohort watermarks, upload patterns', () => benchWatermarks(P.watermarks));

const env = await time('moto', () => startCountedMoto());
let mixes: MixResult[] = [];
let naive: Awaited<ReturnType<typeof benchNaive>>;
let xcheck: Awaited<ReturnType<typeof crossCheckCapacity>>;
let cohortCost: CohortCostResult;
let burst: BurstResult;
try {
  for (const k of [1, 10, 100])
    mixes.push(await time(`DynamoDB cost, ${k} event(s)/camera/batch`, () => benchMix(env, k, P.mix)));
  naive = await time('naive port', () => benchNaive(env, P.naive));
  xcheck = await time('DynamoDB Local cross-check', () => crossCheckCapacity(env, P.xcheck, dynamoDbLocal));
  cohortCost = await time('fleet decisions: cost per 1,000 events', () => benchCohortCost(env, P.cohortCost));
  burst = await time(`fleet decisions: burst of ${P.burst.cameras} cameras`, () => benchCohortBurst(env, P.burst));
} finally {
  await env.stop();
  await dynamoDbLocal.then(
    (l) => l.stop(),
    () => undefined,
  ); // stopped by the cross-check already when it ran
}
mixes = mixes.sort((a, b) => a.eventsPerCameraPerBatch - b.eventsPerCameraPerBatch);

const e2e = await time(`end to end, ${P.e2e.events} events`, async () => {
  const script = join(dirname(fileURLToPath(import.meta.url)), 'e2e.ts');
  const r = spawnSync(
    process.execPath,
    [
      '--import',
      'tsx',
      script,
      '--events',
      String(P.e2e.events),
      '--per-message',
      String(P.e2e.perMessage),
      '--cameras',
      String(P.e2e.cameras),
      '--timeout-s',
      String(P.e2e.timeoutS),
    ],
    { cwd: PROJECT_ROOT, encoding: 'utf8', maxBuffer: 1 << 24 },
  );
  if (r.status !== 0) throw new Error(`e2e run failed (${r.status}): ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as E2eResult;
});

const fleet = await time('fleet cost', () => benchFleet(P.fleet, naive!.usdPerMillionEvents));
writeFleetChart(fleet);

// --- results ---------------------------------------------------------------------------------------
const m100 = mixes.find((m) => m.eventsPerCameraPerBatch === 100)!;
const machine = { cpu: cpus()[0]?.model ?? 'unknown', cores: cpus().length, node: process.version };
const results = {
  naiveEventsPerSec: Math.round(naive!.eventsPerSec),
  ddbWritesPer1kEvents: m100.ddbWritesPer1kEvents,
  ddbReadsPer1kEvents: m100.ddbReadsPer1kEvents,
  wcuPer1kEvents: m100.wcuPer1kEvents,
  naiveWcuPer1kEvents: naive!.wcuPer1kEvents,
  mixes: mixes.map((m) => ({
    eventsPerCameraPerBatch: m.eventsPerCameraPerBatch,
    events: m.events,
    ddbWritesPer1kEvents: m.ddbWritesPer1kEvents,
    ddbReadsPer1kEvents: m.ddbReadsPer1kEvents,
    wcuPer1kEvents: m.wcuPer1kEvents,
    rcuPer1kEvents: m.rcuPer1kEvents,
    writesPerCameraBatch: m.writesPerCameraBatch,
    wcuPerWrite: m.wcuPerWrite,
    maxItemBytes: m.maxItemBytes,
    quiet: m.quiet,
    triggering: m.triggering,
    usdPerMillionEvents: m.usdPerMillionEvents,
  })),
  usdPerMillionEvents: m100.usdPerMillionEvents,
  naiveUsdPerMillionEvents: naive!.usdPerMillionEvents,
  ...hotPathResults(inProcess, cold),
  e2eEventsPerSec: Math.round(e2e.e2eEventsPerSec),
  e2eEventsLost: e2e.e2eEventsLost + Math.max(e2e.stateMismatches, 0),
  e2eEvents: e2e.e2eEvents,
  backtestEventsPerSec: Math.round(backtest.eventsPerSec),
  ...replaySection.results,
  cohorts: { cost: cohortCost!, burst: burst! },
  watermarkAddedDelayS: watermarks.watermarkAddedDelayS,
  watermarks: watermarks.patterns,
  ...fleet.results,
  ...detectorResults(detection),
  machine,
  at: new Date().toISOString(),
};
mkdirSync(dirname(out), { recursive: true });
writeFileSync(out, `${JSON.stringify(results, null, 2)}\n`);

// --- the table -------------------------------------------------------------------------------------
const rows: Row[] = [];
const section = (title: string) => rows.push({ section: title });

section('Throughput (events/s)');
rows.push(inProcessRow(inProcess));
rows.push([
  'ours on moto (real adapters, 100 ev/camera/batch)',
  n(m100.eventsPerSecOnEmulator),
  `naive port on moto ${n(naive!.eventsPerSec)}`,
  `ours/naive ${x(m100.eventsPerSecOnEmulator, naive!.eventsPerSec)}`,
  '',
  '',
]);
rows.push([
  `backtest: ${BACKTEST_LABEL}, ${n(backtest.events)} events`,
  n(backtest.eventsPerSec),
  `its own replay rate ${n(backtest.cliEventsPerSec)}; ingest in process ${n(inProcess.handlerEventsPerSec)}`,
  `${x(backtest.eventsPerSec, inProcess.handlerEventsPerSec)} ingest`,
  '',
  '',
]);

rows.push(...replaySection.rows);

section('DynamoDB per 1,000 events (counted at the SDK; units by item-size rules)');
for (const m of mixes) {
  rows.push([
    `${m.eventsPerCameraPerBatch} event(s)/camera/batch: writes / reads / WCU / RCU`,
    `${n(m.ddbWritesPer1kEvents, 1)} / ${n(m.ddbReadsPer1kEvents, 1)} / ${n(m.wcuPer1kEvents, 1)} / ${n(m.rcuPer1kEvents, 1)}`,
    `naive WCU ${n(naive!.wcuPer1kEvents, 0)}`,
    `naive/ours ${x(naive!.wcuPer1kEvents, m.wcuPer1kEvents)}`,
    '',
    '',
  ]);
}
const q = m100.quiet,
  t = m100.triggering;
rows.push([
  `100 ev mix, camera-batches deciding no trigger (${q.cameraBatches}): writes per camera-batch, WCU per write (largest item)`,
  `${n(q.writesPerCameraBatch, 3)}, ${n(q.wcuPerWrite, 3)} (${q.maxItemBytes} B)`,
  '1, 1',
  '',
  '≤1 write, 1 WCU',
  met(q.writesPerCameraBatch <= 1 && q.wcuPerWrite <= 1),
]);
rows.push([
  `100 ev mix, camera-batches deciding a trigger (${t.cameraBatches}): same (outbox write + clear)`,
  t.cameraBatches ? `${n(t.writesPerCameraBatch, 3)}, ${n(t.wcuPerWrite, 3)} (${t.maxItemBytes} B)` : 'none',
  '1, 1',
  '',
  '≤1 write, 1 WCU',
  t.cameraBatches ? met(t.writesPerCameraBatch <= 1 && t.wcuPerWrite <= 1) : '',
]);
rows.push([
  '100 ev mix, all camera-batches: writes per camera-batch, WCU per write',
  `${n(m100.writesPerCameraBatch, 3)}, ${n(m100.wcuPerWrite, 3)}`,
  '',
  '',
  '',
  '',
]);
rows.push([
  'cross-check vs DynamoDB Local ReturnConsumedCapacity: WCU / RCU',
  `${n(xcheck!.counted.wcu, 1)} / ${n(xcheck!.counted.rcu, 1)}`,
  `${n(xcheck!.reported.wcu, 1)} / ${n(xcheck!.reported.rcu, 1)} reported`,
  `${x(xcheck!.counted.wcu, xcheck!.reported.wcu)} / ${x(xcheck!.counted.rcu, xcheck!.reported.rcu)}`,
  'equal',
  met(xcheck!.counted.wcu === xcheck!.reported.wcu && xcheck!.counted.rcu === xcheck!.reported.rcu),
]);

section(
  `Dollars per million events (list prices ${PRICES.region}, taken ${PRICES.takenOn}; Lambda ${LAMBDA_MEMORY_MB} MB arm64, duration measured on moto)`,
);
for (const m of mixes) {
  const u = m.usd;
  rows.push([
    `ours, ${m.eventsPerCameraPerBatch} ev/camera/batch (SQS ${usd(u.sqs)}, Lambda ${usd(u.lambda)}, DynamoDB ${usd(u.dynamodb)}, EventBridge ${usd(u.eventBridge)})`,
    usd(m.usdPerMillionEvents),
    `naive ${usd(naive!.usdPerMillionEvents)}`,
    `naive/ours ${x(naive!.usdPerMillionEvents, m.usdPerMillionEvents)}`,
    m.eventsPerCameraPerBatch === 100 ? '≥50× cheaper' : '',
    m.eventsPerCameraPerBatch === 100 ? met(naive!.usdPerMillionEvents / m.usdPerMillionEvents >= 50) : '',
  ]);
}
const nu = naive!.usd;
rows.push([
  `naive port (SQS ${usd(nu.sqs)}, Lambda ${usd(nu.lambda)}, DynamoDB ${usd(nu.dynamodb)}, EventBridge ${usd(nu.eventBridge)})`,
  usd(nu.total),
  '',
  '',
  '',
  '',
]);

section('Cold start (bundled as the stack bundles it)');
rows.push(...coldStartRows(cold));

section('End to end on the local stack (moto + local event-source mapping + real handler)');
rows.push([
  `${n(e2e.e2eEvents)} events in ${n(e2e.messages)} messages, ${e2e.invocations} invocations`,
  `${n(e2e.e2eEventsPerSec)} ev/s`,
  `in ${n(e2e.seconds, 1)} s`,
  '',
  '',
  '',
]);
rows.push([
  'events lost (sent − acknowledged; state tails checked per camera)',
  n(results.e2eEventsLost),
  `state mismatches ${e2e.stateMismatches}, dead-lettered ${e2e.deadLettered}`,
  '',
  '0',
  met(results.e2eEventsLost === 0 && !e2e.timedOut),
]);
rows.push(['peak RSS of the runner', `${n(e2e.peakRssMb)} MB`, '', '', '', '']);

section('Fleet decisions (docs/fleet-decisions.md; moto, real adapters)');
{
  const c = cohortCost!,
    b = burst!;
  rows.push([
    `DynamoDB writes / 1,000 events with cohorts (${n(c.events)} events, 100/camera/batch)`,
    n(c.withCohorts.writesPer1k, 2),
    `today (camera scope) ${n(c.today.writesPer1k, 2)}`,
    x(c.withCohorts.writesPer1k, c.today.writesPer1k),
    '',
    '',
  ]);
  rows.push([
    'DynamoDB reads / 1,000 events with cohorts',
    n(c.withCohorts.readsPer1k, 2),
    `today ${n(c.today.readsPer1k, 2)}`,
    x(c.withCohorts.readsPer1k, c.today.readsPer1k),
    '',
    '',
  ]);
  rows.push([
    'WCU / RCU per 1,000 events with cohorts',
    `${n(c.withCohorts.wcuPer1k, 2)} / ${n(c.withCohorts.rcuPer1k, 2)}`,
    `today ${n(c.today.wcuPer1k, 2)} / ${n(c.today.rcuPer1k, 2)}`,
    x(c.withCohorts.wcuPer1k, c.today.wcuPer1k),
    '',
    '',
  ]);
  rows.push([
    `burst: ${n(b.cameras)} cameras of one cohort open episodes at once (${b.wallSeconds} s)`,
    `${b.modelTriggers} model trigger(s), ${b.lost} lost`,
    `camera retrains ${b.cameraRetrains}; head conflicts ${b.headConflicts}, stale summaries ${b.staleSummaries}, camera conflicts ${b.cameraConflicts}, redeliveries ${b.redeliveries}, publish retries ${b.publishRetries}`,
    '',
    '1 trigger, 0 lost',
    met(b.modelTriggers === 1 && b.lost === 0 && b.cameraRetrains === 0),
  ]);
}
section('Cohort watermarks (docs/fleet-decisions.md#watermarks; in-memory use cases, 50 cameras, 40 % drifting)');
for (const p of watermarks.patterns) {
  rows.push([
    `${p.uploadMinutes}-min uploads, shuffled: model decision after the true crossing (median, ${p.seeds} seeds)`,
    `${n(p.modelDelayS)} s`,
    `${p.modelRetrains} retrain(s), ${p.driftAnomalies} anomalies for drifting cameras`,
    '',
    p.uploadMinutes === 1 ? `≤ 300 s, 0 anomalies` : '0 anomalies',
    met((p.uploadMinutes !== 1 || p.modelDelayS <= 300) && p.driftAnomalies === 0 && p.modelRetrains === p.seeds),
  ]);
  rows.push([
    `${p.uploadMinutes}-min uploads: lone camera judged past its confirmation (median)`,
    `${n(p.loneJudgedAfterConfirmS)} s`,
    `${p.loneAnomalies} anomalies for ${p.seeds} lone cameras`,
    '',
    '1 per lone camera',
    met(p.loneAnomalies === p.seeds),
  ]);
}
section(fleet.title);
rows.push(...fleet.rows);

rows.push(...detectorRows(detection));

process.stdout.write(formatTable(['measure', 'ours', 'reference', 'ratio', 'goal', ''], rows));
process.stdout.write(
  `\nmachine: ${machine.cpu}, ${machine.cores} cores, Node ${machine.node}; ${quick ? 'QUICK run (reduced sizes)' : 'full run'}; written to ${out}\n`,
);
