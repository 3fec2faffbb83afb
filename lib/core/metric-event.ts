// The wire format existing producers already speak: the Rust `MetricEvent` as serde serializes it.
// Pure: no AWS imports. One SQS body is one event object or a JSON array of them.
import { z } from 'zod';

export const MODALITIES = ['Rgb', 'Thermal', 'Depth'] as const;
export const METRICS = ['Accuracy', 'Precision', 'Recall', 'DriftScore', 'LatencyMs'] as const;
export type Modality = (typeof MODALITIES)[number];
export type MetricKind = (typeof METRICS)[number];

/** Metrics whose value is a rate in [0, 1] computed from labelled samples. */
export const QUALITY_METRICS: readonly MetricKind[] = ['Accuracy', 'Precision', 'Recall'];

export const MAX_CAMERA_ID_LENGTH = 128;
/** Events older than this are refused: no fleet sent metrics before it. */
export const EARLIEST_TIMESTAMP_MS = Date.UTC(2000, 0, 1);
/** How far ahead of the receiver's clock a timestamp may be (clock skew allowance). */
export const MAX_FUTURE_SKEW_MS = 24 * 3600 * 1000;

const UUID_RE = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;
// RFC 3339 date-time: 0-9 fractional digits, Z or ±hh:mm.
const RFC3339_RE =
  /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(?:([Zz])|([+-])(\d{2}):(\d{2}))$/;
// C0/C1 control characters are never part of a camera id; they break logs, keys and CLIs.
// eslint-disable-next-line no-control-regex
const CONTROL_CHARS_RE = /[\u0000-\u001f\u007f-\u009f]/;

/** Parses an RFC 3339 timestamp to epoch milliseconds (sub-ms digits are kept only in the original string). */
export function parseRfc3339(text: string): number | string {
  const m = RFC3339_RE.exec(text);
  if (!m) return 'is not an RFC 3339 date-time (e.g. 2026-11-27T08:15:30.123456789Z)';
  const [, y, mo, d, h, mi, s, frac, z, sign, oh, om] = m;
  const year = Number(y), month = Number(mo), day = Number(d);
  const hour = Number(h), minute = Number(mi), second = Number(s);
  if (month < 1 || month > 12) return `has month ${mo}, outside 01-12`;
  const daysInMonth = new Date(Date.UTC(year, month, 0)).getUTCDate();
  if (day < 1 || day > daysInMonth) return `has day ${d}, outside 01-${daysInMonth} for that month`;
  if (hour > 23 || minute > 59 || second > 60) return `has time ${h}:${mi}:${s}, out of range`;
  let offsetMin = 0;
  if (!z) {
    const ohN = Number(oh), omN = Number(om);
    if (ohN > 23 || omN > 59) return `has offset ${sign}${oh}:${om}, out of range`;
    offsetMin = (sign === '-' ? -1 : 1) * (ohN * 60 + omN);
  }
  const ms = frac ? Math.floor(Number(frac.padEnd(3, '0').slice(0, 3))) : 0;
  return Date.UTC(year, month - 1, day, hour, minute, Math.min(second, 59), ms) - offsetMin * 60_000;
}

const finiteNumber = (what: string) =>
  z.number({ error: (i) => (i.input === undefined ? `${what} is required` : `${what} must be a number, got ${describe(i.input)}`) })
    .refine(Number.isFinite, { message: `${what} must be finite` });

export const MetricEventSchema = z
  .object({
    id: z.string({ error: (i) => (i.input === undefined ? 'id is required' : `id must be a string UUID, got ${describe(i.input)}`) })
      .regex(UUID_RE, { message: 'id must be a UUID (8-4-4-4-12 hex digits)' }),
    timestamp: z.string({ error: (i) => (i.input === undefined ? 'timestamp is required' : `timestamp must be an RFC 3339 string, got ${describe(i.input)}`) }),
    camera_id: z.string({ error: (i) => (i.input === undefined ? 'camera_id is required' : `camera_id must be a string, got ${describe(i.input)}`) })
      .min(1, { message: 'camera_id must not be empty' })
      .max(MAX_CAMERA_ID_LENGTH, { message: `camera_id must be at most ${MAX_CAMERA_ID_LENGTH} characters` })
      .refine((s) => !CONTROL_CHARS_RE.test(s), { message: 'camera_id must not contain control characters' })
      .refine((s) => s.trim().length > 0, { message: 'camera_id must not be blank' }),
    modality: z.enum(MODALITIES, { error: (i) => `modality must be one of ${MODALITIES.join(' | ')}, got ${describe(i.input)}` }),
    metric: z.enum(METRICS, { error: (i) => `metric must be one of ${METRICS.join(' | ')}, got ${describe(i.input)}` }),
    value: finiteNumber('value'),
    model_version: z.string({ error: (i) => `model_version must be a string, got ${describe(i.input)}` })
      .min(1, { message: 'model_version must not be empty' }).max(128, { message: 'model_version must be at most 128 characters' }).optional(),
    sample_count: z.number({ error: (i) => `sample_count must be an integer >= 0, got ${describe(i.input)}` })
      .int({ message: 'sample_count must be an integer' }).min(0, { message: 'sample_count must be >= 0' })
      .max(Number.MAX_SAFE_INTEGER, { message: 'sample_count is too large' }).optional(),
  })
  .loose();

/** A validated event. `ts` is epoch ms; `timestamp` keeps the producer's exact text. */
export interface MetricEvent {
  id: string;
  timestamp: string;
  ts: number;
  camera_id: string;
  modality: Modality;
  metric: MetricKind;
  value: number;
  model_version?: string;
  sample_count?: number;
}

export interface FieldError { path: string; message: string }
export interface Rejection {
  /** Zero-based position in an array body, or null for a single-object body / unparseable body. */
  index: number | null;
  /** The rejected part, exactly as received (the whole body or one array element). */
  raw: string;
  reason: string;
  errors: FieldError[];
}
export interface ParsedBody { events: MetricEvent[]; rejections: Rejection[] }

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'string') return `string ${JSON.stringify(v.length > 40 ? v.slice(0, 40) + '…' : v)}`;
  if (typeof v === 'object') return 'an object';
  return `${typeof v} ${String(v)}`;
}

function rangeError(metric: MetricKind, value: number): string | null {
  if ((QUALITY_METRICS as readonly string[]).includes(metric) && (value < 0 || value > 1))
    return `value ${value} is outside [0, 1] for ${metric}`;
  if ((metric === 'DriftScore' || metric === 'LatencyMs') && value < 0) return `value ${value} must be >= 0 for ${metric}`;
  return null;
}

/** Validates one decoded JSON value as a MetricEvent. `nowMs` bounds the future skew. */
export function validateEvent(input: unknown, nowMs: number): { event: MetricEvent } | { errors: FieldError[] } {
  if (typeof input !== 'object' || input === null || Array.isArray(input))
    return { errors: [{ path: '', message: `event must be a JSON object, got ${describe(input)}` }] };
  const r = MetricEventSchema.safeParse(input);
  if (!r.success) {
    return { errors: r.error.issues.map((i) => ({ path: i.path.join('.') || '', message: i.message })) };
  }
  const e = r.data;
  const errors: FieldError[] = [];
  const ts = parseRfc3339(e.timestamp);
  if (typeof ts === 'string') errors.push({ path: 'timestamp', message: `timestamp ${JSON.stringify(e.timestamp.slice(0, 40))} ${ts}` });
  else if (ts < EARLIEST_TIMESTAMP_MS) errors.push({ path: 'timestamp', message: `timestamp ${e.timestamp} is before 2000-01-01` });
  else if (ts > nowMs + MAX_FUTURE_SKEW_MS) errors.push({ path: 'timestamp', message: `timestamp ${e.timestamp} is more than 24 h in the future` });
  const range = rangeError(e.metric, e.value);
  if (range) errors.push({ path: 'value', message: range });
  if (errors.length > 0 || typeof ts === 'string') return { errors };
  const event: MetricEvent = {
    id: e.id.toLowerCase(), timestamp: e.timestamp, ts, camera_id: e.camera_id,
    modality: e.modality, metric: e.metric, value: e.value,
  };
  if (e.model_version !== undefined) event.model_version = e.model_version;
  if (e.sample_count !== undefined) event.sample_count = e.sample_count;
  return { event };
}

const summarize = (errors: FieldError[]) => errors.map((e) => (e.path && !e.message.startsWith(e.path) ? `${e.path}: ${e.message}` : e.message)).join('; ');

/**
 * Parses one SQS message body. Never throws: every part that is not a valid event comes back as a
 * Rejection with its reason, and the valid events of the same body are kept.
 */
export function parseBody(body: string, nowMs: number = Date.now()): ParsedBody {
  const events: MetricEvent[] = [];
  const rejections: Rejection[] = [];
  const reject = (index: number | null, raw: string, errors: FieldError[]) =>
    rejections.push({ index, raw, errors, reason: summarize(errors) });

  if (body.trim().length === 0) {
    reject(null, body, [{ path: '', message: 'body is empty' }]);
    return { events, rejections };
  }
  if (/\uFFFD/.test(body) || /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/.test(body)) {
    reject(null, body, [{ path: '', message: 'body is not valid UTF-8 (replacement character or lone surrogate found)' }]);
    return { events, rejections };
  }
  let decoded: unknown;
  try {
    decoded = JSON.parse(body);
  } catch (err) {
    reject(null, body, [{ path: '', message: `body is not valid JSON: ${(err as Error).message}` }]);
    return { events, rejections };
  }
  if (!Array.isArray(decoded)) {
    const r = validateEvent(decoded, nowMs);
    if ('event' in r) events.push(r.event);
    else reject(null, body, r.errors);
    return { events, rejections };
  }
  if (decoded.length === 0) {
    reject(null, body, [{ path: '', message: 'body is an empty array' }]);
    return { events, rejections };
  }
  const seen = new Set<string>();
  decoded.forEach((item, index) => {
    const r = validateEvent(item, nowMs);
    if (!('event' in r)) {
      reject(index, JSON.stringify(item) ?? String(item), r.errors.map((e) => ({ ...e, path: `[${index}]${e.path ? '.' + e.path : ''}` })));
      return;
    }
    if (seen.has(r.event.id)) {
      reject(index, JSON.stringify(item), [{ path: `[${index}].id`, message: `duplicate id ${r.event.id} within one message` }]);
      return;
    }
    seen.add(r.event.id);
    events.push(r.event);
  });
  return { events, rejections };
}

/** Serializes events back to the wire format (the producer's fields only). */
export function toWire(e: MetricEvent): Record<string, unknown> {
  const o: Record<string, unknown> = {
    id: e.id, timestamp: e.timestamp, camera_id: e.camera_id, modality: e.modality, metric: e.metric, value: e.value,
  };
  if (e.model_version !== undefined) o.model_version = e.model_version;
  if (e.sample_count !== undefined) o.sample_count = e.sample_count;
  return o;
}
