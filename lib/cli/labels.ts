// Labelled incident windows for `vmon backtest --labels` and `vmon tune --labels`, from JSON or CSV:
// - JSON, NAB style: {"<camera_id>": [[start, end], ...], ...} ([] = labelled, no incident); NAB's keys
//   name data files (`realTweets/x.csv`): a trailing .csv is dropped, as the camera of a timestamp,value
//   file is its name without it (event-file.ts);
// - JSON, list: [{"camera_id": "...", "start": "...", "end": "...", "metric"?: "..."}, ...]
//   (or {"windows": [...]});
// - CSV: header camera_id,start,end[,metric] (or camera,start,end), one window per line.
// Times are RFC 3339, or NAB's "YYYY-MM-DD HH:MM:SS[.ffffff]" read as UTC. Bounds are inclusive.
import { readFile } from 'node:fs/promises';
import { extname } from 'node:path';
import { METRICS, parseRfc3339, type MetricKind } from '../core/metric-event.js';
import type { LabelWindow } from '../core/scoring.js';
import { usageError } from './errors.js';

export interface LabelledWindow extends LabelWindow {
  /** Only this metric's detectors are scored on the window; all of the camera's when absent. */
  metric?: MetricKind;
}

/** Windows by camera; a camera listed with no windows is labelled as having had no incident. */
export type Labels = Map<string, LabelledWindow[]>;

const NAB_TIME = /^(\d{4}-\d{2}-\d{2}) (\d{2}:\d{2}:\d{2}(?:\.\d+)?)$/;

/** RFC 3339, or NAB's naive "YYYY-MM-DD HH:MM:SS[.ffffff]" taken as UTC. */
export function parseLabelTime(text: unknown, where: string): number {
  if (typeof text !== 'string') throw usageError(`${where}: must be a time string, got ${JSON.stringify(text)}`);
  const nab = NAB_TIME.exec(text);
  const t = parseRfc3339(nab ? `${nab[1]}T${nab[2]}Z` : text);
  if (typeof t === 'string') throw usageError(`${where}: ${JSON.stringify(text)} ${t} (or YYYY-MM-DD HH:MM:SS, UTC)`);
  return t;
}

function window(
  camera: unknown,
  start: unknown,
  end: unknown,
  metric: unknown,
  where: string,
): [string, LabelledWindow] {
  if (typeof camera !== 'string' || camera.length === 0)
    throw usageError(`${where}: camera_id must be a non-empty string, got ${JSON.stringify(camera)}`);
  const w: LabelledWindow = {
    start: parseLabelTime(start, `${where} start`),
    end: parseLabelTime(end, `${where} end`),
  };
  if (w.end < w.start) throw usageError(`${where}: end ${String(end)} is before start ${String(start)}`);
  if (metric !== undefined && metric !== '') {
    if (!(METRICS as readonly unknown[]).includes(metric))
      throw usageError(`${where}: metric must be one of ${METRICS.join(' | ')}, got ${JSON.stringify(metric)}`);
    w.metric = metric as MetricKind;
  }
  return [camera, w];
}

export function parseLabels(text: string, format: 'json' | 'csv', source: string): Labels {
  const labels: Labels = new Map();
  const add = ([camera, w]: [string, LabelledWindow]) => {
    const list = labels.get(camera) ?? [];
    list.push(w);
    labels.set(camera, list);
  };
  if (format === 'csv') {
    const lines = text.split(/\r?\n/);
    const header = (lines[0] ?? '').split(',').map((h) => h.trim());
    const col = (name: string) => header.indexOf(name === 'camera_id' && !header.includes(name) ? 'camera' : name);
    for (const name of ['camera_id', 'start', 'end'])
      if (col(name) < 0)
        throw usageError(`${source} line 1: the CSV header needs camera_id,start,end[,metric] (or camera,start,end)`);
    lines.slice(1).forEach((line, k) => {
      if (!line.trim()) return;
      const cells = line.split(',').map((c) => c.trim());
      const metric = col('metric') >= 0 ? cells[col('metric')] : undefined;
      add(window(cells[col('camera_id')], cells[col('start')], cells[col('end')], metric, `${source} line ${k + 2}`));
    });
    return labels;
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw usageError(`${source} is not valid JSON: ${(err as Error).message}`);
  }
  const list = Array.isArray(doc) ? doc : (doc as { windows?: unknown })?.windows;
  if (Array.isArray(list)) {
    list.forEach((item, i) => {
      const o = (item ?? {}) as Record<string, unknown>;
      add(window(o.camera_id ?? o.camera, o.start, o.end, o.metric, `${source} [${i}]`));
    });
    return labels;
  }
  if (!doc || typeof doc !== 'object')
    throw usageError(`${source}: expected {"<camera_id>": [[start, end], ...]} or a list of windows`);
  for (const [key, windows] of Object.entries(doc)) {
    const camera = key.replace(/\.csv$/i, '');
    if (!Array.isArray(windows))
      throw usageError(`${source} "${camera}": must be a list of [start, end] pairs, got ${JSON.stringify(windows)}`);
    labels.set(camera, labels.get(camera) ?? []);
    windows.forEach((pair, i) => {
      if (!Array.isArray(pair) || pair.length !== 2)
        throw usageError(`${source} "${camera}"[${i}]: must be a [start, end] pair, got ${JSON.stringify(pair)}`);
      add(window(camera, pair[0], pair[1], undefined, `${source} "${camera}"[${i}]`));
    });
  }
  return labels;
}

export async function readLabelFile(path: string): Promise<Labels> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw usageError(`labels file not found: ${path}`);
    throw err;
  }
  return parseLabels(text, extname(path).toLowerCase() === '.csv' ? 'csv' : 'json', path);
}

/**
 * Labels keyed for the cameras of a history: a key that names no camera but ends with `/<camera>` for
 * exactly one camera becomes that camera's (NAB's keys are paths under its data folder, e.g.
 * `realTweets/x`; a folder given deeper, `data/realTweets`, names its cameras `x`).
 */
export function alignLabels(labels: Labels, cameras: Iterable<string>): Labels {
  const known = new Set(cameras);
  const out: Labels = new Map();
  for (const [key, windows] of labels) {
    let camera = key;
    if (!known.has(key)) {
      const tails = [...known].filter((c) => key.endsWith(`/${c}`));
      if (tails.length === 1) camera = tails[0]!;
    }
    out.set(camera, [...(out.get(camera) ?? []), ...windows]);
  }
  return out;
}
