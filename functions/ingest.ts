// Ingest Lambda: SQS batch → ingestBatch → partial batch response. Wiring only.
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { SQSClient } from '@aws-sdk/client-sqs';
import { CameraStateStore } from '../lib/adapters/state-store.js';
import { TriggerPublisher } from '../lib/adapters/trigger-publisher.js';
import { DeadLetterQueue } from '../lib/adapters/dead-letter.js';
import { numberEnv, requireEnv } from '../lib/adapters/env.js';
import { driftPolicy } from '../lib/core/policy.js';
import { ingestBatch } from '../lib/app/ingest-batch.js';
import { DEFAULT_DRIFT, ENV } from '../lib/resources.js';

// Built once per container. Exported so tests can add fault-injection middleware to these very clients.
export const clients = {
  dynamodb: new DynamoDBClient({}),
  eventBridge: new EventBridgeClient({}),
  sqs: new SQSClient({}),
};

const policy = driftPolicy(numberEnv(ENV.windowSize, DEFAULT_DRIFT.windowSize), numberEnv(ENV.threshold, DEFAULT_DRIFT.threshold));
const deps = {
  store: new CameraStateStore(clients.dynamodb, requireEnv(ENV.tableName)),
  publisher: new TriggerPublisher(clients.eventBridge, requireEnv(ENV.eventBusName)),
  deadLetters: new DeadLetterQueue(clients.sqs, requireEnv(ENV.deadLetterQueueUrl)),
  policy: () => policy,
};

export const handler = async (event: SQSEvent): Promise<SQSBatchResponse> => {
  const result = await ingestBatch(event.Records.map((r) => ({ messageId: r.messageId, body: r.body })), deps);
  return { batchItemFailures: result.failedMessageIds.map((itemIdentifier) => ({ itemIdentifier })) };
};
