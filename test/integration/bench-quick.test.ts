// Covers `npm run bench -- --quick` (scripts/bench): it runs every section end to end on moto and
// DynamoDB Local, and writes results with exactly the documented flat keys (and `--only hotpath`
// merges just the in-process and cold-start ones), counts that hold
// (no event lost end to end, capacity units as DynamoDB Local reports them), a detector row for
// every registered kind and sane sanity rows. Timings are printed by the bench, never asserted.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DETECTORS } from '../../lib/core/policy.js';
import { COHORT } from '../../lib/resources.js';

const dir = mkdtempSync(join(tmpdir(), 'vmon-bench-test-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const KEYS = [
  'handlerEventsPerSec',
  'floorEventsPerSec',
  'naiveEventsPerSec',
  'ddbWritesPer1kEvents',
  'ddbReadsPer1kEvents',
  'wcuPer1kEvents',
  'naiveWcuPer1kEvents',
  'mixes',
  'usdPerMillionEvents',
  'naiveUsdPerMillionEvents',
  'bundleBytes',
  'coldInitMs',
  'emptyInitMs',
  'e2eEventsPerSec',
  'e2eEventsLost',
  'e2eEvents',
  'backtestEventsPerSec',
  'replayEventsPerSecPerCore',
  'replayFloorEventsPerSec',
  'replayParallelEfficiency',
  'fleetMonthFalseModelRetrainsPerModelMonth',
  'fleetMonthFalseAnomaliesPer1kCameraDays',
  'fleetMonthModelDriftDelayP50Min',
  'replayFleetMonthHoursOn1000Lambdas',
  'replay',
  'cohorts',
  'watermarkAddedDelayS',
  'watermarks',
  'sdkOnlyInitMs',
  'coldInitCpuMs',
  'sdkOnlyInitCpuMs',
  'fleetUsdPerMillionEvents',
  'fleetUsdPerCameraMonth',
  'fleetUnpackedUsdPerMillionEvents',
  'fleetCloudWatchUsdPerCameraMonth',
  'fleetFloorUsdPerMillionEvents',
  'fleetWritesPerEvent',
  'fleetAddedDelayS',
  'fleetCameras',
  'fleetIntervalS',
  'fleetSimulatedCameras',
  'fleetSimulatedDurationS',
  'fleetLingerS',
  'fleetEventsLost',
  'fleetCapacityCameras',
  'fleetLambdaUsdPerMillionEvents',
  'fleetLambdaMotoUsdPerMillionEvents',
  'fleetModelledBatchMs',
  'fleetHandlerCpuMs',
  'fleetWruPerCameraWrite',
  'fleetWruPerCameraWriteInRun',
  'fleetSteadyUsdPerMillionEvents',
  'fleetSteadyUsdPerCameraMonth',
  'fleetWruPerRegistrationInRun',
  'fleetWruPerRegistration',
  'fleetReferenceMembersPerShard',
  'fleetReferenceShardBytes',
  'fleetLargestItemBytes',
  'fleetHistoryUsdPerCameraMonth',
  'fleetHistoryParquetBytesPerEvent',
  'detectors',
  'nabDevStandardScore',
  'nabDevFalseAlarmsPer1k',
  'nabDevNoAnomalyDailyFirings',
  'nabDevSingleChartsScore',
  'nabDevTuned',
  'armedAfterValues',
  'armedAfterValuesWithPrior',
  'decisionBudgetPer1k',
  'decisionArl0',
  'decisionArl1',
  'machine',
  'at',
];

/** What `--only hotpath` writes (the in-process and cold-start sections), all among KEYS. */
const HOT_PATH_KEYS = [
  'handlerEventsPerSec',
  'floorEventsPerSec',
  'bundleBytes',
  'coldInitMs',
  'emptyInitMs',
  'sdkOnlyInitMs',
  'coldInitCpuMs',
  'sdkOnlyInitCpuMs',
];

describe('npm run bench -- --quick', () => {
  it('writes the documented results and loses no event', () => {
    const out = join(dir, 'results.json');
    const run = spawnSync('npm', ['run', '--silent', 'bench', '--', '--quick', '--out', out], {
      encoding: 'utf8',
      timeout: 230_000,
    });
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/\| measure +\| ours/);

    const r = JSON.parse(readFileSync(out, 'utf8'));
    expect(Object.keys(r).sort()).toEqual([...KEYS].sort());
    for (const k of KEYS.filter(
      (k) =>
        ![
          'mixes',
          'cohorts',
          'watermarks',
          'detectors',
          'machine',
          'at',
          'replay',
          'decisionArl1',
          'nabDevTuned',
        ].includes(k),
    )) {
      expect(typeof r[k], k).toBe('number');
      expect(Number.isFinite(r[k]), k).toBe(true);
    }
    expect(r.e2eEvents).toBeGreaterThan(0);
    // The per-metric decision arms within 50 values (counted, not timed).
    expect(r.armedAfterValues).toBeLessThanOrEqual(50);
    // Fleet decisions: the burst of one cohort gives exactly one model trigger and loses no camera.
    expect(r.cohorts.burst).toMatchObject({ modelTriggers: 1, lost: 0, cameraRetrains: 0 });
    expect(r.cohorts.cost.withCohorts.writesPer1k).toBeGreaterThan(0);
    // Cohort watermarks: no anomaly for drifting cameras under any upload pattern, one per lone camera.
    for (const p of r.watermarks) expect(p).toMatchObject({ driftAnomalies: 0, loneAnomalies: p.seeds });
    expect(r.watermarkAddedDelayS).toBeLessThanOrEqual(300);
    expect(r.e2eEventsLost).toBe(0);
    // Counted, not timed: the 100-event mix batches 100 events per camera into about one write.
    expect(r.mixes.map((m: { eventsPerCameraPerBatch: number }) => m.eventsPerCameraPerBatch)).toEqual([1, 10, 100]);
    expect(r.ddbReadsPer1kEvents).toBeCloseTo(10, 5);
    expect(r.naiveWcuPer1kEvents).toBeGreaterThanOrEqual(1000);
    expect(r.usdPerMillionEvents).toBeLessThan(r.naiveUsdPerMillionEvents);
    expect(r.bundleBytes).toBeGreaterThan(0);
    // Fleet cost, counted not timed: per-camera packing writes once per camera per linger (5 metrics
    // every 10 s, 60 s linger: 1 write per 30 events); a camera's plain cohort registration (one per
    // activity hour) adds no write of the camera item, but a record that rides in the outbox adds its
    // clearing write (a detector changing its affected state on the random data, the camera reporting
    // past a cohort watermark: bounded at a quarter of the cameras); today's
    // mixed packing about once per event; nothing is lost, and no event waits in a publisher longer
    // than the linger.
    const eventsPerCamera = (r.fleetSimulatedDurationS / r.fleetIntervalS) * 5;
    const lingerWrites = r.fleetSimulatedDurationS / r.fleetLingerS;
    expect(r.fleetWritesPerEvent).toBeGreaterThanOrEqual(lingerWrites / eventsPerCamera - 1e-9);
    expect(r.fleetWritesPerEvent).toBeLessThanOrEqual((lingerWrites + 0.25) / eventsPerCamera);
    expect(r.fleetEventsLost).toBe(0);
    expect(r.fleetAddedDelayS).toBeLessThanOrEqual(r.fleetLingerS);
    expect(r.fleetUsdPerMillionEvents).toBeLessThan(r.fleetUnpackedUsdPerMillionEvents);
    expect(r.fleetFloorUsdPerMillionEvents).toBeLessThan(r.fleetUsdPerMillionEvents);
    // Steady state: the floor's one write per camera per linger at ≥ 1 WRU, so above the floor, and below
    // the run's own figure, which pays every camera's first registration in 2 minutes.
    expect(r.fleetSteadyUsdPerMillionEvents).toBeGreaterThan(r.fleetFloorUsdPerMillionEvents);
    expect(r.fleetSteadyUsdPerMillionEvents).toBeLessThan(r.fleetUsdPerMillionEvents);
    // WRU per camera write counts the cohort updates on top of the camera PutItems: at least 1. The
    // steady-state figure charges one registration per camera-hour (60 writes at a 60 s linger), at the
    // reference fleet's shard size (10,000 cameras over the run's 3 cohorts and 128 shards), so it sits
    // below the run's own ratio, which charges every camera's registration to its 2 writes.
    expect(r.fleetWruPerCameraWrite).toBeGreaterThanOrEqual(1);
    expect(r.fleetWruPerCameraWriteInRun).toBeGreaterThan(r.fleetWruPerCameraWrite);
    expect(r.fleetReferenceMembersPerShard).toBeCloseTo(r.fleetCameras / 3 / COHORT.shards, 6);
    expect(r.fleetReferenceShardBytes).toBeGreaterThan(r.fleetReferenceMembersPerShard * 20);
    // One registration costs at least its member write, billed at the reference shard's size.
    expect(r.fleetWruPerRegistration).toBeGreaterThanOrEqual(Math.ceil(r.fleetReferenceShardBytes / 1024));
    expect(r.fleetWruPerRegistrationInRun).toBeGreaterThanOrEqual(1);
    // A state write is at least one unit, so the steady figure is at least 1 + a registration over 60 writes.
    expect(r.fleetWruPerCameraWrite).toBeGreaterThanOrEqual(1 + r.fleetWruPerRegistration / 60 - 1e-9);
    expect(r.fleetLargestItemBytes).toBeGreaterThan(0);
    expect(run.stdout).toMatch(/\(d\) CloudWatch/);

    const names: string[] = r.detectors.map((d: { name: string }) => d.name);
    for (const kind of Object.keys(DETECTORS))
      expect(
        names.some((n) => n.startsWith(`shipped ${kind}`)),
        kind,
      ).toBe(true);
    for (const d of r.detectors) {
      const keys = ['arl0', 'arl1_1sigma', 'arl1_2sigma', 'name'];
      if (d.name.startsWith('shipped cusum') || d.name.startsWith('shipped ewma')) {
        keys.push('falseAlarmsPer1k');
        expect(Object.keys(d.falseAlarmsPer1k).sort()).toEqual(['ar1', 'daily', 'iid']);
      }
      if ('falseAlarmsPer1k' in d && !keys.includes('falseAlarmsPer1k')) keys.push('falseAlarmsPer1k');
      expect(Object.keys(d).sort()).toEqual(keys.sort());
    }
    // the NAB-style score is normalised: never-fire 0, perfect 100
    expect(r.nabDevStandardScore).toBeGreaterThan(-1000);
    expect(r.nabDevStandardScore).toBeLessThanOrEqual(100);
    const row = (prefix: string) => r.detectors.find((d: { name: string }) => d.name.startsWith(prefix));
    expect(row('always-fire')).toMatchObject({ arl0: 1, arl1_1sigma: 1, arl1_2sigma: 1 });
    expect(row('never-fire').arl0).toBeGreaterThanOrEqual(1000);
    // The reference CUSUM reproduces the textbook's order of magnitude even in quick mode.
    expect(row('textbook CUSUM').arl1_1sigma).toBeGreaterThan(8);
    expect(row('textbook CUSUM').arl1_1sigma).toBeLessThan(13);

    // Replay: the generated fleet-month is every camera's 5 metrics every 10 s; drifts are decided (the
    // quick run's cohorts of 4 cameras may miss one: the full run's have 10).
    expect(r.replay.fleetMonth.events).toBe(r.replay.fleetMonth.cameras * r.replay.fleetMonth.days * 8640 * 5);
    expect(r.replay.fleetMonth.driftsDetected).toBeGreaterThan(0);
    expect(r.machine).toMatchObject({ cores: expect.any(Number), node: expect.stringMatching(/^v\d+/) });
    expect(Number.isNaN(Date.parse(r.at))).toBe(false);
  }, 240_000);

  it('--only hotpath merges just the in-process and cold-start keys into the results file', () => {
    const out = join(dir, 'hotpath.json');
    writeFileSync(out, `${JSON.stringify({ kept: 1 })}\n`);
    const run = spawnSync('npm', ['run', '--silent', 'bench', '--', '--quick', '--only', 'hotpath', '--out', out], {
      encoding: 'utf8',
      timeout: 120_000,
    });
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/ingest path in process/);
    const r = JSON.parse(readFileSync(out, 'utf8'));
    expect(Object.keys(r).sort()).toEqual([...HOT_PATH_KEYS, 'kept'].sort());
    for (const k of HOT_PATH_KEYS) expect(r[k], k).toBeGreaterThan(0);
  }, 120_000);
});
