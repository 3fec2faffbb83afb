// A healthy fleet at the real rate for month-long replays (bench "fleet month", docs/performance.md):
// every camera measures its five metrics every 10 s; DriftScore follows the day/night cycle (NIGHT_DRIFT)
// with AR(1) noise, quality rates have the binomial noise of their labelled samples (fewer at night),
// latency is log-normal with rare spikes; half the cameras upload hourly, half every 60 s. Optional drift
// scenarios move every camera of one model (a cohort) as the simulator's `drift` does. Events are made
// in process, already valid (no file, no JSON), per camera from its own seed: a shard generates only
// its cameras, and the same camera gets the same events whatever the sharding.
import { shardOf } from '../app/cohort-signals.js';
import { MODALITIES, type MetricEvent, type MetricKind, type Modality } from '../core/metric-event.js';
import type { ReplaySource, ShardSpec } from '../replay/engine.js';
import { NIGHT_DRIFT } from './fleet-simulator.js';
import { Prng } from './prng.js';

const MIN = 60_000;
const HOUR = 60 * MIN;
const MODALITY_LATENCY_MS: Record<Modality, number> = { Rgb: 30, Thermal: 40, Depth: 55 };
/** Two models per modality: six cohorts. */
export const FLEET_MONTH_MODELS = MODALITIES.flatMap((m) => [`${m.toLowerCase()}-det-v3`, `${m.toLowerCase()}-det-v4`]);

/** Every camera of a model drifts: onsets spread over `spreadMin`, each ramping to 0.82–0.95 over 40 min. */
export interface CohortDrift {
  modelVersion: string;
  onsetMs: number;
  spreadMin?: number;
}

export interface FleetMonthOptions {
  cameras: number;
  days: number;
  seed: number;
  /** Event time of the first sample (a midnight UTC: the fleet's local time). */
  startMs: number;
  sampleIntervalSec?: number;
  /** Share of cameras uploading hourly; the others upload every 60 s. Default 0.5. */
  hourlyShare?: number;
  drifts?: CohortDrift[];
  /** Only this shard's cameras (the engine's camera shards). */
  shard?: ShardSpec;
}

export interface FleetMonthCamera {
  id: string;
  index: number;
  modality: Modality;
  modelVersion: string;
  hourly: boolean;
  base: { accuracy: number; precision: number; recall: number; drift: number; latencyMs: number; samples: number };
}

export function fleetMonthCameras(o: FleetMonthOptions): FleetMonthCamera[] {
  return Array.from({ length: o.cameras }, (_, index) => {
    const rng = new Prng(o.seed, 11, index);
    const modality = MODALITIES[index % MODALITIES.length]!;
    const modelVersion = `${modality.toLowerCase()}-det-v${rng.chance(0.5) ? 3 : 4}`;
    return {
      id: `fm-${String(index + 1).padStart(5, '0')}`,
      index,
      modality,
      modelVersion,
      hourly: rng.chance(o.hourlyShare ?? 0.5),
      base: {
        accuracy: rng.uniform(0.86, 0.94),
        precision: rng.uniform(0.84, 0.93),
        recall: rng.uniform(0.82, 0.92),
        drift: rng.uniform(0.08, 0.28),
        latencyMs: MODALITY_LATENCY_MS[modality] * rng.uniform(0.8, 1.25),
        samples: rng.int(120, 260),
      },
    };
  });
}

/** The onset of each drifting camera (by id). */
export function driftOnsets(o: FleetMonthOptions): Map<string, { onsetMs: number; target: number }> {
  const out = new Map<string, { onsetMs: number; target: number }>();
  for (const cam of fleetMonthCameras(o)) {
    const d = o.drifts?.find((x) => x.modelVersion === cam.modelVersion);
    if (!d) continue;
    const rng = new Prng(o.seed, 13, cam.index);
    out.set(cam.id, {
      onsetMs: d.onsetMs + Math.round(rng.uniform(0, d.spreadMin ?? 30)) * MIN,
      target: rng.uniform(0.82, 0.95),
    });
  }
  return out;
}

const METRIC_ORDER: MetricKind[] = ['Accuracy', 'Precision', 'Recall', 'DriftScore', 'LatencyMs'];

interface Runtime {
  cam: FleetMonthCamera;
  rng: Prng;
  ar: number;
  seq: number;
  idPrefix: string;
  drift?: { onsetMs: number; target: number };
  buffer: MetricEvent[];
}

/** The fleet's events in upload order: batches of one camera's events (one upload each). */
export function* fleetMonthEvents(o: FleetMonthOptions): Generator<MetricEvent[]> {
  const step = (o.sampleIntervalSec ?? 10) * 1000;
  const onsets = driftOnsets(o);
  const runtimes: Runtime[] = fleetMonthCameras(o)
    .filter((cam) => !o.shard || o.shard.count === 1 || shardOf(cam.id, o.shard.count) === o.shard.index)
    .map((cam) => ({
      cam,
      rng: new Prng(o.seed, 12, cam.index),
      ar: 0,
      seq: 0,
      idPrefix: `${(cam.index + 1).toString(16).padStart(8, '0')}-0000-4000-8000-`,
      drift: onsets.get(cam.id),
      buffer: [],
    }));
  // AR(1) with the simulator's 2-minute correlation (0.6 per 2 min) and stationary spread, at this step.
  const phi = 0.6 ** (step / (2 * MIN));
  const innovation = (0.035 / Math.sqrt(1 - 0.36)) * Math.sqrt(1 - phi * phi);
  const end = o.startMs + o.days * 24 * HOUR;
  for (let minute = o.startMs; minute < end; minute += MIN) {
    const hourEnds = (minute + MIN - o.startMs) % HOUR === 0;
    for (const rt of runtimes) {
      for (let t = minute; t < minute + MIN; t += step) sample(rt, t, step, phi, innovation);
      if (!rt.cam.hourly || hourEnds || minute + MIN >= end) {
        yield rt.buffer;
        rt.buffer = [];
      }
    }
  }
}

function sample(rt: Runtime, t: number, step: number, phi: number, innovation: number): void {
  const { cam, rng } = rt;
  const hourOfDay = (t / HOUR) % 24;
  const daylight = 0.65 + 0.35 * Math.sin(((hourOfDay - 6) / 24) * 2 * Math.PI);
  const darkness = (1 - daylight) / 0.7;
  const perInterval = step / 1000 / 180;
  const samples = Math.max(2, Math.round(cam.base.samples * perInterval * daylight + rng.normal(0, 15 * perInterval)));
  const ts = t + rng.int(0, 999);
  const rate = (p: number) =>
    Math.round(Math.min(1, Math.max(0, p + rng.normal(0, Math.sqrt((p * (1 - p)) / samples)))) * 10_000) / 10_000;
  rt.ar = phi * rt.ar + rng.normal(0, innovation);
  let shift = 0;
  if (rt.drift && t >= rt.drift.onsetMs)
    shift = (rt.drift.target - cam.base.drift) * Math.min(1, (t - rt.drift.onsetMs) / (40 * MIN));
  const drift = Math.max(0, cam.base.drift + NIGHT_DRIFT[cam.modality] * darkness + rt.ar + shift);
  const spike = rng.chance(0.01) ? rng.uniform(1.5, 2.5) : 1;
  const latency = cam.base.latencyMs * Math.exp(rng.normal(0, 0.12)) * spike;
  const values = [
    rate(cam.base.accuracy),
    rate(cam.base.precision),
    rate(cam.base.recall),
    Math.round(drift * 10_000) / 10_000,
    Math.round(latency * 10) / 10,
  ];
  const timestamp = new Date(ts).toISOString();
  for (let k = 0; k < 5; k++) {
    const e: MetricEvent = {
      id: rt.idPrefix + (rt.seq++).toString(16).padStart(12, '0'),
      timestamp,
      ts,
      camera_id: cam.id,
      modality: cam.modality,
      metric: METRIC_ORDER[k]!,
      value: values[k]!,
      model_version: cam.modelVersion,
    };
    if (k < 3) e.sample_count = samples;
    rt.buffer.push(e);
  }
}

/** The fleet as a replay source; only the shard's cameras when opened for a shard (worker threads). */
export function fleetMonthSource(o: FleetMonthOptions, shard?: ShardSpec): ReplaySource {
  return { events: () => fleetMonthEvents(shard ? { ...o, shard } : o) };
}
