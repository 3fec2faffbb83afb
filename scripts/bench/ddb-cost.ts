// (2) DynamoDB cost against the emulator for 1, 10 and 100 events per camera per batch, the naive
// port on the same emulator, and (3) dollars per million events from the counted requests.
// Capacity units follow DynamoDB's item-size rules (capacity.ts); cross-checked once against
// DynamoDB Local's ReturnConsumedCapacity.
import { triggerSubject } from '../../lib/core/trigger.js';
import { randomUUID } from 'node:crypto';
import { ingestBatch, type IngestDeps } from '../../lib/app/ingest-batch.js';
import { CameraStateStore } from '../../lib/adapters/state-store.js';
import { DeadLetterQueue } from '../../lib/adapters/dead-letter.js';
import { TriggerPublisher } from '../../lib/adapters/trigger-publisher.js';
import { CachedPolicies, PolicyStore } from '../../lib/adapters/policy-store.js';
import { DEFAULT_POLICY } from '../../lib/core/policy.js';
import { POLICY_CACHE_SECONDS, STATE_TABLE } from '../../lib/resources.js';
import { countRequests, newCounter, resetCounter, sumConsumedCapacity, type RequestCounter } from './capacity.js';
import { startDynamoDbLocal, type CountedMoto, type DynamoDbLocal } from './emulators.js';
import { NaivePort } from './naive.js';
import { PRICES, billedChunks, dollars, type CostBreakdown, type UsagePerMillion } from './prices.js';
import { Fleet, WORKLOAD_NOW_MS, type Message } from './workload.js';

/** The ingest function's memory, as lib/stack/monitor-stack.ts configures it. */
export const LAMBDA_MEMORY_MB = 512;
/** The original's SQS → Lambda default batch size (the naive port keeps it). */
const NAIVE_BATCH_SIZE = 10;

export interface MixResult {
  eventsPerCameraPerBatch: number;
  events: number;
  cameraBatches: number;
  ddbWritesPer1kEvents: number;
  ddbReadsPer1kEvents: number;
  wcuPer1kEvents: number;
  rcuPer1kEvents: number;
  writesPerCameraBatch: number;
  wcuPerWrite: number;
  maxItemBytes: number;
  /** Camera-batches that decided no trigger (the steady state) and those that did (outbox write + clear). */
  quiet: { cameraBatches: number; writesPerCameraBatch: number; wcuPerWrite: number; maxItemBytes: number };
  triggering: { cameraBatches: number; writesPerCameraBatch: number; wcuPerWrite: number; maxItemBytes: number };
  medianBatchMs: number;
  eventsPerSecOnEmulator: number;
  usdPerMillionEvents: number;
  usd: CostBreakdown;
}

export interface NaiveResult {
  events: number;
  eventsPerSec: number;
  wcuPer1kEvents: number;
  rcuPer1kEvents: number;
  usdPerMillionEvents: number;
  usd: CostBreakdown;
}

export const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.floor(s.length / 2)]! : NaN;
};
/** The original module's parameters: the default policy's window-mean drift detector. */
const ORIGINAL = (() => {
  const spec = DEFAULT_POLICY.detectors.find((d) => d.kind === 'window-mean');
  if (spec?.kind !== 'window-mean') throw new Error('DEFAULT_POLICY has no window-mean detector');
  return { windowSize: spec.windowSize, threshold: spec.threshold };
})();

/** The production wiring (functions/wiring.ts) on the given clients: policies cached from the table. */
function realDeps(
  env: Pick<CountedMoto, 'ddb' | 'sqs' | 'eventBridge' | 'stack'>,
  tableName = env.stack.tableName,
): IngestDeps {
  const policies = new CachedPolicies(
    new PolicyStore(env.ddb, env.stack.tableName),
    POLICY_CACHE_SECONDS * 1000,
    DEFAULT_POLICY,
  );
  return {
    store: new CameraStateStore(env.ddb, tableName),
    publisher: new TriggerPublisher(env.eventBridge, env.stack.eventBusName),
    deadLetters: new DeadLetterQueue(env.sqs, env.stack.deadLetterQueueUrl),
    policy: () => policies.lookup(),
    now: () => WORKLOAD_NOW_MS,
  };
}

const records = (batch: Message[]) => batch.map((m) => ({ messageId: randomUUID(), body: m.body }));

/**
 * SQS requests a batch of messages costs: each message sent alone (per 64 KB chunk), received by
 * the event-source mapping 10 at a time (per 64 KB chunk of the 10), deleted 10 at a time.
 */
export function sqsRequests(bodyBytes: number[]): number {
  const chunk = PRICES.sqs.billedChunkBytes;
  let n = 0;
  for (const b of bodyBytes) n += billedChunks(b, chunk);
  for (let i = 0; i < bodyBytes.length; i += 10) {
    n += billedChunks(
      bodyBytes.slice(i, i + 10).reduce((s, b) => s + b, 0),
      chunk,
    );
    n += 1;
  }
  return n;
}

const perMillion = (x: number, events: number) => (x / events) * 1e6;
const gbSeconds = (durationsMs: number[]) =>
  durationsMs.reduce((s, ms) => s + Math.ceil(ms) / 1000, 0) * (LAMBDA_MEMORY_MB / 1024);

function usage(c: RequestCounter, events: number, bodies: number[], durationsMs: number[]): UsagePerMillion {
  return {
    sqsRequests: perMillion(sqsRequests(bodies), events),
    lambdaInvocations: perMillion(durationsMs.length, events),
    lambdaGbSeconds: perMillion(gbSeconds(durationsMs), events),
    writeUnits: perMillion(c.writeUnits, events),
    readUnits: perMillion(c.readUnits, events),
    eventBridgeEvents: perMillion(c.eventBridgeEntries, events),
  };
}

/** Ours: the real ingestBatch with the real adapters on moto, counted at the SDK clients. */
export async function benchMix(
  env: CountedMoto,
  k: number,
  opts: { cameras: number; batches: number },
): Promise<MixResult> {
  const fleet = new Fleet({
    cameras: opts.cameras,
    eventsPerMessage: k,
    messagesPerBatch: opts.cameras,
    batches: opts.batches,
    prefix: `mix${k}`,
    seed: 11 + k,
  });
  const deps = realDeps(env);
  // Warm-up fills every window, so the measured batches see steady-state items.
  await ingestBatch(records(Array.from({ length: opts.cameras }, (_, i) => fleet.message(i, 60, 0))), deps);
  resetCounter(env.counter);
  const durations: number[] = [];
  const bodies: number[] = [];
  let events = 0;
  const quiet = { cameraBatches: 0, writes: [] as RequestCounter['writes'] };
  const triggering = { cameraBatches: 0, writes: [] as RequestCounter['writes'] };
  for (const batch of fleet.batches()) {
    const before = env.counter.writes.length;
    const t0 = performance.now();
    const r = await ingestBatch(records(batch), deps);
    durations.push(performance.now() - t0);
    const fired = new Set(r.triggers.map((t) => STATE_TABLE.cameraKey(triggerSubject(t.detail))));
    const cams = new Set(batch.map((m) => STATE_TABLE.cameraKey(m.cameraId)));
    for (const key of cams) (fired.has(key) ? triggering : quiet).cameraBatches++;
    for (const w of env.counter.writes.slice(before)) (fired.has(w.key) ? triggering : quiet).writes.push(w);
    if (r.failedMessageIds.length > 0 || r.applied !== batch.length * k)
      throw new Error(`mix ${k}: batch failed ${JSON.stringify(r.cameraErrors)}`);
    events += r.applied;
    for (const m of batch) bodies.push(Buffer.byteLength(m.body));
  }
  const c = env.counter;
  const writes = c.calls['DynamoDB.PutItem'] ?? 0,
    reads = c.calls['DynamoDB.GetItem'] ?? 0;
  const cameraBatches = opts.batches * opts.cameras;
  const usd = dollars(usage(c, events, bodies, durations));
  const summary = (g: typeof quiet) => ({
    cameraBatches: g.cameraBatches,
    writesPerCameraBatch: g.writes.length / g.cameraBatches,
    wcuPerWrite: g.writes.reduce((s, w) => s + w.units, 0) / g.writes.length,
    maxItemBytes: Math.max(0, ...g.writes.map((w) => w.bytes)),
  });
  return {
    eventsPerCameraPerBatch: k,
    events,
    cameraBatches,
    ddbWritesPer1kEvents: (writes / events) * 1000,
    ddbReadsPer1kEvents: (reads / events) * 1000,
    wcuPer1kEvents: (c.writeUnits / events) * 1000,
    rcuPer1kEvents: (c.readUnits / events) * 1000,
    writesPerCameraBatch: writes / cameraBatches,
    wcuPerWrite: c.writeUnits / writes,
    maxItemBytes: Math.max(...c.writes.map((w) => w.bytes)),
    quiet: summary(quiet),
    triggering: summary(triggering),
    medianBatchMs: median(durations),
    eventsPerSecOnEmulator: events / (durations.reduce((s, d) => s + d, 0) / 1000),
    usdPerMillionEvents: usd.total,
    usd,
  };
}

/** The naive port on the same emulator: one event per message, batches of 10, a few invocations at once. */
export async function benchNaive(env: CountedMoto, events: number, concurrency = 4): Promise<NaiveResult> {
  const cameras = Math.max(10, Math.floor(events / 20));
  const fleet = new Fleet({
    cameras,
    eventsPerMessage: 1,
    messagesPerBatch: cameras,
    batches: Math.ceil(events / cameras),
    prefix: 'naive',
    seed: 5,
  });
  const bodies = [...fleet.batches()]
    .flat()
    .slice(0, events)
    .map((m) => m.body.slice(1, -1)); // one object per message
  const port = new NaivePort(env.ddb, env.eventBridge, {
    tableName: env.stack.tableName,
    eventBusName: env.stack.eventBusName,
    ...ORIGINAL,
    nowMs: WORKLOAD_NOW_MS,
  });
  const invocations: string[][] = [];
  for (let i = 0; i < bodies.length; i += NAIVE_BATCH_SIZE) invocations.push(bodies.slice(i, i + NAIVE_BATCH_SIZE));
  resetCounter(env.counter);
  const durations: number[] = [];
  let next = 0,
    done = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < invocations.length) {
        const inv = invocations[next++]!;
        const s = performance.now();
        const handled = await port.handle(inv.map((body) => ({ body })));
        done += handled;
        durations.push(performance.now() - s);
      }
    }),
  );
  const seconds = (performance.now() - t0) / 1000;
  if (done !== bodies.length) throw new Error(`naive port handled ${done} of ${bodies.length}`);
  const c = env.counter;
  const usd = dollars(
    usage(
      c,
      done,
      bodies.map((b) => Buffer.byteLength(b)),
      durations,
    ),
  );
  return {
    events: done,
    eventsPerSec: done / seconds,
    wcuPer1kEvents: (c.writeUnits / done) * 1000,
    rcuPer1kEvents: (c.readUnits / done) * 1000,
    usdPerMillionEvents: usd.total,
    usd,
  };
}

export interface CapacityCrossCheck {
  counted: { wcu: number; rcu: number };
  reported: { wcu: number; rcu: number };
  requests: number;
}

/** Runs the real CameraStateStore against DynamoDB Local and compares our unit count with the engine's. */
export async function crossCheckCapacity(
  env: CountedMoto,
  opts: { cameras: number; batches: number },
  starting: Promise<DynamoDbLocal> = startDynamoDbLocal(),
): Promise<CapacityCrossCheck> {
  const local = await starting;
  try {
    const counter = newCounter();
    const reported = { write: 0, read: 0, requests: 0 };
    countRequests(local.ddb, 'DynamoDB', () => counter);
    sumConsumedCapacity(local.ddb, reported);
    const deps = { ...realDeps(env), store: new CameraStateStore(local.ddb, local.tableName) };
    for (const k of [1, 100]) {
      const fleet = new Fleet({
        cameras: opts.cameras,
        eventsPerMessage: k,
        messagesPerBatch: opts.cameras,
        batches: opts.batches,
        prefix: `xc${k}`,
        seed: 3,
      });
      for (const batch of fleet.batches()) await ingestBatch(records(batch), deps);
    }
    return {
      counted: { wcu: counter.writeUnits, rcu: counter.readUnits },
      reported: { wcu: reported.write, rcu: reported.read },
      requests: reported.requests,
    };
  } finally {
    await local.stop();
  }
}
