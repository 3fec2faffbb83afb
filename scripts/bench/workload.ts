// A realistic, seeded fleet workload: each SQS message carries one camera's events (a serving
// process posts its camera's metrics in arrays); a camera has one modality and reports all five
// metrics in turn; a few cameras drift half-way so triggers happen too.
import { METRICS, MODALITIES, type MetricKind } from '../../lib/core/metric-event.js';
import { mulberry32, normal, seededUuid } from '../../lib/sim/prng.js';

export const WORKLOAD_START_MS = Date.UTC(2026, 0, 1);
/** Validation's "now": the workload lies in the past of it. */
export const WORKLOAD_NOW_MS = Date.UTC(2026, 5, 1);

export interface FleetOptions {
  cameras: number;
  /** Events in one message (all of one camera). */
  eventsPerMessage: number;
  messagesPerBatch: number;
  batches: number;
  seed?: number;
  /** Share of cameras whose DriftScore jumps to ~0.9 half-way through. */
  driftingShare?: number;
  /** Camera id prefix (different runs on one table keep apart). */
  prefix?: string;
}

export interface Message {
  cameraId: string;
  body: string;
  events: number;
}

export class Fleet {
  private readonly rand: () => number;
  private readonly gauss: () => number;
  private readonly clock = new Map<string, { t: number; n: number }>();

  constructor(readonly opts: FleetOptions) {
    this.rand = mulberry32(opts.seed ?? 7);
    this.gauss = normal(this.rand);
  }

  /** Time of the newest event generated for a camera, and how many there were. */
  clockOf(cameraId: string): { t: number; n: number } | undefined {
    return this.clock.get(cameraId);
  }

  cameraId(i: number) {
    return `${this.opts.prefix ?? 'cam'}-${String(i).padStart(6, '0')}`;
  }

  private value(metric: MetricKind, drifting: boolean): number {
    const g = this.gauss();
    switch (metric) {
      case 'DriftScore':
        return Math.max(0, (drifting ? 0.9 : 0.3) + 0.1 * g);
      case 'LatencyMs':
        return Math.max(0, 40 + 5 * g);
      default:
        return Math.min(1, Math.max(0, 0.9 + 0.03 * g));
    }
  }

  /** One message of `events` events for camera `i` (its clock advances 1 s per event). */
  message(i: number, events: number, progress: number): Message {
    const cameraId = this.cameraId(i);
    const modality = MODALITIES[i % MODALITIES.length]!;
    const c = this.clock.get(cameraId) ?? { t: WORKLOAD_START_MS + i * 7, n: 0 };
    const drifting =
      i < Math.max(1, Math.round(this.opts.cameras * (this.opts.driftingShare ?? 0.02))) && progress >= 0.5;
    const parts: string[] = [];
    for (let k = 0; k < events; k++) {
      const metric = METRICS[c.n % METRICS.length]!;
      c.n++;
      c.t += 1000;
      const frac = String(Math.floor(this.rand() * 1e6)).padStart(6, '0');
      const timestamp = new Date(c.t).toISOString().replace('Z', `${frac}Z`);
      const event: Record<string, unknown> = {
        id: seededUuid(this.rand),
        timestamp,
        camera_id: cameraId,
        modality,
        metric,
        value: Number(this.value(metric, drifting).toFixed(4)),
        model_version: 'm-1',
      };
      if (metric !== 'DriftScore' && metric !== 'LatencyMs') event.sample_count = 200;
      parts.push(JSON.stringify(event));
    }
    this.clock.set(cameraId, c);
    return { cameraId, body: `[${parts.join(',')}]`, events };
  }

  /** Batches of messages: message m of batch b belongs to camera (b × messagesPerBatch + m) mod cameras. */
  *batches(): Generator<Message[]> {
    const { cameras, eventsPerMessage, messagesPerBatch, batches } = this.opts;
    for (let b = 0; b < batches; b++) {
      const batch: Message[] = [];
      for (let m = 0; m < messagesPerBatch; m++)
        batch.push(this.message((b * messagesPerBatch + m) % cameras, eventsPerMessage, b / batches));
      yield batch;
    }
  }
}

/** The workload as JSONL lines, one event per line (what `vmon backtest` reads): 500 cameras, 100 events a message. */
export function workloadLines(events: number, prefix: string, seed = 9): string[] {
  const cameras = 500,
    perMessage = 100;
  const fleet = new Fleet({
    cameras,
    eventsPerMessage: perMessage,
    messagesPerBatch: cameras,
    batches: Math.ceil(events / (cameras * perMessage)),
    prefix,
    seed,
  });
  const lines: string[] = [];
  for (const batch of fleet.batches())
    for (const m of batch) for (const l of m.body.slice(1, -1).replace(/\},\{/g, '}\n{').split('\n')) lines.push(l);
  return lines;
}
