// `npm run chaos`: a bounded chaos run on a local moto server. A seeded fleet sends metric events
// (with producer duplicates and some bad input) to the ingest queue; the local event-source mapping
// drives the real ingest handler, whose own SDK clients get random faults (DynamoDB throttling, 5xx,
// lost responses and conflicts; PutEvents partial failures, 5xx and lost responses; dead-letter
// throttling; crashes after the state write). Afterwards it checks the contract from the outside:
// every valid event sent is in its camera's window exactly once (lost must be 0), every episode in
// the state has its trigger on the bus (read through the catch-all tap rule), every bad part is in
// the dead-letter queue. Prints the numbers and writes bench/chaos.json. Stops all it started.
//
// Then it measures what the guarantees cost in DynamoDB writes, fault-free.
//
// Options (env): CHAOS_SEED (default 1), CHAOS_CAMERAS (default 40), CHAOS_FAULT_RATE (default 0.05).
// `npm run chaos -- --fuzz` runs the parser fuzz instead (lib/chaos/fuzz.ts): FUZZ_SEED (default 1),
// FUZZ_BODIES (through parseBody, default 1,000,000), FUZZ_STACK_BODIES (through the local stack, 10,000).
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import {
  DeleteMessageBatchCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  SQSClient,
  type Message,
} from '@aws-sdk/client-sqs';
import { startMoto, PROJECT_ROOT, type MotoServer } from '../lib/local/moto-server.js';
import { createLocalStack, functionEnv, localClientConfig, type LocalStack } from '../lib/local/local-stack.js';
import { LocalEventSourceMapping } from '../lib/local/event-source-mapping.js';
import { batchResultObservers, ingestBatch, type BatchResult, type IngestRecord } from '../lib/app/ingest-batch.js';
import { CameraStateStore, cameraItem } from '../lib/adapters/state-store.js';
import { TriggerPublisher } from '../lib/adapters/trigger-publisher.js';
import { DeadLetterQueue } from '../lib/adapters/dead-letter.js';
import { DEDUP_DEPTH, emptyState, type CameraState } from '../lib/core/camera-state.js';
import { decodeState } from '../lib/core/state-codec.js';
import { idTag } from '../lib/core/stream-window.js';
import { episodeId, triggerId } from '../lib/core/trigger.js';
import { DEFAULT_POLICY, driftPolicy, parsePolicy, windowSizes } from '../lib/core/policy.js';
import { METRICS, MODALITIES, parseBody } from '../lib/core/metric-event.js';
import { itemSizeBytes } from '../lib/adapters/item-size.js';
import { DEAD_LETTER_ATTRIBUTES, STATE_TABLE } from '../lib/resources.js';
import { crashable, injectFaults, seededRandom, type FaultRule } from '../test/support/faults.js';
import { FUZZ_DEFAULTS, formatFuzzReport, runFuzz } from '../lib/chaos/fuzz.js';

const SEED = Number(process.env.CHAOS_SEED ?? 1);
const CAMERAS = Number(process.env.CHAOS_CAMERAS ?? 40);
const FAULT_RATE = Number(process.env.CHAOS_FAULT_RATE ?? 0.05);
const WINDOW = 3;
const THRESHOLD = 0.7;
const DEADLINE_MS = 180_000;
const BASE = Date.parse('2026-11-27T08:00:00Z');

interface SentEvent {
  id: string;
  ts: number;
  camera: string;
  stream: string;
}

/** The seeded fleet: per camera one drift stream and one latency stream, each DEDUP_DEPTH events. */
function fleet(rand: () => number) {
  const events: (SentEvent & { wire: object })[] = [];
  let n = 0;
  const uuid = () => {
    const h = (SEED * 1e7 + n++).toString(16).padStart(12, '0');
    return `c4a05000-0000-4000-8000-${h}`;
  };
  for (let c = 0; c < CAMERAS; c++) {
    const camera = `chaos-cam${String(c).padStart(3, '0')}`;
    const drifts = rand() < 0.5;
    for (let k = 0; k < DEDUP_DEPTH; k++) {
      const ts = BASE + c * 60_000 + k * 1000;
      const timestamp = new Date(ts).toISOString();
      const drift = drifts && k >= DEDUP_DEPTH - 4 ? 0.85 + rand() * 0.15 : rand() * 0.3;
      const d = {
        id: uuid(),
        timestamp,
        camera_id: camera,
        modality: 'Rgb',
        metric: 'DriftScore',
        value: Number(drift.toFixed(3)),
      };
      const l = {
        id: uuid(),
        timestamp,
        camera_id: camera,
        modality: 'Thermal',
        metric: 'LatencyMs',
        value: Math.round(20 + rand() * 30),
      };
      events.push(
        { id: d.id, ts, camera, stream: 'Rgb.DriftScore', wire: d },
        { id: l.id, ts, camera, stream: 'Thermal.LatencyMs', wire: l },
      );
    }
  }
  return events;
}

/** Bad elements sent inside array bodies next to valid events. */
const BAD_ELEMENTS: string[] = [
  JSON.stringify({
    id: 'not-a-uuid',
    timestamp: '2026-11-27T08:00:00Z',
    camera_id: 'chaos-x',
    modality: 'Rgb',
    metric: 'DriftScore',
    value: 0.1,
  }),
  JSON.stringify({
    id: '00000000-0000-4000-8000-000000000000',
    timestamp: '2026-11-27T08:00:00Z',
    camera_id: 'chaos\u0007x',
    modality: 'Rgb',
    metric: 'DriftScore',
    value: 0.1,
  }),
  JSON.stringify({
    id: '00000000-0000-4000-8000-000000000001',
    timestamp: '1999-01-01T00:00:00Z',
    camera_id: 'chaos-x',
    modality: 'Rgb',
    metric: 'DriftScore',
    value: 'NaN',
  }),
];

function faultRules(rate: number): { dynamodb: FaultRule[]; eventBridge: FaultRule[]; sqs: FaultRule[] } {
  const each = (command: string, kinds: FaultRule['fault'][], r = rate) =>
    kinds.map((fault) => ({ command, fault, probability: r / kinds.length }));
  return {
    dynamodb: [
      ...each('GetItem', ['throttle', 'server-error']),
      ...each('PutItem', ['throttle', 'server-error', 'lost-response', 'conditional-conflict']),
      ...each('PutItem', ['crash'], rate / 3),
    ],
    eventBridge: [
      ...each('PutEvents', ['partial-failure', 'server-error', 'lost-response']),
      ...each('PutEvents', ['crash'], rate),
    ],
    sqs: each('SendMessageBatch', ['throttle']),
  };
}

async function receiveAll(sqs: SQSClient, queueUrl: string): Promise<Message[]> {
  const out: Message[] = [];
  for (;;) {
    const r = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: queueUrl,
        MaxNumberOfMessages: 10,
        WaitTimeSeconds: 0,
        MessageAttributeNames: ['All'],
      }),
    );
    const msgs = r.Messages ?? [];
    if (msgs.length === 0) return out;
    out.push(...msgs);
    await sqs.send(
      new DeleteMessageBatchCommand({
        QueueUrl: queueUrl,
        Entries: msgs.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle! })),
      }),
    );
  }
}

async function queueDepth(sqs: SQSClient, queueUrl: string): Promise<number> {
  const r = await sqs.send(
    new GetQueueAttributesCommand({
      QueueUrl: queueUrl,
      AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
    }),
  );
  return (
    Number(r.Attributes?.ApproximateNumberOfMessages ?? 0) +
    Number(r.Attributes?.ApproximateNumberOfMessagesNotVisible ?? 0)
  );
}

async function readState(ddb: DynamoDBClient, table: string, camera: string): Promise<CameraState | undefined> {
  const r = await ddb.send(
    new GetItemCommand({ TableName: table, Key: { pk: { S: STATE_TABLE.cameraKey(camera) } }, ConsistentRead: true }),
  );
  return r.Item ? decodeState({ streams: r.Item.w?.B, rest: r.Item.s?.S }) : undefined;
}

async function chaosRun(stack: LocalStack, sqs: SQSClient, ddb: DynamoDBClient) {
  const rand = seededRandom(SEED);
  // The original drift detector; every episode published (no cooldown, retrain-in-flight hold of 1 ms).
  const policy = parsePolicy({ ...driftPolicy(WINDOW, THRESHOLD), inFlightTimeoutSeconds: 0.001 });
  Object.assign(process.env, functionEnv(stack), { DEFAULT_POLICY: JSON.stringify(policy) });
  const fn = await import('../functions/ingest.js');
  const faultRandom = seededRandom(SEED ^ 0xc4a05);
  const rules = faultRules(FAULT_RATE);
  const injectors = [
    injectFaults(fn.clients.dynamodb, rules.dynamodb, faultRandom),
    injectFaults(fn.clients.eventBridge, rules.eventBridge, faultRandom),
    injectFaults(fn.clients.sqs, rules.sqs, faultRandom),
  ];
  const tally = { applied: 0, duplicates: 0, tooLate: 0, writes: 0, conflicts: 0 };
  const observe = (r: BatchResult) => {
    tally.applied += r.applied;
    tally.duplicates += r.duplicates;
    tally.tooLate += r.tooLate;
    tally.writes += r.writes;
    tally.conflicts += r.conflicts;
  };
  batchResultObservers.add(observe);
  const mapping = new LocalEventSourceMapping(sqs, crashable(fn.handler), {
    queueUrl: stack.ingestQueueUrl,
    batchSize: 10,
    maxBatchingWindowMs: 100,
    pollers: 4,
    waitTimeSeconds: 1,
  });

  try {
    // The fleet's messages: per camera, time-ordered chunks of 1-4 events, some with a bad element,
    // some whole bodies that are not JSON; 10 % sent twice (a producer retrying after a timeout).
    const events = fleet(rand);
    const messages: { body: string; bad: number }[] = [];
    const byCamera = new Map<string, typeof events>();
    for (const e of events) byCamera.set(e.camera, [...(byCamera.get(e.camera) ?? []), e]);
    for (const list of byCamera.values()) {
      for (let i = 0; i < list.length; ) {
        const size = 1 + Math.floor(rand() * 4);
        const parts = list.slice(i, i + size).map((e) => JSON.stringify(e.wire));
        i += size;
        const bad = rand() < 0.05 ? 1 : 0;
        if (bad) parts.push(BAD_ELEMENTS[Math.floor(rand() * BAD_ELEMENTS.length)]!);
        const msg = { body: parts.length === 1 ? parts[0]! : `[${parts.join(',')}]`, bad };
        messages.push(msg);
        if (rand() < 0.1) messages.push(msg);
        if (rand() < 0.02) messages.push({ body: '{"id": "truncated', bad: 1 });
      }
    }
    const badSent = messages.reduce((a, m) => a + m.bad, 0);
    // Interleave cameras as a fleet would.
    const order = messages
      .map((m) => ({ b: m.body, k: rand() }))
      .sort((x, y) => x.k - y.k)
      .map((x) => x.b);

    mapping.start();
    for (let i = 0; i < order.length; i += 10) {
      await sqs.send(
        new SendMessageBatchCommand({
          QueueUrl: stack.ingestQueueUrl,
          Entries: order.slice(i, i + 10).map((b, j) => ({ Id: String(j), MessageBody: b })),
        }),
      );
    }
    const started = Date.now();
    // Settled: the ingest queue is empty for two consecutive looks.
    let empty = 0;
    while (empty < 2) {
      if (Date.now() - started > DEADLINE_MS)
        throw new Error(`chaos run did not settle within ${DEADLINE_MS / 1000} s`);
      await new Promise((r) => setTimeout(r, 500));
      empty = (await queueDepth(sqs, stack.ingestQueueUrl)) === 0 ? empty + 1 : 0;
    }
    await mapping.stop();

    // lost: valid events sent that are not in their camera's window (each stream holds all it was sent).
    const states = new Map<string, CameraState | undefined>();
    for (const cam of byCamera.keys()) states.set(cam, await readState(ddb, stack.tableName, cam));
    let applied = 0,
      doubled = 0;
    for (const e of events) {
      const entries = states.get(e.camera)?.streams[e.stream] ?? [];
      const hits = entries.filter((x) => x.ts === e.ts && x.tag === idTag(e.id)).length;
      if (hits >= 1) applied++;
      if (hits > 1) doubled++;
    }
    // Triggers: every episode in the state must be on the bus; duplicates carry the same triggerId.
    const tap = await receiveAll(sqs, stack.tapQueueUrl);
    const deliveries = new Map<string, number>();
    for (const m of tap) {
      const id = JSON.parse(m.Body!).detail.triggerId as string;
      deliveries.set(id, (deliveries.get(id) ?? 0) + 1);
    }
    const expectedTriggers = new Set<string>();
    for (const [cam, state] of states) {
      for (const [key, alert] of Object.entries(state?.alerts ?? {})) {
        const [detector, modality] = key.split('@') as [string, 'Rgb'];
        for (let e = 1; e <= alert.e; e++) {
          const episode = episodeId(cam, modality, detector, e);
          expectedTriggers.add(triggerId(episode, 'RetrainingRequested'));
          // Every episode but a still firing last one has resolved.
          if (e < alert.e || !alert.f) expectedTriggers.add(triggerId(episode, 'AlertResolved'));
        }
      }
    }
    const missingTriggers = [...expectedTriggers].filter((id) => !deliveries.has(id)).length;
    const unexpectedTriggers = [...deliveries.keys()].filter((id) => !expectedTriggers.has(id)).length;
    const outboxLeft = [...states.values()].reduce((n, s) => n + (s?.outbox.length ?? 0), 0);
    // Dead letters: ours carry a reason; a redelivered message may dead-letter its bad part again.
    const letters = await receiveAll(sqs, stack.deadLetterQueueUrl);
    const reasoned = letters.filter((m) => m.MessageAttributes?.[DEAD_LETTER_ATTRIBUTES.reason]);
    const rejectedParts = new Set(
      reasoned.map(
        (m) =>
          `${m.MessageAttributes![DEAD_LETTER_ATTRIBUTES.sourceMessageId]!.StringValue}#${m.MessageAttributes![DEAD_LETTER_ATTRIBUTES.index]?.StringValue ?? ''}`,
      ),
    );
    // Messages SQS itself moved after maxReceiveCount failed receives: parked intact, not lost
    // (redriving them is harmless, applying an event twice has no effect).
    const redriven = letters.filter((m) => !m.MessageAttributes?.[DEAD_LETTER_ATTRIBUTES.reason]);
    const parkedIds = new Set(
      redriven.flatMap((m) => parseBody(m.Body ?? '', BASE + 86_400_000).events.map((e) => e.id)),
    );
    const appliedIds = new Set(
      events
        .filter((e) =>
          (states.get(e.camera)?.streams[e.stream] ?? []).some((x) => x.ts === e.ts && x.tag === idTag(e.id)),
        )
        .map((e) => e.id),
    );
    const parked = events.filter((e) => !appliedIds.has(e.id) && parkedIds.has(e.id)).length;

    const sent = events.length;
    const totalDeliveries = [...deliveries.values()].reduce((a, b) => a + b, 0);
    const summary = {
      sent,
      applied,
      duplicatesIgnored: tally.duplicates,
      lost: sent - applied - parked,
      uniqueTriggers: deliveries.size,
      duplicateTriggerDeliveries: totalDeliveries - deliveries.size,
      rejected: rejectedParts.size,
    };
    const faultsInjected: Record<string, number> = {};
    for (const inj of injectors) Object.assign(faultsInjected, inj.counters.injected);
    const checks = {
      'every valid event applied or parked in the dead-letter queue (lost = 0)': summary.lost === 0,
      'no event counted twice': doubled === 0,
      'every episode has its trigger on the bus': missingTriggers === 0 && unexpectedTriggers === 0,
      // An outbox is flushed by the next invocation for its camera; a parked message may leave one.
      'every outbox empty (or its camera has a parked message)': outboxLeft === 0 || redriven.length > 0,
      'every bad part dead-lettered with its reason': rejectedParts.size === badSent,
      'no message parked by SQS redrive (expected at the default fault rate)':
        redriven.length === 0 || FAULT_RATE > 0.05,
    };
    return {
      summary,
      extra: {
        messagesSent: order.length,
        badPartsSent: badSent,
        parkedBySqsRedrive: parked,
        messagesParked: redriven.length,
        outboxLeft,
        handlerApplied: tally.applied,
        tooLate: tally.tooLate,
        stateWrites: tally.writes,
        conflicts: tally.conflicts,
        ...mapping.counters,
        faultsInjected,
      },
      checks,
    };
  } finally {
    batchResultObservers.delete(observe);
    await mapping.stop();
    for (const inj of injectors) inj.remove();
    fn.clients.dynamodb.destroy();
    fn.clients.eventBridge.destroy();
    fn.clients.sqs.destroy();
  }
}

/** Fault-free: DynamoDB writes per batch for new events, redelivered events and batches that decide a trigger. */
async function writeCost(stack: LocalStack, endpoint: string) {
  const cfg = localClientConfig(endpoint);
  const ddb = new DynamoDBClient(cfg);
  const eb = new EventBridgeClient(cfg);
  const sqs = new SQSClient(cfg);
  const counter = injectFaults(ddb, []);
  const policy = driftPolicy(10, THRESHOLD);
  const deps = {
    store: new CameraStateStore(ddb, stack.tableName),
    publisher: new TriggerPublisher(eb, stack.eventBusName),
    deadLetters: new DeadLetterQueue(sqs, stack.deadLetterQueueUrl),
    policy: () => policy,
  };
  let n = 0;
  const batch = (cam: string, values: number[], t0: number): IngestRecord[] => [
    {
      messageId: `wc-${n++}`,
      body: JSON.stringify(
        values.map((value, k) => ({
          id: `00000000-0000-4000-a000-${(n * 100 + k).toString(16).padStart(12, '0')}`,
          timestamp: new Date(BASE + (t0 + k) * 1000).toISOString(),
          camera_id: cam,
          modality: 'Rgb',
          metric: 'DriftScore',
          value,
        })),
      ),
    },
  ];
  const puts = async (records: IngestRecord[]) => {
    const before = counter.counters.succeeded.PutItem ?? 0;
    await ingestBatch(records, deps);
    return (counter.counters.succeeded.PutItem ?? 0) - before;
  };
  const fresh = batch('wc-cam', Array(10).fill(0.1), 0);
  const newEvents = await puts(fresh);
  const redelivered = await puts(fresh);
  const halfDuplicate = await puts([...fresh, ...batch('wc-cam', Array(10).fill(0.1), 10)]);
  const decidesTrigger = await puts(batch('wc-cam', Array(10).fill(0.95), 20));
  const whileFiring = await puts(batch('wc-cam', Array(10).fill(0.95), 30));
  // Item size: what the dedup memory adds under the fleet default policy. Streams a window detector
  // reads hold max(DEDUP_DEPTH, window) entries with values; others DEDUP_DEPTH keys only. Without
  // dedup memory they would hold the window only (and other streams nothing).
  const windows = windowSizes(DEFAULT_POLICY);
  const sized = (modalities: readonly string[], dedup: boolean) => {
    const state: CameraState = {
      ...emptyState(),
      alerts: { 'drift-window-mean@Rgb': { f: false, e: 3 } },
      mv: { Rgb: 'model-v12' },
    };
    for (const m of modalities)
      for (const metric of METRICS) {
        const w = windows[metric] ?? 0;
        const len = dedup ? Math.max(DEDUP_DEPTH, w) : w;
        if (len > 0)
          state.streams[`${m}.${metric}`] = Array.from({ length: len }, (_, k) => ({
            ts: BASE + k * 1000,
            tag: k,
            value: w > 0 ? 0.5 : NaN,
          }));
      }
    return itemSizeBytes(cameraItem('cam-0001', state, 12345, BASE));
  };
  const oneModality = { withDedupMemory: sized(['Rgb'], true), windowsOnly: sized(['Rgb'], false) };
  const allModalities = { withDedupMemory: sized(MODALITIES, true), windowsOnly: sized(MODALITIES, false) };
  ddb.destroy();
  eb.destroy();
  sqs.destroy();
  return {
    putItemPerBatch: { newEvents, redelivered, halfDuplicate, decidesTrigger, whileFiring },
    itemBytes: { oneModality, allModalities },
    perEventIdempotencyRecordsWouldAdd: 10,
  };
}

async function main() {
  let moto: MotoServer | undefined;
  const stopAll = async () => {
    await moto?.stop();
  };
  process.once('SIGINT', () => {
    void stopAll().then(() => process.exit(130));
  });
  try {
    moto = await startMoto();
    const stack = await createLocalStack(moto.endpoint, { stage: 'chaos', visibilityTimeoutSeconds: 1 });
    const cfg = localClientConfig(moto.endpoint);
    const sqs = new SQSClient(cfg),
      ddb = new DynamoDBClient(cfg);
    console.log(
      `chaos: seed ${SEED}, ${CAMERAS} cameras, fault rate ${FAULT_RATE} per call, local moto ${moto.endpoint}`,
    );
    const { summary, extra, checks } = await chaosRun(stack, sqs, ddb);
    sqs.destroy();
    ddb.destroy();

    console.log('\nresult');
    for (const [k, v] of Object.entries(summary)) console.log(`  ${k.padEnd(28)} ${v}`);
    console.log('\ndetails');
    for (const [k, v] of Object.entries(extra))
      console.log(`  ${k.padEnd(28)} ${typeof v === 'object' ? JSON.stringify(v) : v}`);
    console.log('\nchecks');
    for (const [k, v] of Object.entries(checks)) console.log(`  ${v ? 'ok  ' : 'FAIL'} ${k}`);
    console.log('  duplicate trigger deliveries carry the triggerId of the first one: consumers dedupe by triggerId');

    const cost = await writeCost(stack, moto.endpoint);
    console.log('\nwrite cost (fault-free, one camera, batches of 10 events)');
    console.log(
      `  PutItem per batch: new events ${cost.putItemPerBatch.newEvents}, all redelivered ${cost.putItemPerBatch.redelivered}, ` +
        `half redelivered ${cost.putItemPerBatch.halfDuplicate}, deciding a trigger ${cost.putItemPerBatch.decidesTrigger}, while the alert keeps firing ${cost.putItemPerBatch.whileFiring}`,
    );
    const wcu = (b: number) => Math.max(1, Math.ceil(b / 1024));
    for (const [label, v] of [
      ['one modality (5 streams)', cost.itemBytes.oneModality],
      ['three modalities (15 streams)', cost.itemBytes.allModalities],
    ] as const) {
      console.log(
        `  item bytes, ${label}, default policy: ${v.withDedupMemory} with dedup memory (${wcu(v.withDedupMemory)} WCU/write), ${v.windowsOnly} with windows only (${wcu(v.windowsOnly)} WCU/write)`,
      );
    }
    console.log(
      `  a per-event idempotency record would add ${cost.perEventIdempotencyRecordsWouldAdd} writes per such batch`,
    );

    mkdirSync(join(PROJECT_ROOT, 'bench'), { recursive: true });
    writeFileSync(join(PROJECT_ROOT, 'bench/chaos.json'), `${JSON.stringify(summary, null, 2)}\n`);
    console.log('\nwrote bench/chaos.json');
    process.exitCode = Object.values(checks).every(Boolean) ? 0 : 1;
  } finally {
    await stopAll();
  }
}

/** `npm run chaos -- --fuzz`: the parser fuzz (lib/chaos/fuzz.ts) instead of the chaos run. */
async function fuzzMain() {
  const opts = {
    seed: Number(process.env.FUZZ_SEED ?? FUZZ_DEFAULTS.seed),
    parserBodies: Number(process.env.FUZZ_BODIES ?? FUZZ_DEFAULTS.parserBodies),
    stackBodies: Number(process.env.FUZZ_STACK_BODIES ?? FUZZ_DEFAULTS.stackBodies),
  };
  const { parser, stack, ok, summary } = await runFuzz(opts, (l) => console.log(l));
  console.log(`\n${formatFuzzReport(parser, stack)}`);
  console.log(`\n${ok ? 'ok  ' : 'FAIL'} every body applied or dead-lettered with a reason; nothing thrown`);
  mkdirSync(join(PROJECT_ROOT, 'bench'), { recursive: true });
  writeFileSync(join(PROJECT_ROOT, 'bench/fuzz.json'), `${JSON.stringify(summary, null, 2)}\n`);
  console.log('wrote bench/fuzz.json');
  process.exitCode = ok ? 0 : 1;
}

if (process.argv.includes('--fuzz')) await fuzzMain();
else await main();
