// What the chaos run sends and which faults it injects: a seeded fleet of valid events, bad elements
// mixed into array bodies, producer duplicates and truncated bodies, and per-call fault rules.
import { DEDUP_DEPTH } from '../core/camera-state.js';
import type { FaultRule } from '../local/faults.js';

export const CHAOS_BASE_MS = Date.parse('2026-11-27T08:00:00Z');

export interface SentEvent {
  id: string;
  ts: number;
  camera: string;
  stream: string;
  wire: object;
}

/** The seeded fleet: per camera one drift stream and one latency stream, each DEDUP_DEPTH events. */
export function chaosFleet(seed: number, cameras: number, rand: () => number): SentEvent[] {
  const events: SentEvent[] = [];
  let n = 0;
  const uuid = () => {
    const h = (seed * 1e7 + n++).toString(16).padStart(12, '0');
    return `c4a05000-0000-4000-8000-${h}`;
  };
  for (let c = 0; c < cameras; c++) {
    const camera = `chaos-cam${String(c).padStart(3, '0')}`;
    const drifts = rand() < 0.5;
    for (let k = 0; k < DEDUP_DEPTH; k++) {
      const ts = CHAOS_BASE_MS + c * 60_000 + k * 1000;
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

export interface ChaosMessages {
  /** Message bodies in the order they are sent (cameras interleaved as a fleet would). */
  bodies: string[];
  /** Bad parts among them (bad elements and bodies that are not JSON), duplicates included. */
  badParts: number;
}

/**
 * The fleet's messages: per camera, time-ordered chunks of 1-4 events, some with a bad element,
 * some whole bodies that are not JSON; 10 % sent twice (a producer retrying after a timeout).
 */
export function chaosMessages(events: readonly SentEvent[], rand: () => number): ChaosMessages {
  const messages: { body: string; bad: number }[] = [];
  for (const list of groupByCamera(events).values()) {
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
  const badParts = messages.reduce((a, m) => a + m.bad, 0);
  const bodies = messages
    .map((m) => ({ b: m.body, k: rand() }))
    .sort((x, y) => x.k - y.k)
    .map((x) => x.b);
  return { bodies, badParts };
}

export function groupByCamera(events: readonly SentEvent[]): Map<string, SentEvent[]> {
  const byCamera = new Map<string, SentEvent[]>();
  for (const e of events) byCamera.set(e.camera, [...(byCamera.get(e.camera) ?? []), e]);
  return byCamera;
}

/** Random faults per AWS call, `rate` per command shared among its kinds. */
export function chaosFaultRules(rate: number): {
  dynamodb: FaultRule[];
  eventBridge: FaultRule[];
  sqs: FaultRule[];
  firehose: FaultRule[];
} {
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
    // The metric history: the adapter retries, then counts what it drops.
    firehose: each('PutRecordBatch', ['throttle', 'server-error']),
  };
}
