// Ingest Lambda: SQS batch → ingestBatch → partial batch response. Wiring only.
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { SQSClient } from '@aws-sdk/client-sqs';
import { CameraStateStore } from '../lib/adapters/state-store.js';
import { TriggerPublisher } from '../lib/adapters/trigger-publisher.js';
import { DeadLetterQueue } from '../lib/adapters/dead-letter.js';
import { CachedPolicies, PolicyStore } from '../lib/adapters/policy-store.js';
import { numberEnv, requireEnv } from '../lib/adapters/env.js';
import { DEFAULT_POLICY, parsePolicy } from '../lib/core/policy.js';
import { ingestBatch } from '../lib/app/ingest-batch.js';
import { ENV, POLICY_CACHE_SECONDS } from '../lib/resources.js';

// Built once per container. Exported so tests can add fault-injection middleware to these very clients.
export const clients = {
  dynamodb: new DynamoDBClient({}),
  eventBridge: new EventBridgeClient({}),
  sqs: new SQSClient({}),
};

const tableName = requireEnv(ENV.tableName);
const fallbackPolicy = process.env[ENV.defaultPolicy] ? parsePolicy(process.env[ENV.defaultPolicy]) : DEFAULT_POLICY;
const policies = new CachedPolicies(new PolicyStore(clients.dynamodb, tableName), numberEnv(ENV.policyCacheSeconds, POLICY_CACHE_SECONDS) * 1000, fallbackPolicy);
const deps = {
  store: new CameraStateStore(clients.dynamodb, tableName),
  publisher: new TriggerPublisher(clients.eventBridge, requireEnv(ENV.eventBusName)),
  deadLetters: new DeadLetterQueue(clients.sqs, requireEnv(ENV.deadLetterQueueUrl)),
  policy: () => policies.lookup(),
};

export const handler = async (event: SQSEvent): Promise<SQSBatchResponse> => {
  const result = await ingestBatch(event.Records.map((r) => ({ messageId: r.messageId, body: r.body })), deps);
  return { batchItemFailures: result.failedMessageIds.map((itemIdentifier) => ({ itemIdentifier })) };
};
