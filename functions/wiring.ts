// What every monitor Lambda builds once per container: SDK clients and the adapters over them.
// The metric history (Firehose) is the ingest's alone: functions/ingest.ts builds it and passes it in,
// so the other functions neither load nor create a Firehose client at init.
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { SQSClient } from '@aws-sdk/client-sqs';
import { CameraStateStore } from '../lib/adapters/state-store.js';
import { CohortEpochCache, DynamoCohortStore } from '../lib/adapters/cohort-store.js';
import { cohortSignalApplier } from '../lib/app/cohort-signals.js';
import type { HistoryRecorder } from '../lib/app/ports.js';
import {
  ObservedDeadLetterQueue,
  ObservedTriggerPublisher,
  traced,
  type Observability,
} from '../lib/adapters/observability.js';
import { CachedPolicies, PolicyStore } from '../lib/adapters/policy-store.js';
import { numberEnv, requireEnv } from '../lib/adapters/env.js';
import { DEFAULT_POLICY, parsePolicy } from '../lib/core/policy.js';
import { ENV, POLICY_CACHE_SECONDS } from '../lib/resources.js';

/**
 * Clients and adapters from the function's environment. The clients are traced and the publisher
 * and dead-letter adapters log by triggerId / messageId. `history` records accepted events (ingest).
 */
export function monitorWiring(obs: Observability, history?: HistoryRecorder) {
  // Exported by each handler so tests can add fault-injection middleware to these very clients.
  const clients = {
    dynamodb: traced(obs, new DynamoDBClient({})),
    eventBridge: traced(obs, new EventBridgeClient({})),
    sqs: traced(obs, new SQSClient({})),
  };
  const tableName = requireEnv(ENV.tableName);
  const defaultJson = process.env[ENV.defaultPolicy];
  const fallback = defaultJson ? parsePolicy(defaultJson) : DEFAULT_POLICY;
  const policies = new CachedPolicies(
    new PolicyStore(clients.dynamodb, tableName),
    numberEnv(ENV.policyCacheSeconds, POLICY_CACHE_SECONDS) * 1000,
    fallback,
  );
  const publisher = new ObservedTriggerPublisher(
    obs.logger,
    clients.eventBridge,
    requireEnv(ENV.eventBusName),
    undefined,
    process.env[ENV.datasetLocatorTemplate] || undefined,
  );
  const cohorts = new DynamoCohortStore(clients.dynamodb, tableName);
  const policy = () => policies.lookup();
  const cohortCache = new CohortEpochCache(cohorts);
  return {
    clients,
    deps: {
      store: new CameraStateStore(clients.dynamodb, tableName),
      publisher,
      policy,
      cohorts,
      cohortSignals: cohortSignalApplier({ cohorts, publisher, policy, onHead: cohortCache.remember }),
      cohortEpochs: cohortCache,
      ...(history ? { history } : {}),
    },
  };
}

/** The wiring plus the function's own dead-letter queue, whose URL is in `deadLetterEnv`. */
export function withDeadLetters(wiring: ReturnType<typeof monitorWiring>, deadLetterEnv: string, obs: Observability) {
  return {
    ...wiring,
    deps: {
      ...wiring.deps,
      deadLetters: new ObservedDeadLetterQueue(obs.logger, wiring.clients.sqs, requireEnv(deadLetterEnv)),
    },
  };
}
