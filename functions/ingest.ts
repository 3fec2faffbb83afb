// Ingest Lambda: SQS batch of metric messages → ingestBatch → partial batch response. Wiring only.
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { ingestBatch } from '../lib/app/ingest-batch.js';
import { ENV } from '../lib/resources.js';
import { monitorWiring } from './wiring.js';

const wiring = monitorWiring(ENV.deadLetterQueueUrl);
export const clients = wiring.clients;

export const handler = async (event: SQSEvent): Promise<SQSBatchResponse> => {
  const result = await ingestBatch(event.Records.map((r) => ({ messageId: r.messageId, body: r.body })), wiring.deps);
  return { batchItemFailures: result.failedMessageIds.map((itemIdentifier) => ({ itemIdentifier })) };
};
