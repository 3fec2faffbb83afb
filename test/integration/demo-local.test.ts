// Covers `npm run local` as a user meets it: the script started as its own process writes
// .local/stack.json-style connection details; a message sent by a plain SQS client to
// ingestQueueUrl comes out as a RetrainingRequested on tapQueueUrl; the simulated training pipeline
// takes it and reports back, which resolves the alert (AlertResolved by RetrainingCompleted on the
// tap); SIGTERM stops everything (moto included) and removes the file.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { LOCAL_CREDENTIALS } from '../../lib/local/moto-server.js';
import { drain } from '../support/local-aws.js';
import { wireEvent } from '../support/fixtures.js';

const stackFile = join(mkdtempSync(join(tmpdir(), 'vmon-local-')), 'stack.json');
let child: ChildProcess | undefined;
let output = '';

afterAll(() => {
  if (child && child.exitCode === null) child.kill('SIGKILL');
});

async function waitFor(what: string, ok: () => boolean, timeoutMs: number) {
  const deadline = Date.now() + timeoutMs;
  while (!ok()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; output so far:\n${output}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('npm run local', () => {
  it('serves the stack to any SQS client and stops cleanly on SIGTERM', async () => {
    child = spawn(
      resolve('node_modules/.bin/tsx'),
      ['scripts/local.ts', '--stack-file', stackFile, '--training-seconds', '1'],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    child.stdout!.on('data', (d: Buffer) => {
      output += d.toString();
    });
    child.stderr!.on('data', (d: Buffer) => {
      output += d.toString();
    });
    const exited = new Promise<number | null>((r) => child!.once('exit', (code) => r(code)));
    await waitFor('the stack file', () => existsSync(stackFile), 45_000);

    const stack = JSON.parse(readFileSync(stackFile, 'utf8')) as Record<string, string>;
    for (const k of [
      'endpoint',
      'region',
      'ingestQueueUrl',
      'deadLetterQueueUrl',
      'tableName',
      'eventBusName',
      'retrainingQueueUrl',
      'tapQueueUrl',
    ]) {
      expect(typeof stack[k], k).toBe('string');
    }
    const sqs = new SQSClient({ endpoint: stack.endpoint, region: stack.region, credentials: LOCAL_CREDENTIALS });
    try {
      // Ten DriftScore values whose mean passes the default policy's 0.7: one RetrainingRequested.
      const events = Array.from({ length: 10 }, (_, i) => wireEvent({ camera_id: 'cam-local', value: 0.9, i }));
      await sqs.send(new SendMessageCommand({ QueueUrl: stack.ingestQueueUrl, MessageBody: JSON.stringify(events) }));
      const tapped = await drain(sqs, stack.tapQueueUrl!, 1, 20_000);
      expect(tapped).toHaveLength(1);
      const event = JSON.parse(tapped[0]!.Body!);
      expect(event['detail-type']).toBe('RetrainingRequested');
      expect(event.detail.cameraId).toBe('cam-local');
      // The simulated training pipeline closes the loop: the published alert resolves by its report.
      const resolved = await drain(sqs, stack.tapQueueUrl!, 1, 20_000);
      expect(resolved.map((m) => JSON.parse(m.Body!).detail)).toEqual([
        expect.objectContaining({ cameraId: 'cam-local', resolvedBy: 'RetrainingCompleted' }),
      ]);
      expect(output).toContain('training-pipeline: RetrainingCompleted + ModelDeployed');
    } finally {
      sqs.destroy();
    }

    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(existsSync(stackFile)).toBe(false);
    await expect(fetch(stack.endpoint!, { signal: AbortSignal.timeout(2000) })).rejects.toThrow();
    expect(output).toContain('stopped;');
  }, 90_000);
});
