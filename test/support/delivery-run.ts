// Shared by the delivery property tests: the in-process stand-in for Lambda's SQS poller (N workers
// taking batches, failed records and crashed invocations redelivered with their receive count), moto with faulty clients, and
// the triggers on the bus as the catch-all tap rule received them.
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { DeleteMessageBatchCommand, ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { BatchResult, IngestDeps, IngestRecord } from '../../lib/app/ingest-batch.js';
import { CameraStateStore } from '../../lib/adapters/state-store.js';
import { DeadLetterQueue } from '../../lib/adapters/dead-letter.js';
import { TriggerPublisher } from '../../lib/adapters/trigger-publisher.js';
import type { Policy } from '../../lib/core/policy.js';
import type { TriggerDetail } from '../../lib/core/trigger.js';
import { localClientConfig } from '../../lib/local/local-stack.js';
import { startLocalAws, type LocalAws } from './local-aws.js';
import { injectFaults, type FaultInjector, type FaultRule } from '../../lib/local/faults.js';

export interface FaultyClients {
  aws: LocalAws;
  /** The clients the use case runs with, each with (initially empty) fault injection. */
  clients: { dynamodb: DynamoDBClient; eventBridge: EventBridgeClient; sqs: SQSClient };
  faults: { dynamodb: FaultInjector; eventBridge: FaultInjector };
  stop(): Promise<void>;
}

/** The ingest use case's real adapters on the faulty clients, one policy, a fixed clock. */
export function adapterDeps({ aws, clients }: FaultyClients, policy: Policy, nowMs: number): IngestDeps {
  return {
    store: new CameraStateStore(clients.dynamodb, aws.stack.tableName),
    publisher: new TriggerPublisher(clients.eventBridge, aws.stack.eventBusName),
    deadLetters: new DeadLetterQueue(clients.sqs, aws.stack.deadLetterQueueUrl),
    policy: () => policy,
    now: () => nowMs,
  };
}

/** Starts moto with the stack, and SDK clients for the use case with fault-injection middleware. */
export async function startFaultyClients(random?: () => number): Promise<FaultyClients> {
  const aws = await startLocalAws();
  const cfg = localClientConfig(aws.moto.endpoint);
  const clients = {
    dynamodb: new DynamoDBClient(cfg),
    eventBridge: new EventBridgeClient(cfg),
    sqs: new SQSClient(cfg),
  };
  const faults = {
    dynamodb: injectFaults(clients.dynamodb, [], random),
    eventBridge: injectFaults(clients.eventBridge, [], random),
  };
  return {
    aws,
    clients,
    faults,
    async stop() {
      for (const c of Object.values(clients)) c.destroy();
      await aws.stop();
    },
  };
}

/**
 * Delivers `queue` (mutated) to `invoke` in batches of `batchSizes` (cycled) from `workers`
 * concurrent workers until it is empty; returns the number of invocations.
 */
export async function deliverConcurrently(
  queue: IngestRecord[],
  invoke: (records: IngestRecord[]) => Promise<BatchResult>,
  workers: number,
  batchSizes: readonly number[],
  maxDeliveries = 3000,
): Promise<number> {
  let deliveries = 0,
    b = 0;
  const worker = async () => {
    while (queue.length > 0) {
      const batch = queue.splice(0, batchSizes[b++ % batchSizes.length]!);
      deliveries++;
      if (deliveries > maxDeliveries) throw new Error(`no progress: more than ${maxDeliveries} deliveries`);
      // A record that comes back has been received once more (SQS ApproximateReceiveCount).
      const again = (rec: IngestRecord) => ({ ...rec, receiveCount: (rec.receiveCount ?? 1) + 1 });
      try {
        const r = await invoke(batch);
        const failed = new Set(r.failedMessageIds);
        queue.push(...batch.filter((rec) => failed.has(rec.messageId)).map(again));
      } catch {
        queue.push(...batch.map(again)); // the invocation died: the whole batch comes back
      }
      // Let the other workers' redeliveries interleave.
      await new Promise((r) => setImmediate(r));
    }
  };
  await Promise.all(Array.from({ length: workers }, worker));
  return deliveries;
}

/** Receives and deletes everything on the tap queue; returns the triggers of cameras named `${prefix}-…`. */
export async function drainTap(aws: LocalAws, prefix: string): Promise<(TriggerDetail & { detailType: string })[]> {
  const details: (TriggerDetail & { detailType: string })[] = [];
  for (;;) {
    const r = await aws.sqs.send(
      new ReceiveMessageCommand({ QueueUrl: aws.stack.tapQueueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 0 }),
    );
    const msgs = r.Messages ?? [];
    if (msgs.length === 0) return details;
    for (const m of msgs) {
      const event = JSON.parse(m.Body!) as { 'detail-type': string; detail: TriggerDetail };
      // Model-scope triggers (fleet decisions) name the cohort's model version instead of a camera.
      if (String(event.detail.cameraId ?? event.detail.modelVersion).startsWith(`${prefix}-`))
        details.push({ ...event.detail, detailType: event['detail-type'] });
    }
    await aws.sqs.send(
      new DeleteMessageBatchCommand({
        QueueUrl: aws.stack.tapQueueUrl,
        Entries: msgs.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle! })),
      }),
    );
  }
}

/** Every fault kind on the ingest path's DynamoDB and EventBridge calls, `rate` per call in all. */
export function deliveryFaultRules(rate: number): { dynamodb: FaultRule[]; eventBridge: FaultRule[] } {
  if (rate === 0) return { dynamodb: [], eventBridge: [] };
  const each = (command: string, kinds: FaultRule['fault'][]) =>
    kinds.map((fault) => ({ command, fault, probability: rate / kinds.length }));
  return {
    dynamodb: [
      ...each('GetItem', ['throttle', 'server-error']),
      ...each('PutItem', ['throttle', 'server-error', 'lost-response', 'conditional-conflict', 'crash']),
    ],
    eventBridge: each('PutEvents', ['partial-failure', 'server-error', 'lost-response', 'crash']),
  };
}
