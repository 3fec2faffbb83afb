// Reads metric events from a JSONL file (each line one SQS-style body: an event object or an array
// of them), a CSV file whose header names the wire fields, or a `timestamp,value` CSV (one stream:
// camera, modality and metric from flags or the file name), or a folder of such files. Streams line
// by line; every line keeps its number (and file) so bad input is reported where it is.
import { createReadStream, statSync } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { extname, join, relative, sep } from 'node:path';
import { v5 as uuidv5 } from 'uuid';
import { METRICS, MODALITIES, type MetricKind, type Modality } from '../core/metric-event.js';
import { usageError } from './errors.js';

export type EventFileFormat = 'jsonl' | 'csv';

/** One non-blank line: JSONL gives its text (a body), CSV the object its cells make. */
export type EventLine = (
  | { line: number; text: string }
  | { line: number; object: Record<string, unknown> }
  | { line: number; error: string }
) & { /** the file within a folder input */ file?: string };

/** The one stream a `timestamp,value` CSV holds; flags win over what the file name says. */
export interface SeriesOptions {
  camera?: string;
  modality?: string;
  metric?: string;
}
export interface Series {
  camera: string;
  modality: Modality;
  metric: MetricKind;
}

const REQUIRED_CSV_COLUMNS = ['id', 'timestamp', 'camera_id', 'modality', 'metric', 'value'];
const NUMERIC_CSV_COLUMNS = new Set(['value', 'sample_count']);
const NUMBER_RE = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

export function formatOf(path: string, format?: string): EventFileFormat {
  if (format === 'jsonl' || format === 'csv') return format;
  if (format) throw usageError(`unknown format ${JSON.stringify(format)}: use jsonl or csv`);
  const ext = extname(path).toLowerCase();
  if (ext === '.csv') return 'csv';
  if (ext === '.jsonl' || ext === '.ndjson') return 'jsonl';
  throw usageError(
    `cannot tell the format of ${path} from its extension: name it .jsonl or .csv, or pass --format jsonl|csv`,
  );
}

/** Throws a usage error naming the file when it is missing or not a file (or, with `folders`, a folder). */
export async function checkReadable(path: string, folders = false): Promise<number> {
  try {
    const s = await stat(path);
    if (folders && s.isDirectory()) {
      let size = 0;
      for (const f of await listEventFiles(path)) size += (await stat(f)).size;
      return size;
    }
    if (!s.isFile()) throw usageError(`${path} is not a file`);
    return s.size;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw usageError(`file not found: ${path}`);
    throw err;
  }
}

/** The format of an input that may be a folder (each file then by its own extension). */
export function inputFormatOf(path: string, format?: string): EventFileFormat {
  let dir = false;
  try {
    dir = statSync(path).isDirectory();
  } catch {
    // missing: checkReadable names it
  }
  return dir ? formatOf('folder.csv', format) : formatOf(path, format);
}

const EVENT_FILE_EXT = new Set(['.csv', '.jsonl', '.ndjson']);

/** Every event file under a folder (recursively, sorted), by extension. */
export async function listEventFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of (await readdir(dir, { withFileTypes: true })).sort((a, b) => a.name.localeCompare(b.name))) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await listEventFiles(path)));
    else if (entry.isFile() && EVENT_FILE_EXT.has(extname(entry.name).toLowerCase())) out.push(path);
  }
  return out;
}

/**
 * What a file's name says about its stream: `<camera>[.<Modality>][.<Metric>].csv`, where the camera is
 * the path inside the folder given (e.g. `realTweets/Twitter_volume_AAPL`) or the file's base name.
 */
export function seriesFromFileName(relPath: string): SeriesOptions {
  const parts = relPath
    .split(sep)
    .join('/')
    .replace(/\.[^./]*$/, '')
    .split('.');
  const out: SeriesOptions = {};
  while (parts.length > 1) {
    const last = parts[parts.length - 1]!;
    if (!out.modality && (MODALITIES as readonly string[]).includes(last)) out.modality = last;
    else if (!out.metric && (METRICS as readonly string[]).includes(last)) out.metric = last;
    else break;
    parts.pop();
  }
  out.camera = parts.join('.');
  return out;
}

/** The stream of a `timestamp,value` file: flags first, then its name; a clear error when something is missing. */
export function resolveSeries(relPath: string, flags: SeriesOptions, source: string): Series {
  const fromName = seriesFromFileName(relPath);
  const camera = flags.camera ?? fromName.camera;
  const modality = flags.modality ?? fromName.modality;
  const metric = flags.metric ?? fromName.metric;
  const missing = [
    ...(camera ? [] : ['--camera']),
    ...(modality ? [] : ['--modality']),
    ...(metric ? [] : ['--metric']),
  ];
  if (missing.length)
    throw usageError(
      `${source} is a timestamp,value CSV (one stream): pass ${missing.join(', ')} or name the file <camera>.<Modality>.<Metric>.csv`,
    );
  if (!(MODALITIES as readonly string[]).includes(modality!))
    throw usageError(`${source}: modality must be one of ${MODALITIES.join(' | ')}, got ${JSON.stringify(modality)}`);
  if (!(METRICS as readonly string[]).includes(metric!))
    throw usageError(`${source}: metric must be one of ${METRICS.join(' | ')}, got ${JSON.stringify(metric)}`);
  return { camera: camera!, modality: modality as Modality, metric: metric as MetricKind };
}

/** Ids of events made from a `timestamp,value` row: stable per stream and line, so a rerun dedupes alike. */
const SERIES_ID_NAMESPACE = '5b0e9a3c-8f55-4b0a-9d3e-0c6f2a8e1d47';
const NAB_TIME = /^(\d{4}-\d{2}-\d{2})[ T](\d{2}:\d{2}:\d{2}(?:\.\d+)?)$/;
const SERIES_COLUMNS = ['timestamp', 'value'];

/** Whether a CSV header is the one-stream `timestamp,value` shape (no camera_id column). */
export function isSeriesHeader(header: readonly string[]): boolean {
  return SERIES_COLUMNS.every((c) => header.includes(c)) && !header.includes('camera_id');
}

/**
 * One `timestamp,value` row as a wire event of `series`. A naive time (`2014-04-10 07:15:00`, NAB's) is
 * read as UTC; the value stays text when it is not a number, so validation names it.
 */
export function seriesRowToEvent(
  cells: readonly string[],
  header: readonly string[],
  series: Series,
  line: number,
): Record<string, unknown> {
  const timestamp = (cells[header.indexOf('timestamp')] ?? '').trim();
  const value = (cells[header.indexOf('value')] ?? '').trim();
  const naive = NAB_TIME.exec(timestamp);
  return {
    id: uuidv5(`${series.camera}\u0000${series.modality}\u0000${series.metric}\u0000${line}`, SERIES_ID_NAMESPACE),
    timestamp: naive ? `${naive[1]}T${naive[2]}Z` : timestamp,
    camera_id: series.camera,
    modality: series.modality,
    metric: series.metric,
    value: NUMBER_RE.test(value) ? Number(value) : value,
  };
}

/** Splits one CSV record (RFC 4180 quoting, on one line). */
export function parseCsvRecord(text: string): string[] | string {
  const cells: string[] = [];
  let i = 0;
  for (;;) {
    if (text[i] === '"') {
      let cell = '';
      i++;
      for (;;) {
        const q = text.indexOf('"', i);
        if (q < 0) return 'unterminated quoted field';
        cell += text.slice(i, q);
        if (text[q + 1] === '"') {
          cell += '"';
          i = q + 2;
          continue;
        }
        i = q + 1;
        break;
      }
      if (i < text.length && text[i] !== ',') return `unexpected character after a quoted field at column ${i + 1}`;
      cells.push(cell);
    } else {
      const c = text.indexOf(',', i);
      cells.push(c < 0 ? text.slice(i) : text.slice(i, c));
      i = c < 0 ? text.length : c;
    }
    if (i >= text.length) return cells;
    i++; // the comma
    if (i === text.length) {
      cells.push('');
      return cells;
    }
  }
}

/** Raw lines of a file in batches, numbered from 1 (a batch per chunk read: few promises, little garbage). */
async function* lineBatches(
  path: string,
  onBytes?: (bytes: number) => void,
): AsyncGenerator<{ first: number; lines: string[] }> {
  const stream = createReadStream(path, { encoding: 'utf8', highWaterMark: 1 << 20 });
  let carry = '';
  let next = 1;
  for await (const chunk of stream as AsyncIterable<string>) {
    onBytes?.(Buffer.byteLength(chunk));
    const lines = (carry + chunk).split('\n');
    carry = lines.pop()!;
    const first = next;
    next += lines.length;
    yield { first, lines };
  }
  if (carry !== '') yield { first: next, lines: [carry] };
}

/**
 * The lines of an event file in batches (blank lines skipped), with byte progress for a progress
 * bar. CSV: the header line names the wire fields; each later line becomes one object.
 */
export async function* readEventFile(
  path: string,
  format: EventFileFormat,
  onBytes?: (bytes: number) => void,
  seriesFlags: SeriesOptions = {},
): AsyncGenerator<EventLine[]> {
  if (statSync(path).isDirectory()) {
    const files = await listEventFiles(path);
    if (!files.length) throw usageError(`${path}: no .csv, .jsonl or .ndjson files in the folder`);
    for (const file of files) {
      const rel = relative(path, file);
      for await (const batch of readOneFile(file, formatOf(file), onBytes, seriesFlags, rel))
        yield batch.map((l) => ({ ...l, file }));
    }
    return;
  }
  yield* readOneFile(path, format, onBytes, seriesFlags, path.split(sep).pop()!);
}

async function* readOneFile(
  path: string,
  format: EventFileFormat,
  onBytes: ((bytes: number) => void) | undefined,
  seriesFlags: SeriesOptions,
  nameForSeries: string,
): AsyncGenerator<EventLine[]> {
  let header: string[] | undefined;
  let series: Series | undefined;
  for await (const { first, lines } of lineBatches(path, onBytes)) {
    const out: EventLine[] = [];
    for (let i = 0; i < lines.length; i++) {
      const n = first + i;
      let text = lines[i]!;
      if (text.endsWith('\r')) text = text.slice(0, -1);
      if (n === 1) text = text.replace(/^\uFEFF/, '');
      if (text.trim() === '') continue;
      if (format === 'jsonl') {
        out.push({ line: n, text });
        continue;
      }
      const cells = parseCsvRecord(text);
      if (typeof cells === 'string') {
        out.push({ line: n, error: `CSV: ${cells}` });
        continue;
      }
      if (!header) {
        header = cells.map((c) => c.trim());
        if (isSeriesHeader(header)) {
          series = resolveSeries(nameForSeries, seriesFlags, path);
          continue;
        }
        const missing = REQUIRED_CSV_COLUMNS.filter((c) => !header!.includes(c));
        if (missing.length)
          throw usageError(
            `${path} line ${n}: CSV header lacks ${missing.join(', ')} (the header names the wire fields: ${REQUIRED_CSV_COLUMNS.join(',')},model_version,sample_count; or timestamp,value for one stream)`,
          );
        continue;
      }
      if (cells.length !== header.length) {
        out.push({ line: n, error: `CSV: ${cells.length} fields, the header has ${header.length}` });
        continue;
      }
      if (series) {
        out.push({ line: n, object: seriesRowToEvent(cells, header, series, n) });
        continue;
      }
      const object: Record<string, unknown> = {};
      header.forEach((name, k) => {
        const cell = cells[k]!;
        if (cell === '') return; // an empty cell is an absent field
        object[name] = NUMERIC_CSV_COLUMNS.has(name) && NUMBER_RE.test(cell.trim()) ? Number(cell) : cell;
      });
      out.push({ line: n, object });
    }
    if (out.length) yield out;
  }
}
