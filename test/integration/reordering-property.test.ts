// Property: under reordered, duplicated, concurrent and faulty delivery, the bus carries a trigger
// for every episode the camera states record as published, and none for an episode recorded as
// suppressed (cooldown, silenced, retrain in flight). fast-check draws per camera two drift streams
// (Rgb → RetrainingRequested, Thermal → HyperparameterTuningRequested) that open and close episodes
// (healthy, drifting, healthy, drifting) with suppression windows of the same scale as the gaps
// between events: a cooldown, a retrain-in-flight timeout and sometimes an operator silence. Events
// are delivered out of order (each displaced by up to `lateness` seconds), with extra latency events
// that move the camera's lifecycle clock, in random messages and batches, by 1-3 concurrent workers,
// with or without injected faults. Real SDK clients on one moto; the bus is read through the tap rule.
// Also checked: every event applied exactly once, empty outboxes, and the clock = newest event sent.
//
// CI runs a fixed seed. Many seeds: PROPERTY_RUNS=100 PROPERTY_SEED=<n> npx vitest run test/integration/reordering-property.test.ts
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { ingestBatch, type IngestDeps, type IngestRecord } from '../../lib/app/ingest-batch.js';
import { addSilence } from '../../lib/app/silences.js';
import { CameraStateStore } from '../../lib/adapters/state-store.js';
import { TriggerPublisher } from '../../lib/adapters/trigger-publisher.js';
import { DeadLetterQueue } from '../../lib/adapters/dead-letter.js';
import { cameraClock, EPISODE_HISTORY, type CameraState, type EpisodeOutcome } from '../../lib/core/camera-state.js';
import { auditEpisodes, formatFindings } from '../../lib/core/episode-audit.js';
import { parsePolicy, type Policy } from '../../lib/core/policy.js';
import { readCamera, type LocalAws } from '../support/local-aws.js';
import {
  deliverConcurrently,
  deliveryFaultRules,
  drainTap,
  startFaultyClients,
  type FaultyClients,
} from '../support/delivery-run.js';
import { BASE_TIME } from '../support/fixtures.js';
import { crashable, seededRandom } from '../../lib/local/faults.js';

const RUNS = Number(process.env.PROPERTY_RUNS ?? 8);
const SEED = Number(process.env.PROPERTY_SEED ?? 20261129);
const NOW = BASE_TIME + 3600_000;
const MODALITIES = ['Rgb', 'Thermal'] as const;

let aws: LocalAws;
let clients: FaultyClients['clients'];
let faults: FaultyClients['faults'];

let env: FaultyClients | undefined;
beforeAll(async () => {
  env = await startFaultyClients(seededRandom(SEED ^ 0xfa17));
  ({ aws, clients, faults } = env);
});
afterAll(async () => {
  await env?.stop();
});

// Window of 2, breach above 0.5, clear at or below 0.5: values 0 and 0.9 open and close episodes.
const policyOf = (cooldownSeconds: number, inFlightTimeoutSeconds: number): Policy =>
  parsePolicy({
    id: 'reordering',
    detectors: MODALITIES.map((modality) => ({
      id: `drift-${modality.toLowerCase()}`,
      kind: 'window-mean',
      metric: 'DriftScore',
      modalities: [modality],
      action: modality === 'Rgb' ? 'RetrainingRequested' : 'HyperparameterTuningRequested',
      windowSize: 2,
      threshold: 0.5,
      hysteresis: 0,
      requireFullWindow: false,
    })),
    cooldownSeconds,
    inFlightTimeoutSeconds,
  });

// At most 8 drift events per stream (the dedup depth, so none is too late; and at most 8 episodes,
// all within the recorded outcome history).
const stream = fc.record({
  healthyBefore: fc.integer({ min: 0, max: 1 }),
  drift1: fc.constantFrom(0, 2, 3),
  healthyBetween: fc.integer({ min: 1, max: 2 }),
  drift2: fc.constantFrom(0, 2),
});

const scenario = fc.record({
  cameras: fc.array(
    fc.record({
      rgb: stream,
      thermal: stream,
      /** Latency events (no detector reads them) at these seconds: they move the camera's clock. */
      clockEvents: fc.array(fc.integer({ min: 0, max: 100 }), { maxLength: 3 }),
      silence: fc.oneof(
        { arbitrary: fc.constant(undefined), weight: 3 },
        { arbitrary: fc.record({ untilSecond: fc.integer({ min: 0, max: 60 }), driftOnly: fc.boolean() }), weight: 1 },
      ),
    }),
    { minLength: 1, maxLength: 3 },
  ),
  gapSeconds: fc.integer({ min: 1, max: 10 }),
  cooldownSeconds: fc.constantFrom(0, 10, 40),
  inFlightTimeoutSeconds: fc.constantFrom(1, 30, 120),
  /** How far (seconds of event time) an event may arrive behind later ones. */
  lateness: fc.integer({ min: 0, max: 120 }),
  orderSeed: fc.integer(),
  messageSizes: fc.array(fc.integer({ min: 1, max: 4 }), { minLength: 20, maxLength: 20 }),
  duplicateMessages: fc.double({ min: 0, max: 0.3, noNaN: true }),
  batchSizes: fc.array(fc.integer({ min: 1, max: 5 }), { minLength: 20, maxLength: 20 }),
  workers: fc.integer({ min: 1, max: 3 }),
  faultRate: fc.constantFrom(0, 0, 0.05),
});
type Scenario = typeof scenario extends fc.Arbitrary<infer T> ? T : never;

interface SentEvent {
  id: string;
  ts: number;
  camera_id: string;
  modality: string;
  metric: string;
  value: number;
}

let runNo = 0;

function buildEvents(s: Scenario, prefix: string): SentEvent[] {
  let counter = 0;
  const id = () => `00000000-0000-4000-9000-${(runNo * 1e6 + counter++).toString(16).padStart(12, '0')}`;
  const events: SentEvent[] = [];
  s.cameras.forEach((cam, c) => {
    const camera_id = `${prefix}-cam${c}`;
    const at = (second: number) => BASE_TIME + second * 1000;
    for (const [modality, shape] of [
      ['Rgb', cam.rgb],
      ['Thermal', cam.thermal],
    ] as const) {
      const values = [
        ...Array(shape.healthyBefore).fill(0),
        ...Array(shape.drift1).fill(0.9),
        ...Array(shape.healthyBetween).fill(0),
        ...Array(shape.drift2).fill(0.9),
      ];
      for (const [k, value] of values.entries())
        events.push({ id: id(), ts: at(k * s.gapSeconds), camera_id, modality, metric: 'DriftScore', value });
    }
    for (const second of cam.clockEvents)
      events.push({ id: id(), ts: at(second), camera_id, modality: 'Rgb', metric: 'LatencyMs', value: 20 });
  });
  return events;
}

/** Reordered: each event is delivered at its time plus a random delay of up to `lateness`. */
function messages(s: Scenario, events: SentEvent[], prefix: string): IngestRecord[] {
  const rand = seededRandom(s.orderSeed);
  const order = events
    .map((e) => ({ e, k: e.ts + rand() * s.lateness * 1000 }))
    .sort((a, b) => a.k - b.k)
    .map((x) => x.e);
  const out: IngestRecord[] = [];
  for (let i = 0, m = 0; i < order.length; m++) {
    const part = order.slice(i, i + s.messageSizes[m % s.messageSizes.length]!).map(({ ts, ...e }) => ({
      ...e,
      timestamp: new Date(ts).toISOString(),
    }));
    i += part.length;
    out.push({ messageId: `${prefix}-m${m}`, body: JSON.stringify(part.length === 1 ? part[0] : part) });
  }
  // At-least-once: some messages come twice, later.
  for (const msg of [...out]) if (rand() < s.duplicateMessages) out.push({ ...msg });
  return out;
}

describe('triggers on the bus match the recorded episode outcomes under reordering', () => {
  it(`every published episode's trigger arrives and no suppressed one's (seed ${SEED}, ${RUNS} runs)`, async () => {
    const outcomes: Partial<Record<EpisodeOutcome, number>> = {};
    let lateApplied = 0;
    await fc.assert(
      fc.asyncProperty(scenario, async (s) => {
        const prefix = `r${++runNo}`;
        const policy = policyOf(s.cooldownSeconds, s.inFlightTimeoutSeconds);
        const events = buildEvents(s, prefix);
        const store = new CameraStateStore(clients.dynamodb, aws.stack.tableName);
        for (const [c, cam] of s.cameras.entries())
          if (cam.silence)
            await addSilence(
              store,
              `${prefix}-cam${c}`,
              {
                until: BASE_TIME + cam.silence.untilSecond * 1000,
                ...(cam.silence.driftOnly ? { metric: 'DriftScore' as const } : {}),
              },
              BASE_TIME,
            );

        const rules = deliveryFaultRules(s.faultRate);
        faults.dynamodb.setRules(rules.dynamodb);
        faults.eventBridge.setRules(rules.eventBridge);
        const deps: IngestDeps = {
          store,
          publisher: new TriggerPublisher(clients.eventBridge, aws.stack.eventBusName),
          deadLetters: new DeadLetterQueue(clients.sqs, aws.stack.deadLetterQueueUrl),
          policy: () => policy,
          now: () => NOW,
        };
        const invoke = crashable(async (records: IngestRecord[]) => {
          const r = await ingestBatch(records, deps);
          lateApplied += r.late;
          return r;
        });
        try {
          await deliverConcurrently(messages(s, events, prefix), invoke, s.workers, s.batchSizes);
        } finally {
          faults.dynamodb.setRules([]);
          faults.eventBridge.setRules([]);
        }

        const states = new Map<string, CameraState>();
        for (const c of s.cameras.keys())
          states.set(`${prefix}-cam${c}`, (await readCamera(aws, `${prefix}-cam${c}`)).state);
        const bus = await drainTap(aws, prefix);
        const audit = auditEpisodes(states, bus, (detector) =>
          detector === 'drift-rgb' ? 'RetrainingRequested' : 'HyperparameterTuningRequested',
        );
        expect(formatFindings(audit)).toEqual([]);
        expect(audit.episodes.unrecorded).toBe(0);
        outcomes.published = (outcomes.published ?? 0) + audit.episodes.published;
        for (const [why, n] of Object.entries(audit.episodes.suppressed))
          outcomes[why as EpisodeOutcome] = (outcomes[why as EpisodeOutcome] ?? 0) + (n ?? 0);

        for (const [cameraId, state] of states) {
          const sent = events.filter((e) => e.camera_id === cameraId);
          expect(state.outbox, cameraId).toEqual([]);
          for (const [key, entries] of Object.entries(state.streams)) {
            const [modality, metric] = key.split('.');
            expect(entries.length, `${cameraId} ${key}`).toBe(
              sent.filter((e) => e.modality === modality && e.metric === metric).length,
            );
          }
          expect(cameraClock(state)).toBe(Math.max(...sent.map((e) => e.ts)));
          for (const alert of Object.values(state.alerts)) expect(alert.e).toBeLessThanOrEqual(EPISODE_HISTORY);
        }
      }),
      { numRuns: RUNS, seed: SEED, endOnFailure: true },
    );
    // The runs did reorder deliveries and did publish and suppress episodes.
    expect(lateApplied).toBeGreaterThan(0);
    expect(outcomes.published ?? 0).toBeGreaterThan(0);
    expect(Object.keys(outcomes).filter((k) => k !== 'published').length).toBeGreaterThan(0);
    console.log(
      `reordering property: late events applied ${lateApplied}, episode outcomes ${JSON.stringify(outcomes)}`,
    );
  }, 240_000);
});
