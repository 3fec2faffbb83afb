// (9) Fleet decisions (docs/fleet-decisions.md): (a) what cohorts add to DynamoDB per 1,000 events, the
// same workload with and without the cohort wiring, counted at the SDK client; (b) a burst: N cameras of
// one cohort register, then all open drift episodes at once, through the real ingest use case with real
// SDK clients on moto, several invocations at a time; exactly one model trigger, nothing lost, conflicts
// and retries counted.
import { randomUUID } from 'node:crypto';
import { ingestBatch, type IngestDeps } from '../../lib/app/ingest-batch.js';
import { CameraStateStore } from '../../lib/adapters/state-store.js';
import { DeadLetterQueue } from '../../lib/adapters/dead-letter.js';
import { TriggerPublisher } from '../../lib/adapters/trigger-publisher.js';
import { CohortEpochCache, DynamoCohortStore } from '../../lib/adapters/cohort-store.js';
import { cohortSignalApplier, emptyCohortOutcome, mergeCohortOutcome } from '../../lib/app/cohort-signals.js';
import { cohortCounts } from '../../lib/core/cohort.js';
import { DEFAULT_POLICY, parsePolicy, type Policy } from '../../lib/core/policy.js';
import { drainQueue } from '../../lib/local/queues.js';
import { resetCounter } from './capacity.js';
import type { CountedMoto } from './emulators.js';
import { Fleet, WORKLOAD_NOW_MS } from './workload.js';

export interface CohortCostResult {
  events: number;
  /** DynamoDB requests (writes: PutItem + UpdateItem; reads: GetItem + items of BatchGetItem) per 1,000 events. */
  today: { writesPer1k: number; readsPer1k: number; wcuPer1k: number; rcuPer1k: number };
  withCohorts: { writesPer1k: number; readsPer1k: number; wcuPer1k: number; rcuPer1k: number };
  memberWrites: number;
  headWrites: number;
}

export interface BurstResult {
  cameras: number;
  modelTriggers: number;
  cameraRetrains: number;
  affectedCounted: number;
  lost: number;
  cameraConflicts: number;
  headConflicts: number;
  staleSummaries: number;
  redeliveries: number;
  publishRetries: number;
  wallSeconds: number;
}

function deps(env: CountedMoto, policy: Policy, cohorts?: DynamoCohortStore): IngestDeps {
  const publisher = new TriggerPublisher(env.eventBridge, env.stack.eventBusName);
  return {
    store: new CameraStateStore(env.ddb, env.stack.tableName),
    publisher,
    deadLetters: new DeadLetterQueue(env.sqs, env.stack.deadLetterQueueUrl),
    policy: () => policy,
    now: () => WORKLOAD_NOW_MS,
    ...(cohorts
      ? {
          cohortSignals: cohortSignalApplier({ cohorts, publisher, policy: () => policy }),
          cohortEpochs: new CohortEpochCache(cohorts),
        }
      : {}),
  };
}

const calls = (env: CountedMoto, names: string[]) => names.reduce((s, n) => s + (env.counter.calls[n] ?? 0), 0);

async function costRun(env: CountedMoto, opts: { cameras: number; batches: number }, withCohorts: boolean) {
  const prefix = withCohorts ? 'cohort-on' : 'cohort-off';
  const fleet = new Fleet({
    cameras: opts.cameras,
    eventsPerMessage: 100,
    messagesPerBatch: opts.cameras,
    batches: opts.batches,
    prefix,
    seed: 91,
  });
  const cohorts = withCohorts ? new DynamoCohortStore(env.ddb, env.stack.tableName) : undefined;
  // Today's behaviour: camera scope. With cohorts: the default, model scope.
  const policy = withCohorts ? DEFAULT_POLICY : parsePolicy({ ...DEFAULT_POLICY, retrainScope: 'camera' });
  const d = deps(env, policy, cohorts);
  resetCounter(env.counter);
  let events = 0;
  for (const batch of fleet.batches()) {
    const r = await ingestBatch(
      batch.map((m) => ({ messageId: randomUUID(), body: m.body })),
      d,
    );
    if (r.failedMessageIds.length) throw new Error(`cohort cost run: ${r.failedMessageIds.length} failed message(s)`);
    events += batch.reduce((s, m) => s + m.events, 0);
  }
  // BatchGetItem reads count per item read.
  const batchGets = env.counter.calls['DynamoDB.BatchGetItem'] ?? 0;
  const per1k = (x: number) => Math.round((x / events) * 1000 * 100) / 100;
  return {
    events,
    figures: {
      writesPer1k: per1k(calls(env, ['DynamoDB.PutItem', 'DynamoDB.UpdateItem'])),
      readsPer1k: per1k(calls(env, ['DynamoDB.GetItem']) + batchGets * (cohorts?.shardCount ?? 0)),
      wcuPer1k: per1k(env.counter.writeUnits),
      rcuPer1k: per1k(env.counter.readUnits),
    },
    cohorts,
  };
}

export async function benchCohortCost(
  env: CountedMoto,
  opts: { cameras: number; batches: number },
): Promise<CohortCostResult> {
  const today = await costRun(env, opts, false);
  const on = await costRun(env, opts, true);
  return {
    events: on.events,
    today: today.figures,
    withCohorts: on.figures,
    memberWrites: on.cohorts!.counters.memberWrites,
    headWrites: on.cohorts!.counters.summaryWrites + on.cohorts!.counters.headWrites,
  };
}

const BURST_POLICY = parsePolicy({
  id: 'burst',
  detectors: [
    {
      id: 'drift-mean',
      kind: 'window-mean',
      metric: 'DriftScore',
      action: 'RetrainingRequested',
      windowSize: 3,
      threshold: 0.7,
    },
  ],
  cooldownSeconds: 0,
});

/** N cameras of one cohort: a registration round, then every camera's drift episode at once. */
export async function benchCohortBurst(
  env: CountedMoto,
  opts: { cameras: number; invocations: number },
): Promise<BurstResult> {
  const started = performance.now();
  const modelVersion = `burst-${randomUUID().slice(0, 8)}`;
  const cohorts = new DynamoCohortStore(env.ddb, env.stack.tableName);
  const d = deps(env, BURST_POLICY, cohorts);
  const publisher = d.publisher as TriggerPublisher;
  const cohort = { modelVersion, modality: 'Rgb' as const };
  const message = (c: number, round: number) => ({
    messageId: `${modelVersion}-${c}-${round}`,
    body: JSON.stringify(
      [0, 1, 2].map((k) => ({
        id: randomUUID(),
        timestamp: new Date(WORKLOAD_NOW_MS - 3600_000 + round * 600_000 + k * 1000).toISOString(),
        camera_id: `${modelVersion}-cam${c}`,
        modality: 'Rgb',
        metric: 'DriftScore',
        value: round === 0 ? 0.2 : 0.9,
        model_version: modelVersion,
      })),
    ),
  });
  const outcome = emptyCohortOutcome();
  let cameraConflicts = 0,
    redeliveries = 0;
  for (const round of [0, 1]) {
    // The queue of this round; failed records come back (SQS redelivery), as the Lambda mapping would.
    const queue = Array.from({ length: opts.cameras }, (_, c) => message(c, round));
    const worker = async () => {
      while (queue.length > 0) {
        const batch = queue.splice(0, 10);
        const r = await ingestBatch(batch, d);
        cameraConflicts += r.conflicts;
        if (r.cohort) mergeCohortOutcome(outcome, r.cohort);
        const failed = new Set(r.failedMessageIds);
        redeliveries += failed.size;
        queue.push(...batch.filter((m) => failed.has(m.messageId)));
      }
    };
    await Promise.all(Array.from({ length: opts.invocations }, worker));
  }
  const seen = new Set<string>();
  const drained: { type: string; scope: unknown }[] = [];
  for (const m of await drainQueue(env.sqs, env.stack.tapQueueUrl, 2)) {
    const e = JSON.parse(m.Body!);
    if (e.detail.modelVersion !== modelVersion || seen.has(e.detail.triggerId)) continue;
    seen.add(e.detail.triggerId);
    drained.push({ type: e['detail-type'], scope: e.detail.scope });
  }
  const { head } = await cohorts.loadHead(cohort);
  const members = (await cohorts.members(cohort)).members;
  const affected = members.filter((m) => m.rec.a === 1).length;
  return {
    cameras: opts.cameras,
    modelTriggers: drained.filter((e) => e.type === 'RetrainingRequested' && e.scope === 'model').length,
    cameraRetrains: drained.filter((e) => e.type === 'RetrainingRequested' && e.scope === 'camera').length,
    affectedCounted: Math.min(affected, cohortCounts(head).affected),
    lost: opts.cameras - affected,
    cameraConflicts,
    headConflicts: outcome.headConflicts,
    staleSummaries: outcome.staleSummaries,
    redeliveries,
    publishRetries: publisher.counters.retriedEntries,
    wallSeconds: Math.round((performance.now() - started) / 100) / 10,
  };
}
