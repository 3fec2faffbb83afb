// A simulated camera fleet speaking the producers' exact wire format. Each camera measures its
// five metrics once per sample interval and sends what it buffered as one JSON array per send
// interval. Deterministic: the same options give byte-identical messages, and the same seed gives the same
// values whatever the start time.
import { MODALITIES, METRICS, type MetricKind, type Modality } from '../core/metric-event.js';
import { Prng } from './prng.js';
import { SCENARIOS, scenario, scenarioCounts, type ScenarioId } from './scenarios.js';

export interface FleetOptions {
  cameras?: number;
  hours?: number;
  seed?: number;
  /**
   * Event time of the first sample (ms). Default: the latest time at startHourOfDay UTC from which
   * the whole run ends before now, so UTC time of day on a chart is the fleet's local time.
   */
  startMs?: number;
  sampleIntervalSec?: number;
  sendIntervalSec?: number;
  /** Local hour of day (0-24) at the first sample: where the run starts in the fleet's daily cycle. */
  startHourOfDay?: number;
}

/**
 * Each event summarizes a 2-minute interval; a camera uploads hourly (150 events a message). The run
 * starts at noon and lasts 20 hours, so it crosses one whole night (dusk 18:00 to dawn 06:00).
 */
export const FLEET_DEFAULTS = {
  cameras: 100,
  hours: 20,
  seed: 42,
  sampleIntervalSec: 120,
  sendIntervalSec: 3600,
  startHourOfDay: 12,
};

/** The fleet's night, in local hours: daylight below its daily mean from dusk to dawn. */
export const NIGHT = { dusk: 18, dawn: 6 } as const;
const NIGHT_HOURS = (NIGHT.dawn - NIGHT.dusk + 24) % 24;

/** A night in event time, clipped to the run; `whole` when the run covers it from dusk to dawn. */
export interface NightSpan {
  from: number;
  to: number;
  whole: boolean;
}

export interface SimCamera {
  id: string;
  index: number;
  modality: Modality;
  scenario: ScenarioId;
  /** Event time the scenario's change begins, or null. */
  onsetMs: number | null;
  modelVersion: string;
  /** Healthy levels this camera fluctuates around (samples: labelled samples per 3 minutes in daylight). */
  base: { accuracy: number; precision: number; recall: number; drift: number; latencyMs: number; samples: number };
}

/** A metric value as sent, kept for the report's charts. */
export interface SentPoint {
  ts: number;
  value: number;
  sampleCount?: number;
  modelVersion?: string;
}

export interface SimMessage {
  /** Event time at which the camera sends it. */
  sendAtMs: number;
  cameraId: string;
  body: string;
  /** Valid events in the body (they must all be applied). */
  validEvents: number;
  /** Bad parts in the body (each must reach the DLQ with a reason). */
  badParts: number;
}

interface CameraRuntime {
  cam: SimCamera;
  rng: Prng;
  phaseMs: number;
  buffer: object[];
  badParts: number;
  driftAr: number;
  /** Sampled parameters of the scenario's change. */
  change: { target: number; slowMs: number; drop: number; rollout: number };
}

const MODALITY_LATENCY_MS: Record<Modality, number> = { Rgb: 30, Thermal: 40, Depth: 55 };
/**
 * How far DriftScore rises at night (darkness 1) above its daytime level, by modality: RGB sees
 * the scene change most, thermal least (it does not need light), depth in between.
 */
export const NIGHT_DRIFT: Record<Modality, number> = { Rgb: 0.06, Thermal: 0.015, Depth: 0.03 };
const MIN = 60_000;

/** The version a rollout moves to: minor + 1 (rgb-det-v3.2.1 → rgb-det-v3.3.0). */
const nextVersion = (v: string) =>
  v.replace(/v(\d+)\.(\d+)\.\d+$/, (_m, major: string, minor: string) => `v${major}.${Number(minor) + 1}.0`);
const clamp = (x: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, x));
const round = (x: number, digits: number) => Number(x.toFixed(digits));
/** The latest whole minute ≤ t whose UTC time of day is `hour` (fractional hours allowed). */
export function latestAtHourOfDay(t: number, hour: number): number {
  const day = 24 * 3600_000;
  const offset = Math.round((hour * 3600_000) / MIN) * MIN;
  return t - ((((t - offset) % day) + day) % day);
}
const ramp = (sinceMs: number, durationMs: number) => (sinceMs < 0 ? 0 : Math.min(1, sinceMs / durationMs));

export class FleetSimulator {
  readonly startMs: number;
  readonly endMs: number;
  readonly cameras: SimCamera[];
  readonly options: Required<Omit<FleetOptions, 'startMs'>>;
  /** Every valid value sent, by camera id then metric (Float-free plain arrays; a few MB at default size). */
  readonly sent = new Map<string, Partial<Record<MetricKind, SentPoint[]>>>();
  private readonly runtimes: CameraRuntime[];

  constructor(opts: FleetOptions = {}) {
    this.options = {
      cameras: opts.cameras ?? FLEET_DEFAULTS.cameras,
      hours: opts.hours ?? FLEET_DEFAULTS.hours,
      seed: opts.seed ?? FLEET_DEFAULTS.seed,
      sampleIntervalSec: opts.sampleIntervalSec ?? FLEET_DEFAULTS.sampleIntervalSec,
      sendIntervalSec: opts.sendIntervalSec ?? FLEET_DEFAULTS.sendIntervalSec,
      startHourOfDay: opts.startHourOfDay ?? FLEET_DEFAULTS.startHourOfDay,
    };
    const { cameras, hours, seed, sampleIntervalSec, sendIntervalSec, startHourOfDay } = this.options;
    if (!(startHourOfDay >= 0 && startHourOfDay < 24))
      throw new Error(`startHourOfDay must be in [0, 24), got ${startHourOfDay}`);
    if (!Number.isInteger(cameras) || cameras < 1)
      throw new Error(`cameras must be a positive integer, got ${cameras}`);
    if (!(hours > 0)) throw new Error(`hours must be > 0, got ${hours}`);
    if (sendIntervalSec % sampleIntervalSec !== 0)
      throw new Error('sendIntervalSec must be a multiple of sampleIntervalSec');
    const durationMs = Math.round(hours * 3600_000);
    this.startMs = opts.startMs ?? latestAtHourOfDay(Date.now() - durationMs - MIN, startHourOfDay);
    this.endMs = this.startMs + durationMs;

    const counts = scenarioCounts(cameras);
    const fleetRng = new Prng(seed, 0xf1ee7);
    const assignment = fleetRng.shuffle(SCENARIOS.flatMap((s) => Array.from({ length: counts[s.id] }, () => s.id)));
    this.cameras = assignment.map((scenarioId, index) => {
      const rng = new Prng(seed, 1, index);
      const modality = MODALITIES[index % MODALITIES.length]!;
      const s = scenario(scenarioId);
      const onsetMs = s.onset
        ? Math.round((this.startMs + durationMs * rng.uniform(s.onset[0], s.onset[1])) / MIN) * MIN
        : null;
      return {
        id: `cam-${String(index + 1).padStart(4, '0')}`,
        index,
        modality,
        scenario: scenarioId,
        onsetMs,
        modelVersion: `${modality.toLowerCase()}-det-v${rng.pick(['3.1.0', '3.2.0', '3.2.1'])}`,
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
    this.runtimes = this.cameras.map((cam) => {
      const rng = new Prng(seed, 2, cam.index);
      return {
        cam,
        rng,
        phaseMs: rng.int(0, sendIntervalSec / sampleIntervalSec - 1) * sampleIntervalSec * 1000,
        buffer: [],
        badParts: 0,
        driftAr: 0,
        change: {
          target: rng.uniform(0.82, 0.95),
          slowMs: rng.uniform(330, 480),
          drop: rng.uniform(0.07, 0.12),
          rollout: rng.uniform(-0.06, 0.03),
        },
      };
    });
  }

  /** The fleet's local hour of day (0-24) at event time t: the run starts at startHourOfDay. */
  hourOfDay(t: number): number {
    return (this.options.startHourOfDay + (t - this.startMs) / 3600_000) % 24;
  }

  /** The nights the run overlaps, in event time (clipped to the run). */
  nights(): NightSpan[] {
    const firstDusk = this.startMs + (((NIGHT.dusk - this.options.startHourOfDay + 24) % 24) - 24) * 3600_000;
    const out: NightSpan[] = [];
    for (let dusk = firstDusk; dusk < this.endMs; dusk += 24 * 3600_000) {
      const dawn = dusk + NIGHT_HOURS * 3600_000;
      if (dawn <= this.startMs) continue;
      out.push({
        from: Math.max(dusk, this.startMs),
        to: Math.min(dawn, this.endMs),
        whole: dusk >= this.startMs && dawn <= this.endMs,
      });
    }
    return out;
  }

  /** Messages in the order the fleet sends them (event time). Can be iterated once. */
  *messages(): Generator<SimMessage> {
    const { sampleIntervalSec, sendIntervalSec } = this.options;
    const step = sampleIntervalSec * 1000,
      sendEvery = sendIntervalSec * 1000;
    for (let t = this.startMs; t < this.endMs; t += step) {
      for (const rt of this.runtimes) {
        this.sample(rt, t);
        const last = t + step >= this.endMs;
        if ((t - this.startMs - rt.phaseMs) % sendEvery === sendEvery - step || last) yield* this.flush(rt, t);
      }
    }
  }

  private point(cam: SimCamera, metric: MetricKind, p: SentPoint) {
    let byMetric = this.sent.get(cam.id);
    if (!byMetric) this.sent.set(cam.id, (byMetric = {}));
    (byMetric[metric] ??= []).push(p);
  }

  /** RFC 3339 with nanoseconds, as serde writes chrono timestamps. */
  private timestamp(rng: Prng, ts: number): string {
    const nanos = String(rng.int(0, 999_999)).padStart(6, '0');
    return new Date(ts).toISOString().replace('Z', `${nanos}Z`);
  }

  private sample(rt: CameraRuntime, t: number) {
    const { cam, rng } = rt;
    const since = cam.onsetMs === null ? -1 : t - cam.onsetMs;
    // The fleet's clock starts at startHourOfDay when the run starts, so values do not depend on the wall clock.
    const hourOfDay = this.hourOfDay(t);
    const daylight = 0.65 + 0.35 * Math.sin(((hourOfDay - 6) / 24) * 2 * Math.PI);
    // 0 at midday, 1 at midnight: the daily cycle every camera's DriftScore follows.
    const darkness = (1 - daylight) / 0.7;
    // Labelled samples per interval, in proportion to its length; now and then very few (a quiet
    // scene): noisy, to be gated out.
    const perInterval = this.options.sampleIntervalSec / 180;
    const samples = rng.chance(0.05)
      ? rng.int(2, 12)
      : Math.max(20, Math.round(cam.base.samples * perInterval * daylight + rng.normal(0, 15 * perInterval)));
    const ts = t + rng.int(0, 999);

    const rolledOut = cam.scenario === 'model-rollout' && since >= 0;
    const drop =
      cam.scenario === 'accuracy-regression'
        ? rt.change.drop * ramp(since, 15 * MIN)
        : rolledOut
          ? -rt.change.rollout
          : 0;
    const rate = (base: number) => {
      const p = clamp(base - drop, 0.01, 0.99);
      return round(clamp(p + rng.normal(0, Math.sqrt((p * (1 - p)) / samples)), 0, 1), 4);
    };
    rt.driftAr = 0.6 * rt.driftAr + rng.normal(0, 0.035);
    let driftLevel = 0;
    if (cam.scenario === 'drift') driftLevel = ramp(since, 40 * MIN);
    // Drifts for 90 minutes, then back to normal over 20.
    if (cam.scenario === 'drift-recovers') driftLevel = ramp(since, 40 * MIN) - ramp(since - 90 * MIN, 20 * MIN);
    const driftShift = (rt.change.target - cam.base.drift) * driftLevel;
    const night = NIGHT_DRIFT[cam.modality] * darkness;
    const drift = round(Math.max(0, cam.base.drift + night + rt.driftAr + driftShift), 4);
    const typical =
      cam.scenario === 'latency-regression'
        ? cam.base.latencyMs + (rt.change.slowMs - cam.base.latencyMs) * ramp(since, 20 * MIN)
        : cam.base.latencyMs;
    const spike = rng.chance(0.01) ? rng.uniform(1.5, 2.5) : 1;
    const latency = round(typical * Math.exp(rng.normal(0, 0.12)) * spike, 1);

    const values: [MetricKind, number, number | undefined][] = [
      ['Accuracy', rate(cam.base.accuracy), samples],
      ['Precision', rate(cam.base.precision), samples],
      ['Recall', rate(cam.base.recall), samples],
      ['DriftScore', drift, undefined],
      ['LatencyMs', latency, undefined],
    ];
    const modelVersion = rolledOut ? nextVersion(cam.modelVersion) : cam.modelVersion;
    for (const [metric, value, sampleCount] of values) {
      const event: Record<string, unknown> = {
        id: rng.uuid(),
        timestamp: this.timestamp(rng, ts),
        camera_id: cam.id,
        modality: cam.modality,
        metric,
        value,
        model_version: modelVersion,
      };
      if (sampleCount !== undefined) event.sample_count = sampleCount;
      rt.buffer.push(event);
      this.point(cam, metric, sampleCount === undefined ? { ts, value } : { ts, value, sampleCount, modelVersion });
    }
    if (cam.scenario === 'malformed' && rng.chance(0.03)) {
      rt.buffer.splice(rng.int(0, rt.buffer.length), 0, this.badElement(rt, ts));
      rt.badParts++;
    }
  }

  /** One invalid element, of a kind producers really get wrong. */
  private badElement(rt: CameraRuntime, ts: number): object {
    const { cam, rng } = rt;
    const ok = {
      id: rng.uuid(),
      timestamp: this.timestamp(rng, ts),
      camera_id: cam.id,
      modality: cam.modality,
      metric: 'Accuracy',
      value: 0.9,
      sample_count: 100,
    };
    switch (rng.int(0, 5)) {
      case 0:
        return { ...ok, metric: 'F1' };
      case 1:
        return { ...ok, value: 1.7 };
      case 2:
        return { ...ok, timestamp: '27/11/2026 08:15' };
      case 3:
        return { ...ok, value: '0.93' };
      case 4: {
        const { camera_id: _omit, ...rest } = ok;
        return rest;
      }
      default:
        return { ...ok, modality: 'Infrared' };
    }
  }

  private *flush(rt: CameraRuntime, t: number): Generator<SimMessage> {
    if (rt.buffer.length === 0) return;
    const body = JSON.stringify(rt.buffer);
    const badParts = rt.badParts;
    const sendAtMs = t + this.options.sampleIntervalSec * 1000;
    yield { sendAtMs, cameraId: rt.cam.id, body, validEvents: rt.buffer.length - badParts, badParts };
    rt.buffer = [];
    rt.badParts = 0;
    // Now and then a malformed camera's uplink cuts a body short: the whole body is one bad part.
    if (rt.cam.scenario === 'malformed' && rt.rng.chance(0.08)) {
      yield {
        sendAtMs,
        cameraId: rt.cam.id,
        body: body.slice(0, rt.rng.int(20, Math.min(400, body.length - 1))),
        validEvents: 0,
        badParts: 1,
      };
    }
  }

  /** The last valid event time sent per stream `${modality}.${metric}`, for checking stored state. */
  lastSentByStream(cameraId: string): Record<string, number> {
    const cam = this.cameras.find((c) => c.id === cameraId);
    const out: Record<string, number> = {};
    if (!cam) return out;
    for (const metric of METRICS) {
      const pts = this.sent.get(cameraId)?.[metric];
      if (pts?.length) out[`${cam.modality}.${metric}`] = Math.max(...pts.map((p) => p.ts));
    }
    return out;
  }
}
