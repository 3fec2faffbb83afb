// Ingest Lambda: SQS batch → ingestBatch → partial batch response. Wiring only; logs, metrics and
// traces come from lib/adapters/observability.ts.
import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { SQSClient } from '@aws-sdk/client-sqs';
import { CameraStateStore } from '../lib/adapters/state-store.js';
import { numberEnv, requireEnv } from '../lib/adapters/env.js';
import { ObservedDeadLetterQueue, ObservedTriggerPublisher, createObservability, instrumented, recordBatch, traced } from '../lib/adapters/observability.js';
import { driftPolicy } from '../lib/core/policy.js';
import { ingestBatch } from '../lib/app/ingest-batch.js';
import { DEFAULT_DRIFT, ENV } from '../lib/resources.js';
import { SERVICE } from '../lib/telemetry.js';

const obs = createObservability(SERVICE.ingest);

// Built once per container. Exported so tests can add fault-injection middleware to these very clients.
export const clients = {
  dynamodb: traced(obs, new DynamoDBClient({})),
  eventBridge: traced(obs, new EventBridgeClient({})),
  sqs: traced(obs, new SQSClient({})),
};

const policy = driftPolicy(numberEnv(ENV.windowSize, DEFAULT_DRIFT.windowSize), numberEnv(ENV.threshold, DEFAULT_DRIFT.threshold));
const publisher = new ObservedTriggerPublisher(obs.logger, clients.eventBridge, requireEnv(ENV.eventBusName));
const deps = {
  store: new CameraStateStore(clients.dynamodb, requireEnv(ENV.tableName)),
  publisher,
  deadLetters: new ObservedDeadLetterQueue(obs.logger, clients.sqs, requireEnv(ENV.deadLetterQueueUrl)),
  policy: () => policy,
};

export const handler = async (event: SQSEvent, context?: Context): Promise<SQSBatchResponse> => instrumented(obs, context, async () => {
  publisher.takeFailures(); // count this invocation's failures only
  const result = await ingestBatch(event.Records.map((r) => ({ messageId: r.messageId, body: r.body })), deps);
  recordBatch(obs, result, publisher.takeFailures());
  return { batchItemFailures: result.failedMessageIds.map((itemIdentifier) => ({ itemIdentifier })) };
});
