// (7) Fleet cost model. N cameras × 5 metrics every I seconds (each metric at its own phase of the
// interval) go through real MetricPublishers (one per serving host) on a virtual clock, into the
// local stack on moto, the local event-source mapping (lib/local/event-source-mapping.ts) and the
// real ingest handler (functions/ingest.ts). Billed units are counted at the SDK clients: SQS
// requests per 64 KiB chunk (sends, the poller's receives and deletes), Lambda invocations and
// GB-s from the handler's CPU time plus its round trips × AWS latencies (aws-latency.ts; the moto
// duration kept beside it), DynamoDB WRU/RRU by item size, EventBridge entries. Run as its
// own process (`tsx scripts/bench/fleet.ts --quick`): the handler module reads its environment once.
import { type ReceiveMessageCommandOutput, SQSClient } from '@aws-sdk/client-sqs';
import type { SendMessageBatchCommandInput, SendMessageBatchCommandOutput } from '@aws-sdk/client-sqs';
import type { SQSEvent } from 'aws-lambda';
import { type AttributeValue, DynamoDBClient, ScanCommand } from '@aws-sdk/client-dynamodb';
import { VirtualClock } from '../../lib/client/clock.js';
import {
  MetricPublisher,
  MIXED_LINGER_MS,
  type Packing,
  DEFAULT_LINGER_MS,
} from '../../lib/client/metric-publisher.js';
import { METRICS, MODALITIES, type MetricKind } from '../../lib/core/metric-event.js';
import { createLocalStack, functionEnv, localClientConfig } from '../../lib/local/local-stack.js';
import { LocalEventSourceMapping } from '../../lib/local/event-source-mapping.js';
import { startMoto } from '../../lib/local/moto-server.js';
import { mulberry32, normal, seededUuid } from '../../lib/sim/prng.js';
import { COHORT, INGEST, STATE_TABLE } from '../../lib/resources.js';
import { DEFAULT_CAMERA_CONCURRENCY } from '../../lib/app/ingest-batch.js';
import { type AWS_CALL_LATENCY_MS, InvocationMeter, modelledDurationMs, type InvocationCost } from './aws-latency.js';
import { countRequests, newCounter, type RequestCounter, type WriteKind, writeUnits } from './capacity.js';
import { itemSizeBytes } from '../../lib/adapters/item-size.js';
import { memberValue } from '../../lib/adapters/cohort-store.js';
import { applyEvents, emptyState } from '../../lib/core/camera-state.js';
import type { CohortSignal } from '../../lib/core/cohort.js';
import { parseBody } from '../../lib/core/metric-event.js';
import { DEFAULT_POLICY } from '../../lib/core/policy.js';
import { LAMBDA_MEMORY_MB, median } from './ddb-cost.js';
import { PRICES, billedChunks, dollars, type CostBreakdown } from './prices.js';

/** Seconds in an average month (365.25 / 12 days). */
export const SECONDS_PER_MONTH = 2_629_800;
const METRICS_PER_CAMERA = METRICS.length;

export interface FleetShape {
  cameras: number;
  intervalS: number;
  camerasPerHost: number;
}

export interface FleetRunOptions extends FleetShape {
  /** Virtual time the fleet runs for. */
  durationS: number;
  packing: Packing;
  lingerMs: number;
  prefix: string;
  seed?: number;
  pollers?: number;
  timeoutMs?: number;
}

export interface FleetRun {
  packing: Packing;
  lingerMs: number;
  cameras: number;
  durationS: number;
  events: number;
  acknowledged: number;
  lost: number;
  messages: number;
  avgEventBytes: number;
  /** Billed SQS requests: sends (per 64 KiB of a batch), receives (per 64 KiB returned), deletes. */
  sqs: { send: number; receive: number; delete: number; dlq: number };
  invocations: number;
  medianBatchMs: number;
  medianBatchMessages: number;
  /** Median round trip of the handler's DynamoDB calls (on moto). */
  medianDynamoDbCallMs: number;
  /** GB-s billed from the durations measured on moto (reference only). */
  motoGbSeconds: number;
  /** Lambda $ per million events at the moto durations (reference only). */
  motoLambdaUsdPerMillionEvents: number;
  /** Handler CPU time per invocation (median), ms: the in-process part of the modelled duration. */
  medianCpuMs: number;
  /** Modelled duration on AWS (median): CPU + critical-path round trips × AWS_CALL_LATENCY_MS. */
  medianModelledBatchMs: number;
  /** Handler calls per invocation (median) per service. */
  medianCalls: Record<keyof typeof AWS_CALL_LATENCY_MS, number>;
  /** GB-s billed from the modelled durations: what `usd.lambda` is priced from. */
  gbSeconds: number;
  writes: number;
  writeUnits: number;
  reads: number;
  readUnits: number;
  /** Largest camera item written (state and clearing writes; cohort items are not camera items). */
  maxItemBytes: number;
  /** Writes by what they wrote, and what a cohort registration costs (`steadyStateWru`). */
  cohortCost: CohortCost;
  eventBridgeEntries: number;
  /** Longest an event waited in its publisher (virtual time, send time − event time), s. */
  maxHoldS: number;
  writesPerEvent: number;
  usd: CostBreakdown;
  usdPerMillionEvents: number;
  realSeconds: number;
}

const utf8 = (s: string) => Buffer.byteLength(s, 'utf8');

/** The reference fleet the steady-state figures are for (docs/fleet-cost.md). */
export const DEFAULT_FLEET = { cameras: 10_000, intervalS: 10, camerasPerHost: 50 };

/** Writes of one kind in a run: how many and the units billed. */
export interface WriteTally {
  writes: number;
  units: number;
}

/**
 * The run's DynamoDB writes by kind (`WriteKind` in capacity.ts) and the cohort items it left, measured
 * on moto: what one cohort registration cost in the run, and the shard and head sizes the reference
 * fleet's cohorts would have.
 */
export interface CohortCost {
  camera: WriteTally;
  clearing: WriteTally;
  shard: WriteTally;
  head: WriteTally;
  /** Pending-outbox index entries added and removed (KEYS_ONLY, 1 unit each). */
  indexUnits: number;
  /** Units of writes whose condition failed (a redelivered record, a lost head race). */
  failedUnits: number;
  /** Member records written to shards (each camera's registrations and other records). */
  registrations: number;
  cohorts: number;
  shardsPerCohort: number;
  /** Measured on the shard items the run left: bytes per member record, and per shard item without members. */
  bytesPerMember: number;
  /**
   * Bytes per member record of a warmed-up camera (its detectors' statistics and charts' baselines in
   * the record, as every camera of a running fleet has): `warmedMemberBytes`. The run's cameras are too
   * young for them, so the reference shard is sized with this.
   */
  warmedBytesPerMember: number;
  shardBaseBytes: number;
  /** Largest cohort head item at the end of the run. */
  headBytes: number;
}

/** What cohort bookkeeping costs at the reference fleet's cohort size, per camera-hour (one registration each). */
export interface SteadyState {
  /** Members per shard at the reference fleet (its cameras spread over the run's cohorts). */
  referenceMembersPerShard: number;
  referenceShardBytes: number;
  /** One member write to a shard of that size. */
  referenceMemberWriteUnits: number;
  /**
   * Head writes per camera-hour: in steady state a shard's summary moves once per activity bucket (its
   * newest bucket), so S head writes per cohort-hour; registrations in between leave it alone.
   */
  headWritesPerCameraHour: number;
  headWriteUnits: number;
  /** Clearing writes, index entries and failed conditions per registration, as measured in the run. */
  outboxUnitsPerRegistration: number;
  bookkeepingUnitsPerCameraHour: number;
  stateUnitsPerWrite: number;
  writesPerCameraHour: number;
  /** (state units per write × writes per hour + bookkeeping per camera-hour) / writes per hour. */
  unitsPerCameraWrite: number;
  /** The run's own ratio: every unit billed / camera state writes (first-sight registrations included). */
  unitsPerCameraWriteInRun: number;
  /** Bookkeeping units per registration in the run (shard, head, clearing, index, failed conditions). */
  unitsPerRegistrationInRun: number;
}

/** Steady state per camera-hour at `cameras` (DEFAULT_FLEET) from what a run measured. */
export function steadyStateWru(c: CohortCost, lingerMs: number, cameras = DEFAULT_FLEET.cameras): SteadyState {
  const members = cameras / Math.max(1, c.cohorts) / c.shardsPerCohort;
  const perMember = Math.max(c.bytesPerMember, c.warmedBytesPerMember);
  const referenceShardBytes = Math.round(c.shardBaseBytes + members * perMember);
  const referenceMemberWriteUnits = writeUnits(referenceShardBytes);
  const headWriteUnits = writeUnits(c.headBytes);
  const headWritesPerCameraHour = c.shardsPerCohort / (cameras / Math.max(1, c.cohorts));
  const registrations = Math.max(1, c.registrations);
  const outboxUnitsPerRegistration = (c.clearing.units + c.indexUnits + c.failedUnits) / registrations;
  const bookkeepingUnitsPerCameraHour =
    referenceMemberWriteUnits + headWritesPerCameraHour * headWriteUnits + outboxUnitsPerRegistration;
  const stateUnitsPerWrite = c.camera.units / Math.max(1, c.camera.writes);
  const writesPerCameraHour = 3_600_000 / lingerMs;
  const bookkeepingInRun = c.shard.units + c.head.units + c.clearing.units + c.indexUnits + c.failedUnits;
  return {
    referenceMembersPerShard: members,
    referenceShardBytes,
    referenceMemberWriteUnits,
    headWritesPerCameraHour,
    headWriteUnits,
    outboxUnitsPerRegistration,
    bookkeepingUnitsPerCameraHour,
    stateUnitsPerWrite,
    writesPerCameraHour,
    unitsPerCameraWrite:
      (stateUnitsPerWrite * writesPerCameraHour + bookkeepingUnitsPerCameraHour) / writesPerCameraHour,
    unitsPerCameraWriteInRun: (c.camera.units + bookkeepingInRun) / Math.max(1, c.camera.writes),
    unitsPerRegistrationInRun: bookkeepingInRun / registrations,
  };
}

/**
 * The member record a camera of the run's shape sends once warmed up: one camera per modality, 4 hours
 * of its 5 metrics every `intervalS` at the run's value distribution, through the camera step
 * (`applyEvents`, default policy) one linger at a time; its newest registration stored as a shard stores
 * it (`memberValue`), named as the run names cameras. Mean bytes over the modalities (one cohort each).
 */
export function warmedMemberBytes(prefix: string, intervalS: number, lingerMs: number): number {
  const rand = mulberry32(23);
  const gauss = normal(rand);
  const cameraId = `${prefix}-${String(0).padStart(6, '0')}`;
  const start = Date.parse('2026-12-01T00:00:00Z');
  const sizes = MODALITIES.map((modality) => {
    const state = emptyState();
    let last: CohortSignal | undefined;
    for (let t = start; t < start + 4 * 3_600_000; ) {
      const wire: Record<string, unknown>[] = [];
      for (const end = t + lingerMs; t < end; t += (intervalS * 1000) / METRICS_PER_CAMERA) {
        const metric = METRICS[wire.length % METRICS_PER_CAMERA]!;
        wire.push({
          id: seededUuid(rand),
          timestamp: new Date(t).toISOString(),
          camera_id: cameraId,
          modality,
          metric,
          value: metricValue(metric, gauss()),
          model_version: 'm-1',
          ...(metric === 'DriftScore' || metric === 'LatencyMs' ? {} : { sample_count: 200 }),
        });
      }
      applyEvents(state, parseBody(JSON.stringify(wire), t).events, DEFAULT_POLICY);
      for (const sig of state.signals ?? []) if (sig.reg) last = sig;
      delete state.signals;
      state.outbox = [];
    }
    if (!last) throw new Error(`fleet: no member record from a ${modality} camera`);
    return itemSizeBytes({ [`c#${cameraId}`]: memberValue(last.rec) });
  });
  return sizes.reduce((a, b) => a + b, 0) / sizes.length;
}

/** Sizes of the cohort items a run left in the table: bytes per member record, shard base, largest head. */
async function measureCohortItems(ddb: DynamoDBClient, tableName: string) {
  let members = 0,
    memberBytes = 0,
    shards = 0,
    shardBytes = 0,
    headBytes = 0;
  const cohorts = new Set<string>();
  let start: Record<string, AttributeValue> | undefined;
  do {
    const r = await ddb.send(new ScanCommand({ TableName: tableName, ...(start ? { ExclusiveStartKey: start } : {}) }));
    for (const item of r.Items ?? []) {
      const pk = item[STATE_TABLE.partitionKey.name]?.S ?? '';
      if (pk.startsWith(COHORT.shardPrefix)) {
        shards++;
        shardBytes += itemSizeBytes(item);
        for (const [name, value] of Object.entries(item))
          if (name.startsWith('c#')) {
            members++;
            memberBytes += itemSizeBytes({ [name]: value });
          }
      } else if (pk.startsWith(COHORT.headPrefix)) {
        cohorts.add(pk);
        headBytes = Math.max(headBytes, itemSizeBytes(item));
      }
    }
    start = r.LastEvaluatedKey;
  } while (start);
  const bytesPerMember = members > 0 ? memberBytes / members : 0;
  return {
    cohorts: cohorts.size,
    bytesPerMember,
    shardBaseBytes: shards > 0 ? (shardBytes - memberBytes) / shards : 0,
    headBytes,
  };
}

const tally = (ws: RequestCounter['writes'], kind: WriteKind): WriteTally => {
  const of = ws.filter((w) => w.kind === kind);
  return { writes: of.length, units: of.reduce((s, w) => s + w.units, 0) };
};

/** One camera's metric value, as workload.ts draws them. */
function metricValue(metric: MetricKind, g: number): number {
  if (metric === 'DriftScore') return Number(Math.max(0, 0.3 + 0.1 * g).toFixed(4));
  if (metric === 'LatencyMs') return Number(Math.max(0, 40 + 5 * g).toFixed(2));
  return Number(Math.min(1, Math.max(0, 0.9 + 0.03 * g)).toFixed(4));
}

// biome-ignore lint/suspicious/noExplicitAny: command input and output differ per command
type Step = (args: { input: any }) => Promise<{ output: any }>;
type Middleware = (next: Step, ctx: { commandName: string }) => Step;
const addMiddleware = (client: SQSClient, name: string, mw: Middleware) =>
  client.middlewareStack.add(mw as never, { step: 'initialize', name, override: true });

/** Runs one fleet configuration through the local stack and counts what it would be billed. */
export async function runFleet(o: FleetRunOptions): Promise<FleetRun> {
  const started = performance.now();
  const moto = await startMoto();
  const cfg = localClientConfig(moto.endpoint);
  const producerSqs = new SQSClient(cfg);
  const pollerSqs = new SQSClient(cfg);
  let mapping: LocalEventSourceMapping | undefined;
  try {
    const stack = await createLocalStack(moto.endpoint, { stage: `fleet-${o.prefix}`, visibilityTimeoutSeconds: 300 });
    Object.assign(process.env, functionEnv(stack));
    // The handler reads its environment when first loaded: one fleet run per process.
    const ingest = await import('../../functions/ingest.js');
    const counter = newCounter();
    countRequests(ingest.clients.dynamodb, 'DynamoDB', () => counter, STATE_TABLE.partitionKey.name);
    countRequests(ingest.clients.eventBridge, 'EventBridge', () => counter);
    countRequests(ingest.clients.sqs, 'SQS', () => counter);
    // Round trip of each DynamoDB call the handler makes: moto's, not DynamoDB's, latency.
    const ddbCallMs: number[] = [];
    ingest.clients.dynamodb.middlewareStack.add(
      (next) => async (args) => {
        const t0 = performance.now();
        try {
          return await next(args);
        } finally {
          ddbCallMs.push(performance.now() - t0);
        }
      },
      { step: 'initialize', name: 'fleetTimeDynamoDb' },
    );

    const clock = new VirtualClock(Date.now() - 2 * 86_400_000);
    const start = clock.now();
    const sqs = { send: 0, receive: 0, delete: 0, dlq: 0 };
    let maxHoldMs = 0,
      messages = 0,
      eventBytes = 0,
      eventCount = 0;
    const eventsOf = new Map<string, number>();
    addMiddleware(producerSqs, 'fleetCountSends', (next, ctx) => async (args) => {
      if (ctx.commandName !== 'SendMessageBatchCommand') return next(args);
      const input = args.input as SendMessageBatchCommandInput;
      const entries = input.Entries ?? [];
      const counts = new Map<string, number>();
      let bytes = 0;
      const now = clock.now();
      for (const e of entries) {
        bytes += utf8(e.MessageBody!);
        const events = JSON.parse(e.MessageBody!) as { timestamp: string }[];
        counts.set(e.Id!, events.length);
        for (const ev of events) maxHoldMs = Math.max(maxHoldMs, now - Date.parse(ev.timestamp));
      }
      sqs.send += billedChunks(bytes, PRICES.sqs.billedChunkBytes);
      const out = await next(args);
      for (const s of (out.output as SendMessageBatchCommandOutput).Successful ?? []) {
        eventsOf.set(s.MessageId!, counts.get(s.Id!)!);
        messages++;
      }
      return out;
    });
    addMiddleware(pollerSqs, 'fleetCountPolls', (next, ctx) => async (args) => {
      const out = await next(args);
      if (ctx.commandName === 'ReceiveMessageCommand') {
        const bytes = ((out.output as ReceiveMessageCommandOutput).Messages ?? []).reduce(
          (s, m) => s + utf8(m.Body ?? ''),
          0,
        );
        sqs.receive += billedChunks(bytes, PRICES.sqs.billedChunkBytes);
      } else if (ctx.commandName === 'DeleteMessageBatchCommand') sqs.delete += 1;
      return out;
    });

    // Lambda time without the emulator: each call counted per invocation, CPU time per invocation.
    const meter = new InvocationMeter();
    ingest.clients.dynamodb.middlewareStack.add(meter.middleware('DynamoDB'), {
      step: 'initialize',
      name: 'fleetMeter',
    });
    ingest.clients.eventBridge.middlewareStack.add(meter.middleware('EventBridge'), {
      step: 'initialize',
      name: 'fleetMeter',
    });
    ingest.clients.sqs.middlewareStack.add(meter.middleware('SQS'), { step: 'initialize', name: 'fleetMeter' });
    const costs: InvocationCost[] = [];

    const durations: number[] = [];
    const batchMessages: number[] = [];
    let acknowledged = 0;
    const counted = async (event: SQSEvent) => {
      const cameras = new Set<string>();
      for (const rec of event.Records)
        for (const e of JSON.parse(rec.body) as { camera_id?: string }[]) cameras.add(String(e.camera_id));
      const t0 = performance.now();
      const { value: r, cost } = await meter.run(cameras.size, () => ingest.handler(event));
      durations.push(performance.now() - t0);
      costs.push(cost);
      batchMessages.push(event.Records.length);
      const failed = new Set(r.batchItemFailures.map((f) => f.itemIdentifier));
      for (const rec of event.Records) {
        if (failed.has(rec.messageId) || !eventsOf.has(rec.messageId)) continue;
        acknowledged += eventsOf.get(rec.messageId)!;
        eventsOf.delete(rec.messageId); // a redelivered message counts once
      }
      return r;
    };
    // The batching window is played in virtual time (below): the driver lets the pipeline take
    // everything sent in one window before the next starts, as Lambda's pollers do at fleet scale,
    // so a batch never spans more of the fleet's time than the window. The real window only
    // gathers what one virtual window sent.
    const windowMs = INGEST.maxBatchingWindowSeconds * 1000;
    mapping = new LocalEventSourceMapping(pollerSqs, counted, {
      queueUrl: stack.ingestQueueUrl,
      batchSize: INGEST.batchSize,
      maxBatchingWindowMs: 100,
      pollers: o.pollers ?? 4,
      waitTimeSeconds: 5,
    }).start();

    // Serving hosts, each with its own publisher, sharing one SQS client.
    const hosts = Math.ceil(o.cameras / o.camerasPerHost);
    const publishers = Array.from(
      { length: hosts },
      () =>
        new MetricPublisher({
          sqs: producerSqs,
          queueUrl: stack.ingestQueueUrl,
          clock,
          packing: o.packing,
          lingerMs: o.lingerMs,
        }),
    );
    const settle = () => Promise.all(publishers.map((p) => p.requestsSettled())).then(() => undefined);
    const drained = async () => {
      await settle();
      while (eventsOf.size > 0) await new Promise((r) => setTimeout(r, 20));
    };

    // Each camera reports its 5 metrics once per interval, each at its own (seeded) phase.
    const rand = mulberry32(o.seed ?? 14);
    const gauss = normal(rand);
    const intervalMs = o.intervalS * 1000;
    const slots: { offsetMs: number; camera: number; metric: MetricKind }[] = [];
    for (let c = 0; c < o.cameras; c++) {
      const phase = Math.floor(rand() * intervalMs);
      for (const [m, metric] of METRICS.entries())
        slots.push({ offsetMs: (phase + (m * intervalMs) / METRICS_PER_CAMERA) % intervalMs, camera: c, metric });
    }
    slots.sort((a, b) => a.offsetMs - b.offsetMs || a.camera - b.camera);
    const rounds = Math.round(o.durationS / o.intervalS);
    let events = 0;
    let windowEnd = start + windowMs;
    for (let k = 0; k < rounds; k++)
      for (const s of slots) {
        const t = Math.floor(start + k * intervalMs + s.offsetMs);
        for (; windowEnd <= t; windowEnd += windowMs) {
          await clock.advanceTo(windowEnd, settle);
          await drained();
        }
        await clock.advanceTo(t, settle);
        const event: Record<string, unknown> = {
          id: seededUuid(rand),
          timestamp: new Date(t).toISOString(),
          camera_id: `${o.prefix}-${String(s.camera).padStart(6, '0')}`,
          modality: MODALITIES[s.camera % MODALITIES.length],
          metric: s.metric,
          value: metricValue(s.metric, gauss()),
          model_version: 'm-1',
        };
        if (s.metric !== 'DriftScore' && s.metric !== 'LatencyMs') event.sample_count = 200;
        const r = await publishers[Math.floor(s.camera / o.camerasPerHost)]!.publish(event);
        if (!r.accepted) throw new Error(`fleet: event refused: ${JSON.stringify(r)}`);
        events++;
        if (eventCount < 10_000) {
          eventBytes += utf8(JSON.stringify(event));
          eventCount++;
        }
      }
    await clock.advanceTo(start + rounds * intervalMs, settle);
    await clock.runUntil(Promise.all(publishers.map((p) => p.close())), settle);

    const deadline = Date.now() + (o.timeoutMs ?? 600_000);
    while (acknowledged < events && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    await mapping.stop();

    const billedGbS = (ms: number[]) => ms.reduce((s, d) => s + Math.ceil(d) / 1000, 0) * (LAMBDA_MEMORY_MB / 1024);
    const motoGbSeconds = billedGbS(durations);
    const modelled = costs.map((c) => modelledDurationMs(c, DEFAULT_CAMERA_CONCURRENCY));
    const gbSeconds = billedGbS(modelled);
    const cameraWrites = counter.writes.filter((w) => w.kind === 'camera' || w.kind === 'clearing');
    const writes = cameraWrites.length;
    const scanner = new DynamoDBClient(cfg);
    const items = await measureCohortItems(scanner, stack.tableName);
    scanner.destroy();
    const shardWrites = tally(counter.writes, 'shard');
    const cohortCost: CohortCost = {
      camera: tally(counter.writes, 'camera'),
      clearing: tally(counter.writes, 'clearing'),
      shard: shardWrites,
      head: tally(counter.writes, 'head'),
      indexUnits: counter.indexWriteUnits,
      failedUnits: counter.failedWriteUnits,
      // Member writes return the shard (bytes known); judged marks do not.
      registrations: counter.writes.filter((w) => w.kind === 'shard' && w.bytes > 0).length,
      shardsPerCohort: COHORT.shards,
      warmedBytesPerMember: warmedMemberBytes(o.prefix, o.intervalS, o.lingerMs),
      ...items,
    };
    sqs.dlq = (counter.calls['SQS.SendMessage'] ?? 0) + (counter.calls['SQS.SendMessageBatch'] ?? 0);
    const perM = (x: number) => (x / events) * 1e6;
    const usd = dollars({
      sqsRequests: perM(sqs.send + sqs.receive + sqs.delete + sqs.dlq),
      lambdaInvocations: perM(durations.length),
      lambdaGbSeconds: perM(gbSeconds),
      writeUnits: perM(counter.writeUnits + counter.indexWriteUnits + counter.failedWriteUnits),
      readUnits: perM(counter.readUnits),
      eventBridgeEvents: perM(counter.eventBridgeEntries),
    });
    const motoLambda = dollars({
      sqsRequests: 0,
      lambdaInvocations: perM(durations.length),
      lambdaGbSeconds: perM(motoGbSeconds),
      writeUnits: 0,
      readUnits: 0,
      eventBridgeEvents: 0,
    }).lambda;
    return {
      packing: o.packing,
      lingerMs: o.lingerMs,
      cameras: o.cameras,
      durationS: rounds * o.intervalS,
      events,
      acknowledged,
      lost: events - acknowledged,
      messages,
      avgEventBytes: eventBytes / Math.max(1, eventCount),
      sqs,
      invocations: durations.length,
      medianBatchMs: median(durations),
      medianBatchMessages: median(batchMessages),
      medianDynamoDbCallMs: median(ddbCallMs),
      motoGbSeconds,
      motoLambdaUsdPerMillionEvents: motoLambda,
      medianCpuMs: median(costs.map((c) => c.cpuMs)),
      medianModelledBatchMs: median(modelled),
      medianCalls: {
        DynamoDB: median(costs.map((c) => c.calls.DynamoDB)),
        SQS: median(costs.map((c) => c.calls.SQS)),
        EventBridge: median(costs.map((c) => c.calls.EventBridge)),
      },
      gbSeconds,
      writes,
      writeUnits: counter.writeUnits + counter.indexWriteUnits + counter.failedWriteUnits,
      reads: counter.calls['DynamoDB.GetItem'] ?? 0,
      readUnits: counter.readUnits,
      maxItemBytes: Math.max(0, ...cameraWrites.map((w) => w.bytes)),
      cohortCost,
      eventBridgeEntries: counter.eventBridgeEntries,
      maxHoldS: maxHoldMs / 1000,
      writesPerEvent: writes / events,
      usd,
      usdPerMillionEvents: usd.total,
      realSeconds: (performance.now() - started) / 1000,
    };
  } finally {
    await mapping?.stop();
    producerSqs.destroy();
    pollerSqs.destroy();
    await moto.stop();
  }
}

// --- prices computed on paper --------------------------------------------------------------------

export const eventsPerCameraMonth = (intervalS: number) => (METRICS_PER_CAMERA / intervalS) * SECONDS_PER_MONTH;

/**
 * (d) CloudWatch custom metrics for the same fleet: one metric and one standard alarm per
 * camera-metric (tiered metric prices), PutMetricData once per host per interval.
 */
export function cloudWatchUsdPerCameraMonth(s: FleetShape): number {
  const cw = PRICES.cloudWatch;
  let metrics = s.cameras * METRICS_PER_CAMERA,
    metricUsd = 0,
    from = 0;
  for (const tier of cw.metricTiers) {
    const inTier = Math.max(0, Math.min(metrics, tier.upTo - from));
    metricUsd += inTier * tier.usdPerMetricMonth;
    metrics -= inTier;
    from = tier.upTo;
  }
  const alarmsUsd = s.cameras * METRICS_PER_CAMERA * cw.usdPerAlarmMetricMonth;
  const hosts = Math.ceil(s.cameras / s.camerasPerHost);
  const valuesPerRequest = Math.min(cw.maxValuesPerRequest, s.camerasPerHost * METRICS_PER_CAMERA);
  const requests =
    (hosts * (SECONDS_PER_MONTH / s.intervalS) * s.camerasPerHost * METRICS_PER_CAMERA) / valuesPerRequest;
  const putUsd = (requests / 1000) * cw.usdPer1kPutRequests;
  return (metricUsd + alarmsUsd + putUsd) / s.cameras;
}

/**
 * (e) The floor: the events' bytes through SQS in full 64 KiB chunks (sent and received; a delete
 * per 10 such messages) plus one 1-WRU state write per camera per linger, and nothing else.
 */
export function floorUsdPerMillionEvents(avgEventBytes: number, intervalS: number, lingerMs: number): number {
  const chunk = PRICES.sqs.billedChunkBytes;
  const eventsPerChunk = chunk / (avgEventBytes + 1);
  const sqsRequests = 2 / eventsPerChunk + 1 / (10 * eventsPerChunk);
  const eventsPerWrite = Math.max(1, (METRICS_PER_CAMERA * lingerMs) / 1000 / intervalS);
  return (
    sqsRequests * PRICES.sqs.usdPerMillionRequests + (1 / eventsPerWrite) * PRICES.dynamodb.usdPerMillionWriteUnits
  );
}

/**
 * $/million events at another linger, from a measured per-camera-packed run: the per-message part
 * (state write and read, Lambda) scales with messages per event, SQS with requests per event
 * (bytes, or 10 messages per request when messages are small).
 */
export function modelUsdPerMillionEvents(measured: FleetRun, intervalS: number, lingerMs: number): number {
  const perMessage =
    (measured.usd.dynamodb + measured.usd.lambda + measured.usd.eventBridge) * (measured.events / measured.messages);
  return perMessage / eventsPerMessageAt(intervalS, lingerMs) + sqsUsdPerMillionEvents(measured, intervalS, lingerMs);
}

const eventsPerMessageAt = (intervalS: number, lingerMs: number) =>
  Math.max(1, (METRICS_PER_CAMERA * lingerMs) / 1000 / intervalS);

/** SQS $/million events when each camera sends one message per linger (send and receive per 64 KiB, delete per 10). */
function sqsUsdPerMillionEvents(measured: FleetRun, intervalS: number, lingerMs: number): number {
  const eventsPerMessage = eventsPerMessageAt(intervalS, lingerMs);
  const batchBytes = 10 * eventsPerMessage * (measured.avgEventBytes + 1);
  const requestsPer10Messages = 2 * Math.ceil(batchBytes / PRICES.sqs.billedChunkBytes) + 1;
  return (requestsPer10Messages / (10 * eventsPerMessage)) * PRICES.sqs.usdPerMillionRequests;
}

/**
 * $/million events of a running fleet (steady state): a run's Lambda and EventBridge per message, SQS as
 * above, and DynamoDB as one state write per camera per linger at the steady-state WRU per write (`steady`:
 * the state write plus one cohort registration per camera-hour at the reference cohort size) plus the
 * run's read units per write (on the high side: the run's first-sight registrations read too). The run's
 * own figure charges every camera's first registration to its few minutes.
 */
export function steadyUsdPerMillionEvents(
  measured: FleetRun,
  steady: Pick<SteadyState, 'unitsPerCameraWrite'>,
  intervalS: number,
  lingerMs: number,
): number {
  const eventsPerMessage = eventsPerMessageAt(intervalS, lingerMs);
  const perMessage = (measured.usd.lambda + measured.usd.eventBridge) * (measured.events / measured.messages);
  const readUnitsPerWrite = measured.readUnits / Math.max(1, measured.writes);
  const dynamodb =
    steady.unitsPerCameraWrite * PRICES.dynamodb.usdPerMillionWriteUnits +
    readUnitsPerWrite * PRICES.dynamodb.usdPerMillionReadUnits;
  return (perMessage + dynamodb) / eventsPerMessage + sqsUsdPerMillionEvents(measured, intervalS, lingerMs);
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].split('/').pop()!)) {
  const arg = (name: string, fallback: number) => {
    const i = process.argv.indexOf(`--${name}`);
    return i > 0 ? Number(process.argv[i + 1]) : fallback;
  };
  const packing = (process.argv.includes('--mixed') ? 'mixed' : 'per-camera') as Packing;
  const result = await runFleet({
    cameras: arg('cameras', DEFAULT_FLEET.cameras),
    intervalS: arg('interval-s', DEFAULT_FLEET.intervalS),
    camerasPerHost: arg('cameras-per-host', DEFAULT_FLEET.camerasPerHost),
    durationS: arg('duration-s', 180),
    packing,
    lingerMs: arg('linger-ms', packing === 'mixed' ? MIXED_LINGER_MS : DEFAULT_LINGER_MS),
    prefix: packing === 'mixed' ? 'fleet-mixed' : 'fleet',
    timeoutMs: arg('timeout-s', 600) * 1000,
  });
  process.stdout.write(`${JSON.stringify(result)}\n`);
  process.exit(0);
}
