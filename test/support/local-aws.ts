// Test fixture: moto on a free port + the stack's resources, created from lib/resources.ts.
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { SQSClient, ReceiveMessageCommand, DeleteMessageBatchCommand, type Message } from '@aws-sdk/client-sqs';
import { CameraStateStore } from '../../lib/adapters/state-store.js';
import type { VersionedState } from '../../lib/app/ports.js';
import { startMoto, type MotoServer } from '../../lib/local/moto-server.js';
import { LocalEventSourceMapping } from '../../lib/local/event-source-mapping.js';
import {
  createLocalStack,
  functionEnv,
  localClientConfig,
  type LocalStack,
  type LocalStackOptions,
} from '../../lib/local/local-stack.js';

export interface LocalAws {
  moto: MotoServer;
  stack: LocalStack;
  sqs: SQSClient;
  ddb: DynamoDBClient;
  eventBridge: EventBridgeClient;
  stop(): Promise<void>;
}

export async function startLocalAws(opts: LocalStackOptions = {}): Promise<LocalAws> {
  const moto = await startMoto();
  try {
    const stack = await createLocalStack(moto.endpoint, opts);
    const cfg = localClientConfig(moto.endpoint);
    const sqs = new SQSClient(cfg),
      ddb = new DynamoDBClient(cfg),
      eventBridge = new EventBridgeClient(cfg);
    return {
      moto,
      stack,
      sqs,
      ddb,
      eventBridge,
      async stop() {
        sqs.destroy();
        ddb.destroy();
        eventBridge.destroy();
        await moto.stop();
      },
    };
  } catch (err) {
    await moto.stop();
    throw err;
  }
}

/** A camera's stored state, read as the functions read it (version 0: no item). */
export function readCamera(aws: LocalAws, cameraId: string): Promise<VersionedState> {
  return new CameraStateStore(aws.ddb, aws.stack.tableName).load(cameraId);
}

/** Points process.env at the local stack, as Lambda's configuration would. */
export function useFunctionEnv(stack: LocalStack, extra: Record<string, string> = {}): void {
  Object.assign(process.env, functionEnv(stack), extra);
}

/** Receives (and deletes) messages until `count` arrived or `timeoutMs` passed. */
export async function drain(sqs: SQSClient, queueUrl: string, count: number, timeoutMs = 10_000): Promise<Message[]> {
  const out: Message[] = [];
  const deadline = Date.now() + timeoutMs;
  while (out.length < count && Date.now() < deadline) {
    const r = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: queueUrl,
        MaxNumberOfMessages: 10,
        WaitTimeSeconds: 1,
        MessageAttributeNames: ['All'],
        MessageSystemAttributeNames: ['All'],
      }),
    );
    const msgs = r.Messages ?? [];
    if (msgs.length) {
      out.push(...msgs);
      await sqs.send(
        new DeleteMessageBatchCommand({
          QueueUrl: queueUrl,
          Entries: msgs.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle! })),
        }),
      );
    }
  }
  return out;
}

/**
 * The real ingest and model-lifecycle handlers polling their local queues, as Lambda's event-source
 * mappings would. Call useFunctionEnv first: the handler modules read their environment on import.
 */
export async function startMonitorHandlers(
  aws: LocalAws,
  ingest: { batchSize?: number; maxBatchingWindowMs?: number; pollers?: number } = {},
): Promise<LocalEventSourceMapping[]> {
  const ingestHandler = await import('../../functions/ingest.js');
  const lifecycleHandler = await import('../../functions/model-lifecycle.js');
  return [
    new LocalEventSourceMapping(aws.sqs, ingestHandler.handler, {
      queueUrl: aws.stack.ingestQueueUrl,
      batchSize: 10,
      maxBatchingWindowMs: 100,
      ...ingest,
    }).start(),
    new LocalEventSourceMapping(aws.sqs, lifecycleHandler.handler, {
      queueUrl: aws.stack.lifecycleQueueUrl,
      batchSize: 10,
      pollers: 1,
    }).start(),
  ];
}

/** Reads until `done` holds or `timeoutMs` passes; returns the last value read (assert on it). */
export async function waitFor<T>(read: () => T | Promise<T>, done: (v: T) => boolean, timeoutMs = 15_000): Promise<T> {
  let v = await read();
  for (const until = Date.now() + timeoutMs; !done(v) && Date.now() < until; v = await read())
    await new Promise((r) => setTimeout(r, 100));
  return v;
}
