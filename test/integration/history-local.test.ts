// Covers the metric history on the local stack, no mocks: events sent as SQS messages go through the
// local event-source mapping and the real ingest handler (functions/ingest.ts, its Firehose adapter
// lib/adapters/history-firehose.ts) to moto's Firehose, the local delivery (lib/local/history-delivery.ts)
// writes them as Parquet in the deployed layout, and the history reader (lib/history/reader.ts) reads
// every accepted event back exactly once after dedup by id (a producer's duplicate send is stored
// twice and removed by the dedup) with rejected input absent, pruning by model, modality and time, and a Firehose
// that fails once (retried: nothing dropped) or for good (dropped, counted, the batch still accepted);
// and `vmon backtest --from local` (lib/cli/history-backtest.ts, lib/history/source.ts, on 2 worker
// threads) replays that history to the same triggerIds as `vmon backtest` of the same events in a file,
// and `vmon tune --from local` makes the same choice as from the file.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { SendMessageCommand } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BatchResult } from '../../lib/app/ingest-batch.js';
import type { WireMetricEvent } from '../../lib/core/metric-event.js';
import { LocalEventSourceMapping } from '../../lib/local/event-source-mapping.js';
import { injectFaults } from '../../lib/local/faults.js';
import { deliverLocalHistory } from '../../lib/local/history-delivery.js';
import { localClientConfig } from '../../lib/local/local-stack.js';
import { listHistoryObjects, readHistory, type HistoryLocation } from '../../lib/history/reader.js';
import { cameraBucket, cameraBucketValue } from '../../lib/history/record.js';
import { historyLocation, resolveHistorySource } from '../../lib/history/source.js';
import { HISTORY } from '../../lib/resources.js';
import { driftPolicy } from '../../lib/core/policy.js';
import { BASE_TIME, wireEvent } from '../support/fixtures.js';
import { runVmon } from './cli-support.js';
import { startLocalAws, useFunctionEnv, waitFor, type LocalAws } from '../support/local-aws.js';

let aws: LocalAws;
let mapping: LocalEventSourceMapping;
let s3: S3Client;
let fn: typeof import('../../functions/ingest.js');
const results: BatchResult[] = [];
let dir: string;

beforeAll(async () => {
  aws = await startLocalAws({ visibilityTimeoutSeconds: 1 });
  useFunctionEnv(aws.stack);
  fn = await import('../../functions/ingest.js');
  mapping = new LocalEventSourceMapping(aws.sqs, fn.createIngestHandler({ onBatchResult: (r) => results.push(r) }), {
    queueUrl: aws.stack.ingestQueueUrl,
    batchSize: 10,
    maxBatchingWindowMs: 100,
    pollers: 2,
  }).start();
  s3 = new S3Client({ ...localClientConfig(aws.moto.endpoint), forcePathStyle: true });
  dir = await mkdtemp(join(tmpdir(), 'vmon-history-'));
});

afterAll(async () => {
  await mapping?.stop();
  s3?.destroy();
  await aws?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

const send = (events: unknown[]) =>
  aws.sqs.send(new SendMessageCommand({ QueueUrl: aws.stack.ingestQueueUrl, MessageBody: JSON.stringify(events) }));
const accepted = () => results.reduce((n, r) => n + r.events, 0);
const location = (): HistoryLocation => ({ s3, bucket: aws.stack.historyBucket!, prefix: HISTORY.eventsPrefix });
async function ids(q = {}) {
  const out: string[] = [];
  for await (const batch of readHistory(location(), q)) out.push(...batch.map((e) => e.id));
  return out;
}

describe('metric history on the local stack', () => {
  const sent: WireMetricEvent[] = [];

  it('keeps every accepted event once, in Parquet under camera_bucket / dt / modality / model_version', async () => {
    // 3 cameras × 2 model versions × 2 modalities over two UTC days; one message sent twice.
    const batches: WireMetricEvent[][] = [];
    for (const [c, camera] of ['cam-a', 'cam-b', 'cam-c'].entries())
      for (const [v, model] of ['det-v3', 'det/v4'].entries()) {
        const modality = c === 2 ? 'Thermal' : 'Rgb';
        batches.push(
          Array.from({ length: 20 }, (_, k) =>
            wireEvent({ camera_id: camera, modality, model_version: model, value: 0.1, i: v * 86_400 + k * 3_600 }),
          ),
        );
      }
    for (const b of batches) {
      sent.push(...b);
      await send(b);
    }
    await send(batches[0]!); // a producer retry: the same ids again
    await send([{ camera_id: 'cam-a', metric: 'Bogus' }]); // rejected: never in the history
    await waitFor(accepted, (n) => n >= sent.length + 20, 20_000);

    const delivered = await deliverLocalHistory(s3, aws.stack.historyBucket!);
    expect(delivered.events).toBe(sent.length + 20);
    expect(delivered.failedLines).toBe(0);
    const left = await s3.send(
      new ListObjectsV2Command({ Bucket: aws.stack.historyBucket, Prefix: HISTORY.incomingPrefix }),
    );
    expect(left.KeyCount ?? 0).toBe(0);

    const objects = await listHistoryObjects(location());
    for (const o of objects)
      expect(o.key).toMatch(
        /^events\/camera_bucket=\d\d\/dt=\d{4}-\d{2}-\d{2}\/modality=(Rgb|Thermal)\/model_version=[^/]+\/.+\.parquet$/,
      );
    // One partition per UTC event date, modality and model version sent (the version URI-encoded).
    const expected = new Set(
      sent.map(
        (e) =>
          `camera_bucket=${cameraBucketValue(cameraBucket(e.camera_id))}/dt=${e.timestamp.slice(0, 10)}/modality=${e.modality}/model_version=${encodeURIComponent(e.model_version!)}`,
      ),
    );
    expect(expected.size).toBeGreaterThanOrEqual(6);
    expect(new Set(objects.map((o) => o.key.split('/').slice(1, 5).join('/')))).toEqual(expected);

    const read = await ids();
    const distinct = new Set(read);
    expect(distinct).toEqual(new Set(sent.map((e) => e.id)));
    expect(read.length - distinct.size).toBe(20); // the resent message, removed by dedup on id
  });

  it('reads the events back with their fields, pruned by model, modality and time', async () => {
    const byId = new Map(sent.map((e) => [e.id, e]));
    for await (const e of (async function* () {
      for await (const batch of readHistory(location(), { model: 'det/v4', modality: 'Thermal' })) yield* batch;
    })()) {
      const w = byId.get(e.id)!;
      expect(e).toMatchObject({
        camera_id: w.camera_id,
        modality: 'Thermal',
        model_version: 'det/v4',
        metric: w.metric,
      });
      expect(e.ts).toBe(Date.parse(w.timestamp));
      expect(e.value).toBe(w.value);
    }
    expect(new Set(await ids({ model: 'det/v4', modality: 'Thermal' }))).toEqual(
      new Set(sent.filter((e) => e.model_version === 'det/v4' && e.modality === 'Thermal').map((e) => e.id)),
    );
    const since = BASE_TIME + 86_400_000;
    const until = since + 10 * 3_600_000;
    expect(new Set(await ids({ since, until }))).toEqual(
      new Set(sent.filter((e) => Date.parse(e.timestamp) >= since && Date.parse(e.timestamp) < until).map((e) => e.id)),
    );
    // A query for a day with no history lists nothing.
    expect(
      await listHistoryObjects(location(), { since: BASE_TIME - 10 * 86_400_000, until: BASE_TIME - 9 * 86_400_000 }),
    ).toEqual([]);
  });

  it('is found through the local stack file (--from local)', async () => {
    const file = join(dir, 'stack.json');
    await writeFile(file, JSON.stringify(aws.stack));
    const spec = await resolveHistorySource('local', { stackFile: file, modality: 'Rgb' });
    expect(spec).toMatchObject({
      bucket: aws.stack.historyBucket,
      endpoint: aws.moto.endpoint,
      query: { modality: 'Rgb' },
    });
    const loc = historyLocation(spec);
    const n = (await listHistoryObjects(loc, spec.query)).length;
    loc.s3.destroy();
    expect(n).toBeGreaterThan(0);
    await writeFile(file, JSON.stringify({ ...aws.stack, historyBucket: undefined }));
    await expect(resolveHistorySource('local', { stackFile: file })).rejects.toThrow(/keeps no history/);
    await expect(resolveHistorySource('local', { stackFile: join(dir, 'none.json') })).rejects.toThrow(/npm run local/);
  });

  it('replays through vmon backtest --from local as the same events from a file (same triggerIds)', async () => {
    const drifting = Array.from({ length: 30 }, (_, k) =>
      wireEvent({ camera_id: 'cam-z', model_version: 'det-v3', value: k < 10 ? 0.1 : 0.9, i: 3 * 86_400 + k * 60 }),
    );
    const mark = accepted();
    await send(drifting.slice(0, 15));
    await send(drifting.slice(15));
    await waitFor(accepted, (n) => n >= mark + drifting.length, 20_000);
    await deliverLocalHistory(s3, aws.stack.historyBucket!);
    const all = [...sent, ...drifting];

    const policyFile = join(dir, 'policy.json');
    await writeFile(policyFile, JSON.stringify(driftPolicy(3, 0.7)));
    const eventsFile = join(dir, 'events.jsonl');
    await writeFile(eventsFile, `${all.map((e) => JSON.stringify(e)).join('\n')}\n`);
    const stackFile = join(dir, 'stack.json');
    await writeFile(stackFile, JSON.stringify(aws.stack));

    const fromFile = await runVmon(['backtest', eventsFile, '--policy', policyFile, '--json', '--workers', '1']);
    const fromHistory = await runVmon([
      '--stack-file',
      stackFile,
      'backtest',
      '--from',
      'local',
      '--policy',
      policyFile,
      '--json',
      '--workers',
      '2',
    ]);
    expect(fromHistory.stderr).toBe('');
    expect(fromHistory.code).toBe(0);
    const a = JSON.parse(fromFile.stdout) as { triggers: { triggerId: string }[]; totals: { applied: number } };
    const b = JSON.parse(fromHistory.stdout) as typeof a & { totals: { duplicates: number } };
    expect(a.triggers.length).toBeGreaterThan(0);
    expect(b.triggers.map((t) => t.triggerId)).toEqual(a.triggers.map((t) => t.triggerId));
    expect(b.totals.applied).toBe(a.totals.applied);
    expect(b.totals.duplicates).toBe(20); // the resent message, in the history twice

    // Pruned to one model: only that model's cameras.
    const one = await runVmon([
      '--stack-file',
      stackFile,
      'backtest',
      '--from',
      'local',
      '--model',
      'det/v4',
      '--json',
    ]);
    expect(JSON.parse(one.stdout).totals.events).toBe(all.filter((e) => e.model_version === 'det/v4').length);
    const bad = await runVmon(['--stack-file', stackFile, 'backtest', '--from', 'local', '--modality', 'Sonar']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--modality must be one of Rgb \| Thermal \| Depth, got "Sonar"/);
    const both = await runVmon(['backtest', eventsFile, '--since', '2026-11-27']);
    expect(both.stderr).toMatch(/--since apply only with --from/);

    // vmon tune --from local: the same candidates and choice as from the file.
    const labels = join(dir, 'labels.json');
    const driftStart = drifting[10]!.timestamp;
    await writeFile(
      labels,
      JSON.stringify({ 'cam-z': [[driftStart, drifting.at(-1)!.timestamp]], 'cam-a': [], 'cam-b': [], 'cam-c': [] }),
    );
    const tuneArgs = [
      '--labels',
      labels,
      '--budget',
      '5',
      '--detectors',
      'cusum',
      '--json',
      '--out',
      join(dir, 't.json'),
    ];
    const tunedFile = await runVmon(['tune', eventsFile, ...tuneArgs, '--workers', '1']);
    const tunedHistory = await runVmon(['--stack-file', stackFile, 'tune', '--from', 'local', ...tuneArgs]);
    expect(tunedHistory.code, tunedHistory.stderr).toBe(tunedFile.code);
    const [tf, th] = [tunedFile, tunedHistory].map(
      (r) => JSON.parse(r.stdout) as { best: unknown; candidates: unknown[] },
    );
    expect(th!.candidates.length).toBeGreaterThan(0);
    expect(th!.best).toEqual(tf!.best);
  });

  it('retries a failed history write, and counts events dropped without failing their messages', async () => {
    const faults = injectFaults(fn.clients.firehose, [{ command: 'PutRecordBatch', fault: 'server-error', times: 1 }]);
    try {
      const first = results.length;
      const retried = Array.from({ length: 5 }, (_, k) => wireEvent({ camera_id: 'cam-r', i: 100 + k }));
      await send(retried);
      await waitFor(
        () => results.length,
        (n) => n > first,
        10_000,
      );
      expect(results.slice(first).reduce((n, r) => n + (r.history?.recorded ?? 0), 0)).toBe(5);

      faults.setRules([{ command: 'PutRecordBatch', fault: 'throttle' }]);
      const mark = results.length;
      const dropped = Array.from({ length: 4 }, (_, k) => wireEvent({ camera_id: 'cam-d', i: 200 + k }));
      await send(dropped);
      await waitFor(
        () => results.length,
        (n) => n > mark,
        10_000,
      );
      const after = results.slice(mark);
      expect(after.reduce((n, r) => n + (r.history?.dropped ?? 0), 0)).toBe(4);
      expect(after.flatMap((r) => r.failedMessageIds)).toEqual([]);
      expect(after.reduce((n, r) => n + r.applied, 0)).toBe(4);
    } finally {
      faults.remove();
    }
  });
});
