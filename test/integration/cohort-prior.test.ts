// Covers the live cohort prior on moto through the real ingest handler (functions/ingest.ts, its wiring,
// DynamoDB cohort items): established cameras of one cohort (model version + modality) report their
// baselines once their warm-up ends, the cohort head's shard summaries then hold the cohort prior (shown
// by `vmon state --model`), and a
// new camera joining that cohort arms its charts on it from its first value (its item stays ≤ 1 KB) and
// catches a drift it has from its first event; a camera of a cohort with no data warms up as before and
// does not see the same drift; `vmon backtest` of the same events reproduces both cameras' charts.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GetItemCommand } from '@aws-sdk/client-dynamodb';
import type { SQSEvent } from 'aws-lambda';
import { PolicyStore } from '../../lib/adapters/policy-store.js';
import { DynamoCohortStore } from '../../lib/adapters/cohort-store.js';
import { itemSizeBytes } from '../../lib/adapters/item-size.js';
import { cohortPriorOf } from '../../lib/core/cohort.js';
import { parsePolicy, type PolicyInput } from '../../lib/core/policy.js';
import { STATE_TABLE } from '../../lib/resources.js';
import { seededRandom } from '../../lib/local/faults.js';
import { readCamera, startLocalAws, useFunctionEnv, type LocalAws } from '../support/local-aws.js';
import { BASE_TIME, sqsRecord, wireEvent } from '../support/fixtures.js';
import { parseBody, type WireMetricEvent } from '../../lib/core/metric-event.js';
import { backtestEventsWithCohorts } from '../../lib/cli/backtest.js';
import { runVmon, tempDir, writeStackFile } from './cli-support.js';

const MIN = 60_000;
const WARMUP = 40;
const POLICY = {
  id: 'cohort-prior',
  cooldownSeconds: 0,
  detectors: [
    { id: 'drift-cusum', kind: 'cusum', metric: 'DriftScore', action: 'RetrainingRequested', warmup: WARMUP },
    { id: 'drift-ewma', kind: 'ewma', metric: 'DriftScore', action: 'RetrainingRequested', warmup: WARMUP },
  ],
};

let aws: LocalAws;
let handler: (event: SQSEvent) => Promise<unknown>;
const rand = (() => {
  const u = seededRandom(11);
  return () => Math.sqrt(-2 * Math.log(1 - u())) * Math.cos(2 * Math.PI * u());
})();

beforeAll(async () => {
  aws = await startLocalAws();
  await new PolicyStore(aws.ddb, aws.stack.tableName).put('fleet', POLICY);
  useFunctionEnv(aws.stack);
  ({ handler } = await import('../../functions/ingest.js'));
});
afterAll(async () => {
  await aws?.stop();
});

/** Every event sent, for the backtest replay. */
const sent: WireMetricEvent[] = [];

/**
 * One camera's values, one a minute from `fromMinute`, through the handler in messages of 20 events,
 * `perCall` events per invocation (a camera's member records are made per batch).
 */
async function send(camera: string, modelVersion: string, fromMinute: number, values: number[], perCall = 100) {
  const events = values.map((value, k) =>
    wireEvent({
      camera_id: camera,
      model_version: modelVersion,
      value,
      timestamp: new Date(BASE_TIME + (fromMinute + k) * MIN).toISOString(),
    }),
  );
  sent.push(...events);
  for (let call = 0; call < events.length; call += perCall) {
    const batch = events.slice(call, call + perCall);
    const records = [];
    for (let k = 0; k < batch.length; k += 20) records.push(sqsRecord(JSON.stringify(batch.slice(k, k + 20))));
    const r = (await handler({ Records: records })) as { batchItemFailures: unknown[] };
    expect(r.batchItemFailures).toEqual([]);
  }
}

const noise = (level: number, n: number) => Array.from({ length: n }, () => level + 0.05 * rand());
const ewmaOf = async (camera: string) => {
  const { state } = await readCamera(aws, camera);
  return { state, t: (state.det['drift-ewma@Rgb'] as { t: number } | undefined)?.t ?? 0 };
};

describe('the cohort prior through the ingest handler', () => {
  it('established cameras put their baselines into the cohort head', async () => {
    // Batches of 5 minutes, as `vmon backtest` slices histories: both make the same member records.
    for (let c = 0; c < 6; c++) await send(`old-${c}`, 'det-v1', 0, noise(0.2 + 0.01 * rand(), 60), 5);
    const head = await new DynamoCohortStore(aws.ddb, aws.stack.tableName).loadHead({
      modelVersion: 'det-v1',
      modality: 'Rgb',
    });
    const prior = cohortPriorOf(head.head).DriftScore!;
    expect(prior.cameras).toBe(6);
    expect(prior.mean).toBeCloseTo(0.2, 1);
    expect(prior.sigma).toBeGreaterThan(0.03);
    expect(prior.sigma).toBeLessThan(0.08);
    // The operator sees it: vmon state --model.
    const stackFile = await writeStackFile(await tempDir(), aws.stack);
    const state = await runVmon(['--stack-file', stackFile, 'state', '--model', 'det-v1']);
    expect(state.code, state.stderr).toBe(0);
    expect(state.stdout).toMatch(/prior for new cameras: DriftScore mean 0\.\d+ sigma 0\.\d+ \(6 cameras\)/);
  });

  it('a new camera joining the cohort arms at once on it and catches a drift from its first event', async () => {
    await send('joiner', 'det-v1', 61, [0.3]);
    const first = await ewmaOf('joiner');
    expect(first.t).toBe(1); // charted from its first value
    // against the cohort's level (≈ 0.2) and spread (≈ 0.05): z ≈ +2 (Huber-clipped at 2.5), so the EWMA
    // stands near 2λ
    const lambda = (parsePolicy(POLICY as PolicyInput).detectors[1] as { lambda: number }).lambda;
    const z = (first.state.det['drift-ewma@Rgb'] as { z: number }).z;
    expect(z).toBeGreaterThan(lambda);
    expect(z).toBeLessThanOrEqual(2.5 * lambda);
    // Nothing of the prior is stored in the camera: its item stays within 1 KB (1 WCU) while it warms up.
    const item = await aws.ddb.send(
      new GetItemCommand({
        TableName: aws.stack.tableName,
        Key: { [STATE_TABLE.partitionKey.name]: { S: STATE_TABLE.cameraKey('joiner') } },
      }),
    );
    expect(itemSizeBytes(item.Item!)).toBeLessThanOrEqual(1024);
    // +2σ from its first event: the chart fires (model scope: the cohort hears of it, the alert records it).
    await send('joiner', 'det-v1', 62, noise(0.3, 29));
    const after = await ewmaOf('joiner');
    expect(after.t).toBe(30);
    expect(after.state.alerts['drift-ewma@Rgb']?.e ?? 0).toBeGreaterThanOrEqual(1);
  });

  it('a camera of a cohort with no data warms up as before and does not see the same drift', async () => {
    await send('loner', 'det-v9', 61, [0.3]);
    const first = await ewmaOf('loner');
    expect(first.t).toBe(0);
    await send('loner', 'det-v9', 62, noise(0.3, 29));
    const after = await ewmaOf('loner');
    expect(after.t).toBe(0); // 30 of 40 warm-up values: not armed
    expect(after.state.alerts['drift-ewma@Rgb']).toBeUndefined();
  });

  it('vmon backtest of the same events reproduces both cameras: the joiner on the prior, the loner warming up', async () => {
    const events = parseBody(JSON.stringify(sent), Date.now()).events;
    const replay = await backtestEventsWithCohorts(events, () => parsePolicy(POLICY as PolicyInput));
    for (const camera of ['joiner', 'loner']) {
      const live = (await readCamera(aws, camera)).state;
      const replayed = replay.states.get(camera)!;
      const chart = (s: typeof live) => s.det['drift-ewma@Rgb'] as { t: number; z: number };
      expect(chart(replayed).t, camera).toBe(chart(live).t);
      expect(chart(replayed).z, camera).toBeCloseTo(chart(live).z, 6);
      expect(replayed.alerts, camera).toEqual(live.alerts);
    }
  });
});
