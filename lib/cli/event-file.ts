// Reads metric events from a JSONL file (each line one SQS-style body: an event object or an array
// of them) or a CSV file whose header names the wire fields. Streams line by line; every line keeps
// its number so bad input is reported where it is.
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { extname } from 'node:path';
import { usageError } from './errors.js';

export type EventFileFormat = 'jsonl' | 'csv';

/** One non-blank line: JSONL gives its text (a body), CSV the object its cells make. */
export type EventLine =
  | { line: number; text: string }
  | { line: number; object: Record<string, unknown> }
  | { line: number; error: string };

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

/** Throws a usage error naming the file when it is missing or not a file. */
export async function checkReadable(path: string): Promise<number> {
  try {
    const s = await stat(path);
    if (!s.isFile()) throw usageError(`${path} is not a file`);
    return s.size;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw usageError(`file not found: ${path}`);
    throw err;
  }
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
): AsyncGenerator<EventLine[]> {
  let header: string[] | undefined;
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
        const missing = REQUIRED_CSV_COLUMNS.filter((c) => !header!.includes(c));
        if (missing.length)
          throw usageError(
            `${path} line ${n}: CSV header lacks ${missing.join(', ')} (the header names the wire fields: ${REQUIRED_CSV_COLUMNS.join(',')},model_version,sample_count)`,
          );
        continue;
      }
      if (cells.length !== header.length) {
        out.push({ line: n, error: `CSV: ${cells.length} fields, the header has ${header.length}` });
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
