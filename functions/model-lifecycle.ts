// Model-lifecycle Lambda: RetrainingCompleted / ModelDeployed (via the bus rule's queue) →
// handleModelLifecycle → partial batch response. Wiring only.
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { handleModelLifecycle } from '../lib/app/model-lifecycle.js';
import { ENV } from '../lib/resources.js';
import { monitorWiring } from './wiring.js';

const wiring = monitorWiring(ENV.lifecycleDeadLetterQueueUrl);
export const clients = wiring.clients;

export const handler = async (event: SQSEvent): Promise<SQSBatchResponse> => {
  const result = await handleModelLifecycle(event.Records.map((r) => ({ messageId: r.messageId, body: r.body })), wiring.deps);
  return { batchItemFailures: result.failedMessageIds.map((itemIdentifier) => ({ itemIdentifier })) };
};
