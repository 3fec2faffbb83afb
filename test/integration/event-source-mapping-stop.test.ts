// Covers stopping the local event-source mapping (lib/local/event-source-mapping.ts) between rounds
// on one queue, as the local-stack fuzz does (lib/chaos/fuzz.ts). Found by the fuzz: with its long
// polls cancelled, moto's side of a poll still took the next round's messages, and they stayed
// hidden for the visibility timeout (the round stalled for minutes). `stop({ letReceivesFinish })`
// lets the polls end first, so a message sent right after the stop is there for the next consumer.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ReceiveMessageCommand, SendMessageCommand } from '@aws-sdk/client-sqs';
import { LocalEventSourceMapping } from '../../lib/local/event-source-mapping.js';
import { queueDepth } from '../../lib/local/queues.js';
import { startLocalAws, type LocalAws } from '../support/local-aws.js';

let aws: LocalAws;
beforeAll(async () => {
  aws = await startLocalAws({ stage: 'esm-stop', visibilityTimeoutSeconds: 60 });
}, 60_000);
afterAll(async () => aws?.stop());

describe('LocalEventSourceMapping.stop', () => {
  it('regression (fuzz): with letReceivesFinish, no long poll of the stopped mapping takes a message sent after it', async () => {
    const queueUrl = aws.stack.ingestQueueUrl;
    const handled: string[] = [];
    const mapping = new LocalEventSourceMapping(
      aws.sqs,
      async (event) => {
        handled.push(...event.Records.map((r) => r.body));
        return { batchItemFailures: [] };
      },
      { queueUrl, pollers: 4, waitTimeSeconds: 2 },
    ).start();
    // The pollers are now waiting in long polls on an empty queue.
    await new Promise((r) => setTimeout(r, 300));
    await mapping.stop({ letReceivesFinish: true });

    await aws.sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: 'next round' }));
    await new Promise((r) => setTimeout(r, 2500)); // longer than any poll of the stopped mapping
    const r = await aws.sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, WaitTimeSeconds: 0 }));
    expect(r.Messages?.map((m) => m.Body)).toEqual(['next round']);
    expect(handled).toEqual([]);
    expect(mapping.counters.received).toBe(0);
    expect(await queueDepth(aws.sqs, queueUrl)).toBe(1); // the one just received, in flight
  }, 30_000);
});
