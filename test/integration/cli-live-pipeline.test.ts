// The "done when", on moto with the real executable: `vmon send` a JSONL file into the
// local stack while the real ingest handler runs behind a local event-source mapping, then
// `vmon events tail` collects what the pipeline published, and `vmon backtest` on the same file
// must report exactly the same triggers (same triggerIds and types). `vmon state` and
// `vmon dlq list` agree with what was sent.
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SendMessageCommand } from '@aws-sdk/client-sqs';
import { LocalEventSourceMapping } from '../../lib/local/event-source-mapping.js';
import { rng } from '../support/streams.js';
import { startLocalAws, useFunctionEnv, type LocalAws } from '../support/local-aws.js';
import { runVmon, series, spawnVmon, tempDir, toJsonl, writeStackFile } from './cli-support.js';
import type { WireMetricEvent } from '../../lib/core/metric-event.js';

let aws: LocalAws;
let mapping: LocalEventSourceMapping | undefined;
let dir: string;
let stackFile: string;

beforeAll(async () => {
  aws = await startLocalAws({ visibilityTimeoutSeconds: 5 });
  dir = await tempDir();
  stackFile = await writeStackFile(dir, aws.stack);
});
afterAll(async () => {
  await mapping?.stop();
  await aws?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** Six cameras over ~2.5 hours, one value a minute, interleaved in time order as a fleet sends them. */
function fleetHistory(): WireMetricEvent[] {
  const start = Date.now() - 3 * 3600_000;
  const noise = rng(7);
  const n = 150;
  const jitter = (v: number, s: number) => Math.max(0, Number((v + s * noise.normal()).toFixed(4)));
  const step = (k: number, lo: number, hi: number, from: number, to: number) => (k >= from && k < to ? hi : lo);
  const all = [
    // drifts up, recovers, drifts again (cooldown and the in-flight retrain decide what fires)
    ...series(
      'cam01',
      'DriftScore',
      Array.from({ length: n }, (_, k) => jitter(step(k, 0.2, 0.9, 40, 80) + (k >= 120 ? 0.7 : 0), 0.03)),
      start,
      60_000,
    ),
    // slow for a while: SLA breach and resolution
    ...series(
      'cam02',
      'LatencyMs',
      Array.from({ length: n }, (_, k) => jitter(step(k, 90, 420, 60, 100), 10)),
      start,
      60_000,
      'Thermal',
    ),
    // accuracy falls after a baseline
    ...series(
      'cam03',
      'Accuracy',
      Array.from({ length: n }, (_, k) => Math.min(1, jitter(k < 90 ? 0.92 : 0.7, 0.01))),
      start,
      60_000,
    ).map((e) => ({ ...e, sample_count: 500 })),
    // healthy
    ...series(
      'cam04',
      'DriftScore',
      Array.from({ length: n }, () => jitter(0.2, 0.05)),
      start,
      60_000,
      'Depth',
    ),
    ...series(
      'cam05',
      'LatencyMs',
      Array.from({ length: n }, () => jitter(80, 15)),
      start,
      60_000,
    ),
    ...series(
      'cam06',
      'DriftScore',
      Array.from({ length: n }, (_, k) => jitter(step(k, 0.3, 0.8, 100, 150), 0.02)),
      start,
      60_000,
    ),
  ];
  return all.sort((a, b) => a.timestamp.localeCompare(b.timestamp) || a.camera_id.localeCompare(b.camera_id));
}

describe('vmon against the live local pipeline', () => {
  it('backtest reports exactly the triggers the live pipeline published for the same file', async () => {
    const events = fleetHistory();
    const file = join(dir, 'fleet.jsonl');
    await writeFile(file, toJsonl(events));

    // 1. The same file through the real executable into the ingest queue; one batch in flight keeps file order.
    const sent = await spawnVmon(['--stack-file', stackFile, 'send', file, '--in-flight', '1', '--json']);
    expect(sent.stderr).toBe('');
    expect(sent.code).toBe(0);
    const summary = JSON.parse(sent.stdout);
    expect(summary).toMatchObject({ events: events.length, sent: events.length, dropped: 0, rejected: 0 });
    // And one malformed message from some other producer: it must end up on the dead-letter queue.
    await aws.sqs.send(
      new SendMessageCommand({
        QueueUrl: aws.stack.ingestQueueUrl,
        MessageBody: '{"camera_id":"cam01","value":"high"}',
      }),
    );

    // 2. The real handler behind a local event-source mapping: small batches, so several invocations.
    useFunctionEnv(aws.stack);
    const { handler } = await import('../../functions/ingest.js');
    mapping = new LocalEventSourceMapping(aws.sqs, handler, {
      queueUrl: aws.stack.ingestQueueUrl,
      batchSize: 2,
      maxBatchingWindowMs: 0,
      pollers: 1,
    }).start();
    const deadline = Date.now() + 60_000;
    while (mapping.counters.deleted < summary.messages + 1 && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 200));
    expect(mapping.counters.deleted).toBe(summary.messages + 1);
    expect(mapping.counters.invocations).toBeGreaterThan(2);
    expect(mapping.counters.failedRecords).toBe(0);

    // 3. What backtest says should have fired.
    const bt = await spawnVmon(['backtest', file, '--json', '--no-report']);
    expect(bt.code).toBe(0);
    const backtest = JSON.parse(bt.stdout) as {
      totals: { events: number; triggers: number };
      triggers: { triggerId: string; detailType: string; cameraId: string }[];
    };
    expect(backtest.totals.events).toBe(events.length);
    // The scenario is built to fire: drift, SLA, regression, with resolutions.
    const types = new Set(backtest.triggers.map((t) => t.detailType));
    for (const t of ['RetrainingRequested', 'SlaBreached', 'AlertResolved']) expect(types).toContain(t);
    expect(backtest.triggers.some((t) => t.cameraId === 'cam04' || t.cameraId === 'cam05')).toBe(false);

    // 4. What the live pipeline published, read back through `vmon events tail`.
    const tail = await spawnVmon([
      '--stack-file',
      stackFile,
      'events',
      'tail',
      '--json',
      '--consume',
      '--max',
      String(backtest.triggers.length),
      '--timeout',
      '30',
    ]);
    expect(tail.code).toBe(0);
    const published = tail.stdout
      .trim()
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as { 'detail-type': string; detail: { triggerId: string } });
    const more = await runVmon(['--stack-file', stackFile, 'events', 'tail', '--json', '--timeout', '2']);
    expect(more.stdout).toBe(''); // nothing beyond what backtest predicted

    const live = published.map((e) => `${e['detail-type']} ${e.detail.triggerId}`).sort();
    const predicted = backtest.triggers.map((t) => `${t.detailType} ${t.triggerId}`).sort();
    expect(live).toEqual(predicted);

    // 5. State and dead letters tell the same story.
    const state = JSON.parse((await runVmon(['--stack-file', stackFile, 'state', 'cam02', '--json'])).stdout);
    const cam02 = events.filter((e) => e.camera_id === 'cam02');
    const window = state.state.streams['Thermal.LatencyMs'] as { ts: number }[];
    expect(window[window.length - 1]!.ts).toBe(Date.parse(cam02[cam02.length - 1]!.timestamp));
    expect(state.state.alerts['latency-p95@Thermal']).toMatchObject({
      f: false,
      e: backtest.triggers.filter((t) => t.cameraId === 'cam02' && t.detailType === 'SlaBreached').length,
    });
    const letters = JSON.parse((await runVmon(['--stack-file', stackFile, 'dlq', 'list', '--json'])).stdout);
    expect(letters).toHaveLength(1);
    expect(letters[0].reason).toMatch(/id is required/);
  });
});
