// Covers the Python (boto3) producer in examples/producers/python through the project venv: its
// own unittest suite against moto's SQS (per-camera packing, linger, full messages, retries of
// failed entries, bad events refused), then its example fleet sent to the local stack's ingest
// queue and consumed by the real ingest handler through the local event-source mapping: one
// message per camera, every record acknowledged, nothing dead-lettered, every camera's state stored.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalEventSourceMapping, type BatchOutcome } from '../../lib/local/event-source-mapping.js';
import { PROJECT_ROOT } from '../../lib/local/moto-server.js';
import { queueDepth } from '../../lib/local/queues.js';
import { readCamera, startLocalAws, useFunctionEnv, type LocalAws } from '../support/local-aws.js';

const PYTHON = join(PROJECT_ROOT, '.venv', 'bin', 'python');
const DIR = join(PROJECT_ROOT, 'examples', 'producers', 'python');

let aws: LocalAws;
beforeAll(async () => {
  aws = await startLocalAws();
});
afterAll(async () => {
  await aws?.stop();
});

const python = (args: string[]) =>
  spawnSync(PYTHON, args, {
    cwd: DIR,
    encoding: 'utf8',
    timeout: 120_000,
    // Exactly the variables docs/producers.md tells the user to set, none inherited: boto3 reads
    // AWS_DEFAULT_REGION, and setting AWS_REGION too here once hid that the docs gave only that one.
    env: {
      ...Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('AWS_'))),
      AWS_ENDPOINT_URL: aws.stack.endpoint,
      AWS_DEFAULT_REGION: aws.stack.region,
      AWS_ACCESS_KEY_ID: 'testing',
      AWS_SECRET_ACCESS_KEY: 'testing',
    },
  });

describe('Python boto3 producer', () => {
  it('passes its own tests against moto through the project venv', () => {
    const r = python(['-m', 'unittest', '-v', 'test_producer']);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/Ran 5 tests/);
    expect(r.stderr).toMatch(/\nOK\n?$/);
  }, 150_000);

  it('sends a fleet the real handler applies: one message per camera, nothing dead-lettered', async () => {
    const r = python(['producer.py', aws.stack.ingestQueueUrl, '4', '6']);
    expect(r.status, r.stderr).toBe(0);
    // 4 cameras × 6 rounds × 5 metrics, one message per camera, in one SendMessageBatch.
    expect(JSON.parse(r.stdout.trim())).toEqual({ sent: 120, messages: 4, requests: 1 });

    useFunctionEnv(aws.stack);
    const { handler } = await import('../../functions/ingest.js');
    const outcomes: BatchOutcome[] = [];
    const mapping = new LocalEventSourceMapping(aws.sqs, handler, {
      queueUrl: aws.stack.ingestQueueUrl,
      batchSize: 10,
      maxBatchingWindowMs: 200,
      pollers: 1,
      onBatch: (o) => outcomes.push(o),
    }).start();
    const deadline = Date.now() + 20_000;
    while (outcomes.flatMap((o) => o.records).length < 4 && Date.now() < deadline)
      await new Promise((res) => setTimeout(res, 100));
    await mapping.stop();

    const records = outcomes.flatMap((o) => o.records);
    expect(records).toHaveLength(4);
    expect(outcomes.every((o) => o.failedIds.size === 0 && !o.error)).toBe(true);
    for (const rec of records)
      expect(new Set(JSON.parse(rec.body).map((e: { camera_id: string }) => e.camera_id)).size).toBe(1);
    expect(await queueDepth(aws.sqs, aws.stack.deadLetterQueueUrl)).toBe(0);
    for (let c = 0; c < 4; c++) {
      const { state } = await readCamera(aws, `py-cam-${c}`);
      expect(Object.keys(state.streams)).toHaveLength(5);
      for (const entries of Object.values(state.streams)) expect(entries).toHaveLength(6);
    }
  }, 60_000);
});
