// Ingest Lambda: SQS batch of metric messages → ingestBatch → partial batch response. Wiring only;
// logs, metrics and traces come from lib/adapters/observability.ts.
import { FirehoseClient } from '@aws-sdk/client-firehose';
import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { FirehoseHistoryRecorder } from '../lib/adapters/history-firehose.js';
import { ingestBatch, type BatchResult } from '../lib/app/ingest-batch.js';
import { createObservability, instrumented, recordBatch, traced } from '../lib/adapters/observability.js';
import { ENV } from '../lib/resources.js';
import { SERVICE } from '../lib/telemetry.js';
import { monitorWiring, withDeadLetters } from './wiring.js';

const obs = createObservability(SERVICE.ingest);
const firehose = traced(obs, new FirehoseClient({}));
// The metric history, when the stack keeps one (context history=false leaves the variable unset).
const historyStream = process.env[ENV.historyStreamName];
const history = historyStream
  ? new FirehoseHistoryRecorder(firehose, historyStream, {
      onError: (message) => obs.logger.warn(message, { stream: historyStream }),
    })
  : undefined;
const wiring = withDeadLetters(monitorWiring(obs, history), ENV.deadLetterQueueUrl, obs);
export const clients = { ...wiring.clients, firehose };
const publisher = wiring.deps.publisher;

export interface IngestHandlerOptions {
  /** Sees every batch result (Lambda only returns the failed records); local runs tally with it. */
  onBatchResult?: (result: BatchResult) => void;
}

/** A handler over this module's clients and adapters; `handler` is the one Lambda runs. */
export function createIngestHandler(opts: IngestHandlerOptions = {}) {
  return async (event: SQSEvent, context?: Context): Promise<SQSBatchResponse> =>
    instrumented(obs, context, async () => {
      publisher.takeFailures(); // count this invocation's failures only
      const result = await ingestBatch(
        event.Records.map((r) => ({
          messageId: r.messageId,
          body: r.body,
          receiveCount: Number(r.attributes?.ApproximateReceiveCount ?? 1),
        })),
        wiring.deps,
      );
      opts.onBatchResult?.(result);
      recordBatch(obs, result, publisher.takeFailures());
      return { batchItemFailures: result.failedMessageIds.map((itemIdentifier) => ({ itemIdentifier })) };
    });
}

export const handler = createIngestHandler();
