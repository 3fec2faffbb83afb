// Covers what a batch reports when the SDK retried a state write that had landed (its reply was lost,
// the retry met the write itself as a conditional conflict): on moto, through the real state-store
// adapter, the batch counts the events as applied once (what landed), not as duplicates, and the
// stored window holds each event once. The fault is injected by SDK middleware on the real client.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ingestBatch } from '../../lib/app/ingest-batch.js';
import { driftPolicy } from '../../lib/core/policy.js';
import { adapterDeps, startFaultyClients, type FaultyClients } from '../support/delivery-run.js';
import { readCamera } from '../support/local-aws.js';
import { BASE_TIME, wireEvent } from '../support/fixtures.js';

let env: FaultyClients;
beforeAll(async () => {
  env = await startFaultyClients();
});
afterAll(async () => {
  await env?.stop();
});

describe('a state write resent after it landed', () => {
  it('is reported as applied once, and the window holds each event once', async () => {
    const { aws, faults } = env;
    const deps = adapterDeps(env, driftPolicy(3, 0.99), BASE_TIME + 3_600_000);
    faults.dynamodb.setRules([{ command: 'PutItem', fault: 'resent-after-landing', times: 1 }]);
    const body = JSON.stringify([0.1, 0.2, 0.3].map((value, i) => wireEvent({ camera_id: 'resent', value, i })));
    const r = await ingestBatch([{ messageId: 'm1', body }], deps);
    faults.dynamodb.setRules([]);
    expect(faults.dynamodb.counters.injected['PutItem:resent-after-landing']).toBe(1);
    expect(r).toMatchObject({ events: 3, applied: 3, duplicates: 0, conflicts: 0, failedMessageIds: [] });
    const { state, version } = await readCamera(aws, 'resent');
    expect(state.streams['Rgb.DriftScore']).toHaveLength(3);
    expect(version).toBe(1);
  });
});
