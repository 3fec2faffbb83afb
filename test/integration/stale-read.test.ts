// Covers the camera state store's eventually consistent read: on moto, through the real state-store
// adapter and ingest use case, a load that returns an older item (served by SDK middleware on the real
// client, as a lagging replica would) makes the conditional write fail once; the batch is re-applied on
// the item that failure returned, so every event lands once and a redelivered one is a duplicate.
import type { GetItemCommandOutput } from '@aws-sdk/client-dynamodb';
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

describe('a stale read of a camera item', () => {
  it('costs one failed condition, and every event still lands once', async () => {
    const { aws, clients } = env;
    const deps = adapterDeps(env, driftPolicy(3, 0.99), BASE_TIME + 3_600_000);
    const events = (from: number, camera = 'stale') =>
      [0.1, 0.2, 0.3].map((value, k) => wireEvent({ camera_id: camera, value, i: from + k }));
    const message = (id: string, body: unknown[]) => ({ messageId: id, body: JSON.stringify(body) });

    expect((await ingestBatch([message('a', events(0))], deps)).applied).toBe(3);

    // From here on, eventually consistent reads see the item as the next read finds it, and keep seeing it.
    let snapshot: GetItemCommandOutput | undefined;
    const consistency: (boolean | undefined)[] = [];
    clients.dynamodb.middlewareStack.add(
      (next, context) => async (args) => {
        if (context.commandName !== 'GetItemCommand') return next(args);
        const consistent = (args.input as { ConsistentRead?: boolean }).ConsistentRead;
        consistency.push(consistent);
        if (consistent) return next(args);
        if (snapshot) return { output: snapshot, response: {} } as Awaited<ReturnType<typeof next>>;
        const out = await next(args);
        snapshot = out.output as GetItemCommandOutput;
        return out;
      },
      { step: 'initialize', name: 'staleReplica' },
    );
    try {
      const b = events(10);
      expect(await ingestBatch([message('b', b)], deps)).toMatchObject({ applied: 3, conflicts: 0 });
      // The read returns the item before b: its write conflicts, and b's redelivered event is a duplicate.
      const c = await ingestBatch([message('c', [...events(20), b[0]])], deps);
      expect(c).toMatchObject({ applied: 3, duplicates: 1, conflicts: 1, failedMessageIds: [] });
    } finally {
      clients.dynamodb.middlewareStack.remove('staleReplica');
    }
    expect(consistency.length).toBeGreaterThanOrEqual(2);
    expect(consistency.every((c) => c === false)).toBe(true);
    // The same batches with fresh reads leave the same stream.
    const fresh = events(10, 'fresh');
    const batches: [string, unknown[]][] = [
      ['a', events(0, 'fresh')],
      ['b', fresh],
      ['c', [...events(20, 'fresh'), fresh[0]]],
    ];
    for (const [id, body] of batches) await ingestBatch([message(`fresh-${id}`, body)], deps);
    const stale = await readCamera(aws, 'stale');
    const control = await readCamera(aws, 'fresh');
    expect(stale.version).toBe(3);
    const points = (c: typeof stale) => c.state.streams['Rgb.DriftScore']!.map((e) => [e.ts, e.value]);
    expect(points(stale)).toEqual(points(control));
    expect(stale.state.streams['Rgb.DriftScore']!.length).toBeGreaterThan(3);
  });
});
