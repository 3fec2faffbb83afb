// Covers the distributed replay on moto, no mocks: a simulated fleet's events go through the real
// Firehose adapter (lib/adapters/history-firehose.ts) and the local delivery into the local stack's
// history; the replay state machine (lib/replay-cloud/definition.ts, built for the local stack with
// SQS callback tasks) runs on moto's Step Functions interpreter: Distributed Map over the run's
// manifest (ItemReader), the shard step per shard and the merge step served by the local worker loop
// (lib/local/replay-worker-loop.ts calling lib/replay-cloud/steps.ts), ResultWriter, the Choice loop;
// its result document equals the in-process replay of the same history (triggers with their ids,
// totals, cohort heads), cameras joining cohorts late making a second round (the Choice looping back
// to the Map) included; `vmon backtest --from local --distributed` (progress on stderr, the same
// triggerIds as the local backtest); `vmon tune --from local --distributed --shards 3` (the same machine,
// run document mode "tune": shards replay their cameras per candidate, the merge gathers the scored
// series) giving the same candidates, best and complete policy as `vmon tune --from local`.
// Also: a shard that fails fails the execution with the step's error.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { S3Client } from '@aws-sdk/client-s3';
import { FirehoseClient } from '@aws-sdk/client-firehose';
import { SFNClient } from '@aws-sdk/client-sfn';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FirehoseHistoryRecorder } from '../../lib/adapters/history-firehose.js';
import { parseBody, type MetricEvent } from '../../lib/core/metric-event.js';
import { DEFAULT_POLICY } from '../../lib/core/policy.js';
import { historySource, type HistorySourceSpec } from '../../lib/history/source.js';
import { deliverLocalHistory } from '../../lib/local/history-delivery.js';
import { localClientConfig } from '../../lib/local/local-stack.js';
import { ReplayWorkerLoop } from '../../lib/local/replay-worker-loop.js';
import { runDistributedReplay, type ReplayProgress } from '../../lib/replay-cloud/run.js';
import { replay } from '../../lib/replay/engine.js';
import { HISTORY } from '../../lib/resources.js';
import { FleetSimulator } from '../../lib/sim/fleet-simulator.js';
import { startLocalAws, type LocalAws } from '../support/local-aws.js';
import { runVmon } from './cli-support.js';

let aws: LocalAws;
let s3: S3Client;
let sfn: SFNClient;
let loop: ReplayWorkerLoop;
let spec: HistorySourceSpec;
/** NAB-style labels of the first fleet: a window from each incident's onset, none for the others. */
let labels: Record<string, [string, string][]>;
const policies = { policy: DEFAULT_POLICY };
const NOW = Date.parse('2027-01-01T00:00:00Z');

beforeAll(async () => {
  aws = await startLocalAws();
  const cfg = localClientConfig(aws.moto.endpoint);
  s3 = new S3Client({ ...cfg, forcePathStyle: true });
  sfn = new SFNClient(cfg);
  const firehose = new FirehoseClient(cfg);
  const recorder = new FirehoseHistoryRecorder(firehose, aws.stack.historyStreamName!);
  // A fleet, and cameras joining its cohorts 6 hours later (they warm up on the cohorts' priors: the
  // merge then asks for their shards again, the state machine's second round).
  const start = Date.UTC(2026, 10, 20, 12);
  const events: MetricEvent[] = [];
  const simulate = (sim: FleetSimulator, prefix: string) => {
    for (const m of sim.messages())
      for (const e of parseBody(m.body, m.sendAtMs + 60_000).events)
        events.push({ ...e, camera_id: `${prefix}${e.camera_id}` });
  };
  const fleet = new FleetSimulator({ cameras: 24, hours: 10, seed: 11, startMs: start });
  labels = Object.fromEntries(
    fleet.cameras.map((c) => [
      c.id,
      c.onsetMs === null
        ? []
        : [[new Date(c.onsetMs).toISOString(), new Date(c.onsetMs + 2 * 3_600_000).toISOString()] as [string, string]],
    ]),
  );
  simulate(fleet, '');
  simulate(new FleetSimulator({ cameras: 10, hours: 4, seed: 12, startMs: start + 6 * 3_600_000 }), 'late-');
  events.sort((a, b) => a.ts - b.ts);
  for (let i = 0; i < events.length; i += 2000) await recorder.record(events.slice(i, i + 2000));
  firehose.destroy();
  await deliverLocalHistory(s3, aws.stack.historyBucket!);
  spec = {
    bucket: aws.stack.historyBucket!,
    prefix: HISTORY.eventsPrefix,
    endpoint: aws.moto.endpoint,
    region: aws.stack.region,
    query: {},
  };
  loop = new ReplayWorkerLoop({
    sqs: aws.sqs,
    sfn,
    s3,
    queueUrl: aws.stack.replayTaskQueueUrl!,
    bucket: aws.stack.historyBucket!,
    concurrency: 2,
  }).start();
}, 60_000);

afterAll(async () => {
  await loop?.stop();
  s3?.destroy();
  sfn?.destroy();
  await aws?.stop();
});

describe('distributed replay on moto Step Functions', () => {
  it('gives the same result document as the in-process replay', async () => {
    const local = await replay(historySource(spec), { policies, nowMs: NOW, keepStates: false });
    const progress: ReplayProgress[] = [];
    const distributed = await runDistributedReplay({
      sfn,
      s3,
      stateMachineArn: aws.stack.replayStateMachineArn!,
      bucket: aws.stack.historyBucket!,
      history: spec,
      policies,
      shards: 4,
      nowMs: NOW,
      pollMs: 200,
      timeoutMs: 90_000,
      onProgress: (p) => progress.push(p),
    });
    expect(local.totals.events).toBeGreaterThan(5000);
    expect(local.triggers.length).toBeGreaterThan(0);
    expect(distributed.triggers.map((t) => t.detail.triggerId)).toEqual(local.triggers.map((t) => t.detail.triggerId));
    expect(distributed.triggers).toEqual(local.triggers);
    expect(distributed.totals).toEqual(local.totals);
    expect(distributed.cohorts).toEqual(local.cohorts);
    // Per camera, in shard order: the same counts, listed in another order.
    const byCamera = (c: [string, number][]) => [...c].sort((a, b) => a[0].localeCompare(b[0]));
    expect(byCamera(distributed.eventCounts)).toEqual(byCamera(local.eventCounts));
    expect(local.cohorts.length).toBeGreaterThan(0);
    expect(progress.at(-1)).toMatchObject({ status: 'SUCCEEDED' });
    // The late cameras' shards ran again with the merged priors: the Choice looped back to the Map.
    expect(distributed.rounds).toBeGreaterThanOrEqual(2);
    expect(distributed.rounds).toBe(local.rounds);
    expect(progress.at(-1)!.round).toBe(distributed.rounds);
    // The last round's Map Run: every item it ran succeeded (the shards the merge named again).
    const last = progress.at(-1)!;
    expect(last.total).toBeGreaterThan(0);
    expect(last).toMatchObject({ succeeded: last.total, failed: 0, running: 0 });
  }, 120_000);

  it('runs from vmon backtest --from local --distributed, with progress, to the local backtest result', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'vmon-replay-'));
    try {
      const stackFile = join(dir, 'stack.json');
      await writeFile(stackFile, JSON.stringify(aws.stack));
      const common = ['--stack-file', stackFile, 'backtest', '--from', 'local'];
      const onMachine = await runVmon([...common, '--distributed', '--shards', '3']);
      expect(onMachine.code, onMachine.stderr).toBe(0);
      expect(onMachine.stderr).toMatch(/distributed replay: succeeded, round \d+: \d+\/\d+ shards done, 0 failed/);
      const json = await runVmon([...common, '--distributed', '--shards', '3', '--json']);
      const here = await runVmon([...common, '--json', '--workers', '1']);
      const a = JSON.parse(json.stdout) as { triggers: { triggerId: string }[]; totals: unknown };
      const b = JSON.parse(here.stdout) as typeof a;
      expect(a.triggers.map((t) => t.triggerId)).toEqual(b.triggers.map((t) => t.triggerId));
      expect(a.totals).toEqual(b.totals);
      const noMachine = await runVmon([...common, '--distributed', '--report', join(dir, 'r.html')]);
      expect(noMachine.code).toBe(2);
      expect(noMachine.stderr).toMatch(/--labels and --report need a local backtest/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }, 120_000);

  it('tunes from vmon tune --from local --distributed to the in-process tune: candidates, best, policy', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'vmon-tune-'));
    try {
      const stackFile = join(dir, 'stack.json');
      const labelFile = join(dir, 'labels.json');
      await writeFile(stackFile, JSON.stringify(aws.stack));
      await writeFile(labelFile, JSON.stringify(labels));
      const common = ['--stack-file', stackFile, 'tune', '--from', 'local', '--labels', labelFile, '--budget', '5'];
      const onMachine = await runVmon([
        ...common,
        '--distributed',
        '--shards',
        '3',
        '--json',
        '--out',
        join(dir, 'a.json'),
      ]);
      const here = await runVmon([...common, '--json', '--out', join(dir, 'b.json')]);
      expect(here.code, here.stderr).toBe(0);
      expect(onMachine.code, onMachine.stderr).toBe(0);
      const a = JSON.parse(onMachine.stdout) as Record<string, unknown> & {
        candidates: { score: { detected: number; falseAlarms: number } }[];
      };
      const b = JSON.parse(here.stdout) as typeof a;
      // The search is not trivial: candidates detect windows and raise false alarms.
      expect(b.candidates.length).toBeGreaterThan(30);
      expect(b.candidates.some((c) => c.score.detected > 0)).toBe(true);
      expect(b.candidates.some((c) => c.score.falseAlarms > 0)).toBe(true);
      for (const key of ['events', 'best', 'candidates', 'policy', 'tunedDetector', 'replaced', 'cohortPriors'])
        expect(a[key], key).toEqual(b[key]);
      expect(await readFile(join(dir, 'a.json'), 'utf8')).toBe(await readFile(join(dir, 'b.json'), 'utf8'));
      // Without --json: the shards done and failed on stderr, as backtest --distributed shows them.
      const shown = await runVmon([
        ...common,
        '--detectors',
        'cusum',
        '--distributed',
        '--shards',
        '2',
        '--out',
        join(dir, 'c.json'),
      ]);
      expect(shown.stderr).toMatch(/distributed tune: succeeded, round 1: 2\/2 shards done, 0 failed/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }, 240_000);

  it('fails the execution, naming the error, when a shard fails', async () => {
    await expect(
      runDistributedReplay({
        sfn,
        s3,
        stateMachineArn: aws.stack.replayStateMachineArn!,
        bucket: aws.stack.historyBucket!,
        history: { ...spec, bucket: 'no-such-history-bucket' },
        policies,
        shards: 2,
        nowMs: NOW,
        pollMs: 200,
        timeoutMs: 60_000,
      }),
    ).rejects.toThrow(/FAILED/);
  }, 90_000);
});
