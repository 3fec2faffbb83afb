// Upload patterns of an edge fleet (docs/fleet-decisions.md#watermarks): each camera buffers its events and
// uploads them every `uploadMinutes`; the fleet's uploads of one period arrive shuffled, after the period's
// earlier ones. Cameras can be offline (their backlog arrives later, in order) and an upload can be retried
// after the camera's next one (its first attempt lost, or delivered too). Seeded: same seed, same arrivals.
// Events: one DriftScore per camera every `intervalSeconds`, the wire format producers send.
import { parsePolicy } from '../core/policy.js';
import { Prng } from './prng.js';

const MIN = 60_000;

/**
 * The policy these scenarios are judged with (the watermark bench and the fleet-decision tests): a window
 * mean of 3 DriftScores over 0.7 asks for a retrain, at model scope (the default `retrainScope`), no cooldown.
 */
export const COHORT_DRIFT_POLICY = parsePolicy({
  id: 'cohort-drift',
  detectors: [
    {
      id: 'drift-mean',
      kind: 'window-mean',
      metric: 'DriftScore',
      action: 'RetrainingRequested',
      windowSize: 3,
      threshold: 0.7,
      hysteresis: 0.05,
    },
  ],
  cooldownSeconds: 0,
});

export interface UploadCamera {
  cameraId: string;
  modelVersion: string;
  /** Minute of event time the camera starts drifting (none: healthy). */
  onsetMin?: number;
  /** Minute it is healthy again. */
  recoverMin?: number;
  /** Offline from..to (minutes of event time): back at `toMin`, it uploads its backlog, in order, first. */
  offline?: { fromMin: number; toMin: number };
  /** Uploads (by the minute their period starts) retried after the camera's next upload. */
  retried?: { periodMin: number; firstLost: boolean }[];
}

export interface UploadPlan {
  startMs: number;
  minutes: number;
  uploadMinutes: number;
  seed: number;
  /** Seconds between a camera's events (default 60). */
  intervalSeconds?: number;
}

export interface Upload {
  /** Unique per delivery (a retry is a new message with the same events). */
  messageId: string;
  cameraId: string;
  /** Event time of the upload's first and last events (ms). */
  fromMs: number;
  toMs: number;
  events: number;
  body: string;
}

function uploadBody(c: UploadCamera, plan: UploadPlan, fromMin: number, toMin: number): string {
  const step = (plan.intervalSeconds ?? 60) * 1000;
  const events = [];
  for (let t = plan.startMs + fromMin * MIN; t < plan.startMs + toMin * MIN; t += step) {
    const m = (t - plan.startMs) / MIN;
    const rng = new Prng(plan.seed, t / 1000, hash(c.cameraId));
    const drifting = c.onsetMin !== undefined && m >= c.onsetMin && (c.recoverMin === undefined || m < c.recoverMin);
    events.push({
      id: rng.uuid(),
      timestamp: new Date(t).toISOString(),
      camera_id: c.cameraId,
      modality: 'Rgb',
      metric: 'DriftScore',
      value: Number((drifting ? rng.uniform(0.85, 0.95) : rng.uniform(0.2, 0.3)).toFixed(4)),
      model_version: c.modelVersion,
    });
  }
  return JSON.stringify(events);
}

function hash(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

/**
 * Deliveries in arrival order, grouped in rounds: round k holds the backlogs of cameras back online, then
 * the uploads of period k (every camera's, shuffled), then the retries due then. Pass the rounds in order.
 */
export function uploadRounds(cameras: readonly UploadCamera[], plan: UploadPlan): Upload[][] {
  const P = plan.uploadMinutes;
  const periods = Math.ceil(plan.minutes / P);
  const rounds: Upload[][] = Array.from({ length: periods }, () => []);
  const backlogs: Upload[][] = Array.from({ length: periods }, () => []);
  const late: Upload[][] = Array.from({ length: periods }, () => []);
  const rng = new Prng(plan.seed, 7919);
  const step = (plan.intervalSeconds ?? 60) * 1000;
  for (const c of cameras)
    for (let k = 0; k < periods; k++) {
      const fromMin = k * P;
      const toMin = Math.min(plan.minutes, fromMin + P);
      const make = (attempt: number): Upload => ({
        messageId: `${c.cameraId}@${fromMin}#${attempt}`,
        cameraId: c.cameraId,
        fromMs: plan.startMs + fromMin * MIN,
        toMs: plan.startMs + toMin * MIN - step,
        events: Math.ceil(((toMin - fromMin) * MIN) / step),
        body: uploadBody(c, plan, fromMin, toMin),
      });
      const retry = c.retried?.find((r) => r.periodMin === fromMin);
      const off = c.offline && fromMin >= c.offline.fromMin && fromMin < c.offline.toMin;
      const at = off ? Math.min(periods - 1, Math.ceil(c.offline!.toMin / P)) : k;
      if (!retry?.firstLost) (off ? backlogs : rounds)[at]!.push(make(1));
      // The retry arrives after the camera's next upload: at the end of the next round.
      if (retry) late[Math.min(periods - 1, at + 1)]!.push(make(2));
    }
  return rounds.map((round, k) => [...backlogs[k]!, ...shuffle(round, rng), ...late[k]!]);
}

function shuffle<T>(xs: T[], rng: Prng): T[] {
  const out = [...xs];
  for (let i = out.length - 1; i > 0; i--) {
    const j = rng.int(0, i);
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

/**
 * A model's cohort with a staggered drift: `share` of its cameras (chosen by the seed) start drifting at
 * onsets spread evenly over `spreadMin` minutes from `onsetMin`.
 */
export function staggeredCohort(opts: {
  modelVersion: string;
  cameras: number;
  share: number;
  onsetMin: number;
  spreadMin: number;
  seed: number;
  recoverMin?: number;
}): UploadCamera[] {
  const rng = new Prng(opts.seed, 104_729);
  const drifting = Math.ceil(opts.cameras * opts.share);
  const order = shuffle(
    Array.from({ length: opts.cameras }, (_, c) => c),
    rng,
  ).slice(0, drifting);
  const onsets = new Map(
    order.map((c, i) => [c, opts.onsetMin + Math.round((i * opts.spreadMin) / Math.max(1, drifting - 1))]),
  );
  return Array.from({ length: opts.cameras }, (_, c) => {
    const onsetMin = onsets.get(c);
    return {
      cameraId: `${opts.modelVersion}-cam${String(c).padStart(3, '0')}`,
      modelVersion: opts.modelVersion,
      ...(onsetMin !== undefined ? { onsetMin } : {}),
      ...(onsetMin !== undefined && opts.recoverMin !== undefined ? { recoverMin: opts.recoverMin } : {}),
    };
  });
}
