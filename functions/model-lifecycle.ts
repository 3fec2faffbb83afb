// Model-lifecycle Lambda: RetrainingCompleted / ModelDeployed (via the bus rule's queue) →
// handleModelLifecycle → partial batch response. Wiring only; observability as in ingest.ts.
import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { handleModelLifecycle } from '../lib/app/model-lifecycle.js';
import { createObservability, instrumented, recordLifecycle, traced } from '../lib/adapters/observability.js';
import { SageMakerPipelineExecutions } from '../lib/adapters/pipeline-executions.js';
import { ENV } from '../lib/resources.js';
import { SERVICE } from '../lib/telemetry.js';
import { monitorWiring, withDeadLetters } from './wiring.js';

const obs = createObservability(SERVICE.lifecycle);
const wiring = withDeadLetters(monitorWiring(obs), ENV.lifecycleDeadLetterQueueUrl, obs);
export const clients = wiring.clients;
const publisher = wiring.deps.publisher;
/** Read only for SageMaker's own events (the rules exist when the stack sets sageMakerPipelineArn). */
export const pipelineExecutions = new SageMakerPipelineExecutions((c) => traced(obs, c));

export const handler = async (event: SQSEvent, context?: Context): Promise<SQSBatchResponse> =>
  instrumented(obs, context, async () => {
    publisher.takeFailures(); // count this invocation's failures only
    const result = await handleModelLifecycle(
      event.Records.map((r) => ({ messageId: r.messageId, body: r.body })),
      { ...wiring.deps, pipelineExecutions },
    );
    recordLifecycle(obs, result, publisher.takeFailures());
    return { batchItemFailures: result.failedMessageIds.map((itemIdentifier) => ({ itemIdentifier })) };
  });
