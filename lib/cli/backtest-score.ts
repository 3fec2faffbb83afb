// Scores a backtest's triggers against labelled incident windows, per detector and for all
// detectors together (lib/core/scoring.ts holds the rules). A series is one camera's stream of the
// detector's metric in one modality; cameras missing from the labels count as having no incident.
import { isModelScope } from '../core/trigger.js';
import type { MetricEvent } from '../core/metric-event.js';
import {
  NAB_PROFILES,
  scoreSeries,
  summarize,
  type NabProfile,
  type ScoreSummary,
  type SeriesScore,
} from '../core/scoring.js';
import type { BacktestResult, PolicyFor } from './backtest.js';
import type { Labels } from './labels.js';
import { num } from './format.js';

export const ALL_DETECTORS = '(all detectors)';

export interface DetectorScore extends ScoreSummary {
  detector: string;
}

/** Stream key → event times, from the events kept per camera. */
function streamTimes(events: readonly MetricEvent[]): Map<string, number[]> {
  const out = new Map<string, number[]>();
  for (const e of events) {
    const key = `${e.modality}.${e.metric}`;
    let list = out.get(key);
    if (!list) out.set(key, (list = []));
    list.push(e.ts);
  }
  return out;
}

export function scoreBacktest(
  result: BacktestResult,
  labels: Labels,
  policyFor: PolicyFor,
  profile: NabProfile = NAB_PROFILES.standard,
): DetectorScore[] {
  return [...scoreSeriesByDetector(result, labels, policyFor, profile)]
    .sort(([a], [b]) => (a === ALL_DETECTORS ? 1 : b === ALL_DETECTORS ? -1 : a.localeCompare(b)))
    .map(([detector, scores]) => ({ detector, ...summarize(scores.map(([, s]) => s)) }));
}

/**
 * Each scored series (camera, stream) per detector, in the order of the result's cameras: what
 * scoreBacktest summarizes. A distributed tune's shards return theirs (lib/replay-cloud/tune-steps.ts).
 */
export function scoreSeriesByDetector(
  result: Pick<BacktestResult, 'triggers' | 'eventsByCamera'>,
  labels: Labels,
  policyFor: PolicyFor,
  profile: NabProfile = NAB_PROFILES.standard,
): Map<string, [camera: string, score: SeriesScore][]> {
  // detections by detector id → camera → stream key
  const detections = new Map<string, Map<string, Map<string, number[]>>>();
  const push = (detector: string, camera: string, stream: string, t: number) => {
    let byCamera = detections.get(detector);
    if (!byCamera) detections.set(detector, (byCamera = new Map()));
    let byStream = byCamera.get(camera);
    if (!byStream) byCamera.set(camera, (byStream = new Map()));
    const list = byStream.get(stream) ?? [];
    list.push(t);
    byStream.set(stream, list);
  };
  for (const t of result.triggers) {
    if (t.detailType === 'AlertResolved' || isModelScope(t.detail)) continue; // scored per camera
    const stream = `${t.detail.modality}.${t.detail.metric}`;
    const at = Date.parse(t.detail.lastEventAt);
    push(t.detail.detector, t.detail.cameraId, stream, at);
    push(ALL_DETECTORS, t.detail.cameraId, stream, at);
  }
  const perDetector = new Map<string, [string, SeriesScore][]>();
  let camera = '';
  const add = (d: string, s: SeriesScore) => {
    const list = perDetector.get(d) ?? [];
    list.push([camera, s]);
    perDetector.set(d, list);
  };
  for (const [cameraId, events] of result.eventsByCamera) {
    camera = cameraId;
    const times = streamTimes(events);
    const windows = labels.get(camera) ?? [];
    const watchedByAny = new Set<string>();
    for (const [stream, ts] of times) {
      const [modality, metric] = stream.split('.') as [MetricEvent['modality'], MetricEvent['metric']];
      const scoped = windows.filter((w) => w.metric === undefined || w.metric === metric);
      for (const spec of policyFor(camera, modality).detectors) {
        if (spec.metric !== metric || (spec.modalities && !spec.modalities.includes(modality))) continue;
        watchedByAny.add(stream);
        add(
          spec.id,
          scoreSeries(
            { times: ts, windows: scoped, detections: detections.get(spec.id)?.get(camera)?.get(stream) ?? [] },
            profile,
          ),
        );
      }
      if (watchedByAny.has(stream))
        add(
          ALL_DETECTORS,
          scoreSeries(
            { times: ts, windows: scoped, detections: detections.get(ALL_DETECTORS)?.get(camera)?.get(stream) ?? [] },
            profile,
          ),
        );
    }
  }
  return perDetector;
}

const minutes = (ms: number | null) => (ms === null ? '-' : num(ms / 60_000));

export const SCORE_COLUMNS = [
  'DETECTOR',
  'WINDOWS',
  'DETECTED',
  'MISSED',
  'LATE ONLY',
  'DELAY P50 (MIN)',
  'DELAY P90 (MIN)',
  'FALSE ALARMS',
  'PER CAMERA-DAY',
  'PER 1K EVENTS',
  'NAB SCORE',
];
export const scoreRow = (s: DetectorScore): (string | number)[] => [
  s.detector,
  s.windows,
  s.detected,
  s.missed,
  s.late,
  minutes(s.delayMedianMs),
  minutes(s.delayP90Ms),
  s.falseAlarms,
  num(s.falseAlarmsPerDay),
  num(s.falseAlarmsPer1k),
  num(s.nabScore),
];
