// Fleets of cohorts for fleet decisions (docs/fleet-decisions.md): the fleet demo's three models and
// the bench's burst. Seeded: the same seed gives the same events. Producers' wire format, one message
// per camera per `chunkMinutes`, one DriftScore a minute.
import { Prng } from './prng.js';

const MIN = 60_000;

export interface CohortPlan {
  modelVersion: string;
  /** What the monitor must do about this cohort (shown in the summary). */
  expected: string;
  cameras: number;
  /** Minute of each drifting camera's onset, by camera index. */
  onsets: Map<number, number>;
}

export interface CohortFleetMessage {
  /** Event time the message's last event carries. */
  atMs: number;
  cameraId: string;
  modelVersion: string;
  body: string;
}

/** The fleet demo's cohorts, all Rgb: a staggered drift on 40 %, a lone camera among 20 peers, a healthy model. */
export function demoCohorts(): CohortPlan[] {
  return [
    {
      modelVersion: 'det-v4',
      expected: '1 model-scope RetrainingRequested, no camera retrain, no anomaly',
      cameras: 30,
      // 12 of 30 (40 %), onsets evenly over 30 minutes from minute 60.
      onsets: new Map(Array.from({ length: 12 }, (_, c) => [c, 60 + Math.round((c * 30) / 11)])),
    },
    {
      modelVersion: 'seg-v2',
      expected: '1 CameraAnomalyDetected, no retrain',
      cameras: 21,
      onsets: new Map([[0, 70]]),
    },
    { modelVersion: 'cls-v1', expected: 'nothing', cameras: 10, onsets: new Map() },
  ];
}

export const cohortCameraId = (modelVersion: string, index: number) =>
  `${modelVersion}-cam${String(index).padStart(4, '0')}`;

/** Messages in rounds of event time: every camera's chunk of a round before the next round. */
export function cohortFleetRounds(
  plans: readonly CohortPlan[],
  opts: { startMs: number; minutes: number; chunkMinutes: number; seed: number },
): CohortFleetMessage[][] {
  const rounds: CohortFleetMessage[][] = [];
  for (let start = 0; start < opts.minutes; start += opts.chunkMinutes) {
    const round: CohortFleetMessage[] = [];
    for (const plan of plans)
      for (let c = 0; c < plan.cameras; c++) {
        const cameraId = cohortCameraId(plan.modelVersion, c);
        const rng = new Prng(opts.seed, start, c + plan.modelVersion.length * 1000);
        const onset = plan.onsets.get(c);
        const events = [];
        const end = Math.min(opts.minutes, start + opts.chunkMinutes);
        for (let m = start; m < end; m++)
          events.push({
            id: rng.uuid(),
            timestamp: new Date(opts.startMs + m * MIN).toISOString(),
            camera_id: cameraId,
            modality: 'Rgb',
            metric: 'DriftScore',
            value: Number(
              (onset !== undefined && m >= onset ? rng.uniform(0.85, 0.95) : rng.uniform(0.2, 0.3)).toFixed(4),
            ),
            model_version: plan.modelVersion,
          });
        round.push({
          atMs: opts.startMs + (end - 1) * MIN,
          cameraId,
          modelVersion: plan.modelVersion,
          body: JSON.stringify(events),
        });
      }
    rounds.push(round);
  }
  return rounds;
}
