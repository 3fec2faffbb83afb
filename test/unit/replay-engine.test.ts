// Covers the streaming replay engine (lib/replay/engine.ts, sources.ts, parallel.ts): it gives the
// triggers, triggerIds and totals of the whole-history backtest it replaced (test/support/reference-backtest.ts)
// on the backtest's test histories, on a generated fleet with a cohort drift and a lone anomaly, and on a
// fleet where a camera joins an established cohort and arms on its prior (the rounds the merge asks for);
// sharded 1, 2 and 3 ways in process and on 2 and 3 worker threads, the same triggerIds; events out of
// order within the reorder window change nothing; bad lines are reported once, with their line numbers,
// whatever the shard count; progress from worker threads; workers from the vmon executable; the line router; and memory per camera: no event is kept when none is asked
// for, and a camera holds only its open slices.
import { spawnSync } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseBody, type MetricEvent } from '../../lib/core/metric-event.js';
import { PROJECT_ROOT } from '../../lib/local/moto-server.js';
import { DEFAULT_POLICY, parsePolicy, type Policy, type PolicyInput } from '../../lib/core/policy.js';
import type { Trigger } from '../../lib/core/trigger.js';
import {
  lineCameraId,
  mergeShards,
  replay,
  replayCameraShard,
  ShardReplayer,
  type ReplayResult,
} from '../../lib/replay/engine.js';
import { replayParallel } from '../../lib/replay/parallel.js';
import { eventSource, fileSource } from '../../lib/replay/sources.js';
import { cohortFleetRounds, demoCohorts } from '../../lib/sim/cohort-fleet.js';
import { series, tempDir } from '../integration/cli-support.js';
import { referenceBacktest } from '../support/reference-backtest.js';
import { CAMERA_DRIFT_SLA_POLICY } from '../support/fixtures.js';

const NOW = Date.parse('2027-01-01T00:00:00Z');
const MIN = 60_000;
const ids = (ts: readonly Trigger[]) => ts.map((t) => `${t.detailType} ${t.detail.triggerId} ${t.detail.lastEventAt}`);
const totalsOf = (r: ReplayResult) => {
  const { events, applied, duplicates, late, tooLate, suppressed } = r.totals;
  return { events, applied, duplicates, late, tooLate, suppressed };
};

/** Every way to run the engine on the same events: in process (1-3 shards) and on worker threads. */
async function everyWay(events: MetricEvent[], policy: Policy, dir: string, name: string) {
  const policies = { policy };
  const out: [string, ReplayResult & { rounds: number }][] = [];
  for (const shards of [1, 2, 3])
    out.push([
      `${shards} shards`,
      await replay(
        eventSource(() => [events]),
        { policies, nowMs: NOW, shards },
      ),
    ]);
  const file = join(dir, `${name}.jsonl`);
  // One camera's events per line, in arrays of up to 7 (the producers' bodies), as a file.
  const lines: string[] = [];
  for (let i = 0; i < events.length; ) {
    const cam = events[i]!.camera_id;
    const chunk: MetricEvent[] = [];
    while (i < events.length && events[i]!.camera_id === cam && chunk.length < 7) chunk.push(events[i++]!);
    lines.push(JSON.stringify(chunk.map(({ ts: _ts, ...wire }) => wire)));
  }
  await writeFile(file, `${lines.join('\n')}\n`);
  out.push(['file, 1 shard', await replay(fileSource(file, 'jsonl'), { policies, nowMs: NOW })]);
  for (const workers of [2, 3])
    out.push([
      `${workers} workers`,
      await replayParallel({ file, format: 'jsonl' }, { policies, nowMs: NOW, workers }),
    ]);
  return out;
}

let dir: string;
beforeAll(async () => {
  dir = await tempDir();
});

describe('the engine gives the whole-history backtest’s result', () => {
  it('on the backtest test history (per-camera policy: drift, SLA breach, healthy camera)', async () => {
    const start = Date.parse('2026-01-05T00:00:00Z');
    const wire = [
      ...series('cam01', 'DriftScore', [...Array(5).fill(0.2), ...Array(6).fill(0.9), ...Array(6).fill(0.1)], start),
      ...series(
        'cam02',
        'LatencyMs',
        [...Array(6).fill(80), ...Array(6).fill(400), ...Array(8).fill(90)],
        start,
        10_000,
        'Thermal',
      ),
      ...series('cam03', 'DriftScore', Array(12).fill(0.3), start),
    ];
    const events = parseBody(JSON.stringify(wire), NOW).events;
    const policy = parsePolicy(CAMERA_DRIFT_SLA_POLICY);
    const ref = await referenceBacktest(events, () => policy, { nowMs: NOW });
    expect(ref.triggers.length).toBe(4); // two episodes, each fired and resolved
    for (const [how, r] of await everyWay(events, policy, dir, 'small')) {
      expect(ids(r.triggers), how).toEqual(ids(ref.triggers));
      expect(r.triggers, how).toEqual(ref.triggers);
      expect(totalsOf(r), how).toEqual(ref.totals);
    }
  });

  it('on a generated fleet with a cohort drift, a lone anomaly and a healthy model (default policy)', async () => {
    const rounds = cohortFleetRounds(demoCohorts(), {
      startMs: Date.parse('2026-01-05T00:00:00Z'),
      minutes: 180,
      chunkMinutes: 10,
      seed: 3,
    });
    const events = rounds.flat().flatMap((m) => parseBody(m.body, NOW).events);
    const ref = await referenceBacktest(events, () => DEFAULT_POLICY, { nowMs: NOW });
    expect(ref.triggers.map((t) => [t.detailType, t.detail.scope ?? 'camera'])).toEqual([
      ['RetrainingRequested', 'model'],
      ['CameraAnomalyDetected', 'camera'],
    ]);
    for (const [how, r] of await everyWay(events, DEFAULT_POLICY, dir, 'cohorts')) {
      expect(ids(r.triggers), how).toEqual(ids(ref.triggers));
      expect(totalsOf(r), how).toEqual(ref.totals);
      expect(new Map(r.states), how).toEqual(ref.states);
    }
  });

  it('when a camera joins an established cohort and arms on its prior: rounds until every prior read holds', async () => {
    const policy = parsePolicy({
      id: 'prior',
      detectors: [
        { id: 'drift-cusum', kind: 'cusum', metric: 'DriftScore', action: 'RetrainingRequested', warmup: 200 },
        { id: 'drift-ewma', kind: 'ewma', metric: 'DriftScore', action: 'RetrainingRequested', warmup: 200 },
      ],
      cooldownSeconds: 0,
    } as PolicyInput);
    let seed = 7;
    const rand = () => ((seed = (seed * 16807) % 2147483647) - 1) / 2147483646;
    const gauss = () => Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
    const start = Date.parse('2026-03-02T00:00:00Z');
    let n = 0;
    const stream = (camera: string, from: number, count: number, value: () => number, mv: string) =>
      Array.from({ length: count }, (_, i): MetricEvent => {
        const ts = from + i * MIN;
        const id = `00000000-0000-4000-8000-${String(++n).padStart(12, '0')}`;
        return {
          id,
          timestamp: new Date(ts).toISOString(),
          ts,
          camera_id: camera,
          modality: 'Rgb',
          metric: 'DriftScore',
          value: value(),
          model_version: mv,
        };
      });
    const events: MetricEvent[] = [];
    for (let c = 0; c < 12; c++) {
      const level = 0.2 + 0.01 * gauss();
      events.push(...stream(`old-${c}`, start, 400, () => level + 0.05 * gauss(), 'm1'));
    }
    // Two joiners: one drifting from its first event, one healthy.
    events.push(...stream('joiner-a', start + 300 * MIN, 100, () => 0.3 + 0.05 * gauss(), 'm1'));
    events.push(...stream('joiner-b', start + 320 * MIN, 80, () => 0.2 + 0.05 * gauss(), 'm1'));
    const ref = await referenceBacktest(events, () => policy, { nowMs: NOW });
    const armed = (s: { det: Record<string, unknown> } | undefined) =>
      (s?.det['drift-ewma@Rgb'] as { t: number } | undefined)?.t;
    expect(armed(ref.states.get('joiner-a'))).toBe(100); // armed from its first value: it read a prior
    for (const [how, r] of await everyWay(events, policy, dir, 'prior')) {
      expect(ids(r.triggers), how).toEqual(ids(ref.triggers));
      expect(new Map(r.states), how).toEqual(ref.states);
      expect(r.rounds, how).toBeGreaterThanOrEqual(2); // the first round read no prior
    }
  });
});

describe('streaming', () => {
  const cameraEvents = (camera: string, count: number, stepMs: number) =>
    parseBody(
      JSON.stringify(
        series(
          camera,
          'DriftScore',
          Array.from({ length: count }, (_, i) => 0.2 + (i % 7) / 100),
          Date.parse('2026-02-01T00:00:00Z'),
          stepMs,
        ),
      ),
      NOW,
    ).events;

  it('keeps no event when none is asked for, and a camera holds only its open slices', () => {
    const r = new ShardReplayer({ policies: { policy: DEFAULT_POLICY }, nowMs: NOW, reorderMs: 30 * MIN });
    let most = 0;
    for (const e of cameraEvents('cam', 5000, 10_000)) {
      r.add(e);
      most = Math.max(most, r.heldEvents());
    }
    // 30 min of reorder window + one 5-min slice at one event per 10 s.
    expect(most).toBeLessThanOrEqual(35 * 6 + 1);
    const out = r.finish();
    expect(out.events).toBeUndefined();
    expect(r.heldEvents()).toBe(0);
    expect(out.totals.events).toBe(5000);
  });

  it('events out of order within the reorder window give the same result; later ones are counted', async () => {
    const events = cameraEvents('cam', 600, 60_000);
    // Some events arrive 40 minutes late, some 20 minutes early.
    const shuffled = [...events];
    for (const i of [100, 300, 450]) shuffled.splice(i + 40, 0, ...shuffled.splice(i, 1));
    for (const i of [200, 500]) shuffled.splice(i - 20, 0, ...shuffled.splice(i, 1));
    const opts = { policies: { policy: DEFAULT_POLICY }, nowMs: NOW };
    const a = await replay(
      eventSource(() => events),
      opts,
    );
    const b = await replay(
      eventSource(() => shuffled),
      opts,
    );
    expect(b.reordered).toBe(0);
    expect(new Map(b.states)).toEqual(new Map(a.states));
    const tight = await replay(
      eventSource(() => shuffled),
      { ...opts, reorderMs: 0 },
    );
    expect(tight.reordered).toBeGreaterThan(0);
  });
});

describe('lines and shards', () => {
  it('runs worker threads from the vmon executable too (bin/vmon.mjs), errors keeping their exit code', async () => {
    const file = join(dir, 'cohorts.jsonl'); // written by the cohort-drift case above
    const cli = (args: string[]) =>
      spawnSync(process.execPath, [join(PROJECT_ROOT, 'bin/vmon.mjs'), ...args], {
        encoding: 'utf8',
        cwd: PROJECT_ROOT,
      });
    const one = cli(['backtest', file, '--json', '--workers', '1']);
    const two = cli(['backtest', file, '--json', '--workers', '2']);
    expect(two.status, two.stderr).toBe(0);
    const ids2 = JSON.parse(two.stdout).triggers.map((t: { triggerId: string }) => t.triggerId);
    expect(ids2.length).toBeGreaterThan(0);
    expect(ids2).toEqual(JSON.parse(one.stdout).triggers.map((t: { triggerId: string }) => t.triggerId));
    const badCsv = join(dir, 'bad-header.csv');
    await writeFile(badCsv, 'id,timestamp,camera\n1,2,3\n');
    const bad = cli(['backtest', badCsv, '--workers', '2']);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain('CSV header lacks camera_id');
  });

  it('reports the file’s progress from worker threads', async () => {
    const file = join(dir, 'progress.jsonl');
    const wire = series('p1', 'DriftScore', Array(300).fill(0.2), Date.parse('2026-02-01T00:00:00Z'));
    const text = `${wire.map((w) => JSON.stringify(w)).join('\n')}\n`;
    await writeFile(file, text);
    let read = 0;
    const r = await replayParallel(
      { file, format: 'jsonl' },
      { policies: { policy: DEFAULT_POLICY }, nowMs: NOW, workers: 2, onBytes: (n) => void (read += n) },
    );
    expect(r.totals.events).toBe(300);
    expect(read).toBeCloseTo(Buffer.byteLength(text), 6);
  });

  it('routes a line by its camera when every camera_id in it is the same plain id', () => {
    expect(lineCameraId('{"camera_id":"a","value":1}')).toBe('a');
    expect(lineCameraId('[{"camera_id" : "a"},{"camera_id":"a"}]')).toBe('a');
    expect(lineCameraId('[{"camera_id":"a"},{"camera_id":"b"}]')).toBeUndefined();
    expect(lineCameraId('[{"camera_id":"a"},{"camera_id":"ab"}]')).toBeUndefined();
    expect(lineCameraId('{"camera_id":"a\\u0062"}')).toBeUndefined();
    expect(lineCameraId('{"camera_id":7}')).toBeUndefined();
    expect(lineCameraId('{"model_version":"camera_id"}')).toBeUndefined();
    expect(lineCameraId('{"value":1}')).toBeUndefined();
  });

  it('reports each bad line once, with its line number, whatever the shard count (JSONL and CSV)', async () => {
    const good = series('c1', 'DriftScore', [0.1, 0.2], Date.parse('2026-02-01T00:00:00Z'));
    const other = series('c2', 'DriftScore', [0.3], Date.parse('2026-02-01T00:00:00Z'));
    const jsonl = join(dir, 'bad.jsonl');
    await writeFile(
      jsonl,
      [
        JSON.stringify(good[0]),
        '{not json',
        JSON.stringify([good[1], other[0], { ...other[0], value: 'x' }]),
        JSON.stringify({ ...good[0], camera_id: '' }),
        JSON.stringify({ ...other[0], metric: 'Nope' }),
      ].join('\n'),
    );
    const csv = join(dir, 'bad.csv');
    await writeFile(
      csv,
      [
        'id,timestamp,camera_id,modality,metric,value',
        `${good[0]!.id},${good[0]!.timestamp},c1,Rgb,DriftScore,0.1`,
        'a,"b',
        `${other[0]!.id},${other[0]!.timestamp},c2,Rgb,DriftScore,oops`,
      ].join('\n'),
    );
    for (const [file, format] of [
      [jsonl, 'jsonl'],
      [csv, 'csv'],
    ] as const) {
      const results = [];
      for (const count of [1, 2, 3]) {
        const shards = [];
        for (let index = 0; index < count; index++)
          shards.push(
            await replayCameraShard(fileSource(file, format), {
              policies: { policy: DEFAULT_POLICY },
              nowMs: NOW,
              shard: { index, count },
            }),
          );
        results.push((await mergeShards(shards, { policies: { policy: DEFAULT_POLICY }, nowMs: NOW })).result);
      }
      expect(results[0]!.rejected.length).toBeGreaterThanOrEqual(format === 'jsonl' ? 4 : 2);
      for (const r of results.slice(1)) {
        expect(r.rejected).toEqual(results[0]!.rejected);
        expect(r.totals).toEqual(results[0]!.totals);
      }
    }
  });
});
