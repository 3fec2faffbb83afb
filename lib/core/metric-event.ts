// The wire format existing producers already speak: the Rust `MetricEvent` as serde serializes it.
// Pure: no AWS imports. One SQS body is one event object or a JSON array of them.
// zod/mini: the same validation as classic zod in a tenth of the bundle (cold start).
import * as z from 'zod/mini';
import { en } from 'zod/locales';
import { describeCodePoint, escapeForDisplay } from './display-text.js';
import { FNV_OFFSET, FNV_PRIME, idHash, tagOfHash } from './stream-window.js';

// zod/mini ships no messages; English ones for the few issues we do not word ourselves.
z.config(en());

export const MODALITIES = ['Rgb', 'Thermal', 'Depth'] as const;
export const METRICS = ['Accuracy', 'Precision', 'Recall', 'DriftScore', 'LatencyMs'] as const;
export type Modality = (typeof MODALITIES)[number];
export type MetricKind = (typeof METRICS)[number];

/** Metrics whose value is a rate in [0, 1] computed from labelled samples. */
export const QUALITY_METRICS: readonly MetricKind[] = ['Accuracy', 'Precision', 'Recall'];

export const MAX_CAMERA_ID_LENGTH = 128;
export const MAX_MODEL_VERSION_LENGTH = 128;
/**
 * Most labelled samples one event may carry. A 30 fps camera records 108,000 frames an hour and
 * producers report at least hourly, so a real interval's labelled samples (a subset of its frames)
 * stay below this; and one event at the bound is a tenth of a baseline learned from a million
 * labelled samples. The regression detector caps each value's weight further (maxValueWeight).
 */
export const MAX_SAMPLE_COUNT = 100_000;
/** Events older than this are refused: no fleet sent metrics before it. */
export const EARLIEST_TIMESTAMP_MS = Date.UTC(2000, 0, 1);
/** How far ahead of the receiver's clock a timestamp may be (clock skew allowance). */
export const MAX_FUTURE_SKEW_MS = 24 * 3600 * 1000;

const UUID_RE = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;
// RFC 3339 date-time: 0-9 fractional digits, Z or ±hh:mm.
const RFC3339_RE =
  /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(?:([Zz])|([+-])(\d{2}):(\d{2}))$/;
// C0/C1 control characters are never part of a camera id; they break logs, keys and CLIs.
// biome-ignore lint/suspicious/noControlCharactersInRegex: the class names the control characters on purpose
const CONTROL_CHARS_RE = /[\u0000-\u001f\u007f-\u009f]/;
// Invisible format characters (bidi controls U+202A-U+202E and U+2066-U+2069, zero-width
// characters, tags…) make one id display as another (Trojan Source, CVE-2021-42574).
const FORMAT_CHAR_RE = /\p{Cf}/u;
// Both, for the hot path: one scan of an id that is almost always clean.
// biome-ignore lint/suspicious/noControlCharactersInRegex: the class names the control characters on purpose
const FORBIDDEN_ID_CHAR_RE = /[\u0000-\u001f\u007f-\u009f\p{Cf}]/u;

/** The reason an id holding a format character is refused, naming the first one and its code-point index. */
export function formatCharacterProblem(field: string, text: string): string | null {
  if (!FORMAT_CHAR_RE.test(text)) return null;
  let index = 0;
  for (const ch of text) {
    if (FORMAT_CHAR_RE.test(ch))
      return `${field} contains ${describeCodePoint(ch.codePointAt(0)!)} at index ${index}: invisible format characters (Unicode category Cf, bidi controls among them) are not allowed`;
    index++;
  }
  return null;
}
const noFormatCharacters = (field: string) =>
  z.superRefine<string>((s, ctx) => {
    const problem = formatCharacterProblem(field, s);
    if (problem) ctx.addIssue({ code: 'custom', message: problem, input: s });
  });

const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
const isLeapYear = (y: number) => (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;
// Arithmetic rather than a Date round trip: this runs once per event on the hot path.
const daysIn = (year: number, month: number) => (month === 2 && isLeapYear(year) ? 29 : DAYS_IN_MONTH[month - 1]!);

/** Parses an RFC 3339 timestamp to epoch milliseconds (sub-ms digits are kept only in the original string). */
export function parseRfc3339(text: string): number | string {
  const fast = rfc3339FastPath(text);
  if (fast !== null) return fast;
  const m = RFC3339_RE.exec(text);
  if (!m) return 'is not an RFC 3339 date-time (e.g. 2026-11-27T08:15:30.123456789Z)';
  // Indexed access and integer arithmetic: this runs once per event on the hot path.
  const year = +m[1]!,
    month = +m[2]!,
    day = +m[3]!;
  const hour = +m[4]!,
    minute = +m[5]!,
    second = +m[6]!;
  const frac = m[7];
  if (month < 1 || month > 12) return `has month ${m[2]}, outside 01-12`;
  const daysInMonth = daysIn(year, month);
  if (day < 1 || day > daysInMonth) return `has day ${m[3]}, outside 01-${daysInMonth} for that month`;
  if (hour > 23 || minute > 59 || second > 60) return `has time ${m[4]}:${m[5]}:${m[6]}, out of range`;
  let offsetMin = 0;
  if (!m[8]) {
    const ohN = +m[10]!,
      omN = +m[11]!;
    if (ohN > 23 || omN > 59) return `has offset ${m[9]}${m[10]}:${m[11]}, out of range`;
    offsetMin = (m[9] === '-' ? -1 : 1) * (ohN * 60 + omN);
  }
  let ms = 0;
  if (frac) ms = frac.length >= 3 ? +frac.slice(0, 3) : +frac * (frac.length === 1 ? 100 : 10);
  const seconds = ((daysFromCivil(year, month, day) * 24 + hour) * 60 + minute) * 60 + Math.min(second, 59);
  return seconds * 1000 + ms - offsetMin * 60_000;
}

/**
 * Reads a well-formed, in-range RFC 3339 time by character codes, without the regex's substrings.
 * Returns null for anything unusual; parseRfc3339's regex path then decides (and explains).
 */
function digit(t: string, i: number): number {
  const d = t.charCodeAt(i) - 48;
  return d >= 0 && d <= 9 ? d : -1;
}
function twoDigits(t: string, i: number): number {
  const a = digit(t, i),
    b = digit(t, i + 1);
  return a >= 0 && b >= 0 ? a * 10 + b : -1;
}
// The date part of the last time read and its day number: a message's events mostly share a day.
let cachedDateText = '';
let cachedDays = 0;
function rfc3339FastPath(t: string): number | null {
  const n = t.length;
  if (n < 20 || n > 35) return null;
  let days: number;
  if (cachedDateText !== '' && t.startsWith(cachedDateText)) days = cachedDays;
  else {
    const hi = twoDigits(t, 0),
      lo = twoDigits(t, 2);
    if (hi < 0 || lo < 0 || t.charCodeAt(4) !== 45 || t.charCodeAt(7) !== 45) return null;
    const year = hi * 100 + lo,
      month = twoDigits(t, 5),
      day = twoDigits(t, 8);
    if (month < 1 || month > 12 || day < 1 || day > daysIn(year, month)) return null;
    days = daysFromCivil(year, month, day);
    cachedDateText = t.slice(0, 10);
    cachedDays = days;
  }
  const sep = t.charCodeAt(10);
  if ((sep !== 84 && sep !== 116 && sep !== 32) || t.charCodeAt(13) !== 58 || t.charCodeAt(16) !== 58) return null;
  const hour = twoDigits(t, 11),
    minute = twoDigits(t, 14),
    second = twoDigits(t, 17);
  if (hour < 0 || hour > 23 || minute < 0 || minute > 59 || second < 0 || second > 60) return null;
  let i = 19,
    ms = 0;
  if (t.charCodeAt(i) === 46) {
    i++;
    const start = i;
    for (let d = digit(t, i); i < n && d >= 0; d = digit(t, ++i)) {
      if (i - start < 3) ms += d * (i === start ? 100 : i === start + 1 ? 10 : 1);
    }
    if (i === start || i - start > 9) return null;
  }
  let offsetMin = 0;
  const z = t.charCodeAt(i);
  if (z === 90 || z === 122) {
    if (i + 1 !== n) return null;
  } else if (z === 43 || z === 45) {
    if (i + 6 !== n || t.charCodeAt(i + 3) !== 58) return null;
    const oh = twoDigits(t, i + 1),
      om = twoDigits(t, i + 4);
    if (oh < 0 || oh > 23 || om < 0 || om > 59) return null;
    offsetMin = (z === 45 ? -1 : 1) * (oh * 60 + om);
  } else return null;
  const seconds = ((days * 24 + hour) * 60 + minute) * 60 + Math.min(second, 59);
  return seconds * 1000 + ms - offsetMin * 60_000;
}

/** Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil). */
export function daysFromCivil(year: number, month: number, day: number): number {
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const doy = Math.floor((153 * (month + (month > 2 ? -3 : 9)) + 2) / 5) + day - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}

const finiteNumber = (what: string) =>
  z
    .number({
      error: (i) =>
        i.input === undefined
          ? `${what} is required`
          : typeof i.input === 'number'
            ? `${what} must be a finite number, got ${i.input}`
            : `${what} must be a number, got ${describe(i.input)}`,
    })
    .check(z.refine(Number.isFinite, { message: `${what} must be finite` }));

const requiredString = (what: string, expected: string) =>
  z.string({
    error: (i) =>
      i.input === undefined ? `${what} is required` : `${what} must be ${expected}, got ${describe(i.input)}`,
  });

const buildMetricEventSchema = () =>
  z.looseObject({
    id: requiredString('id', 'a string UUID').check(
      z.regex(UUID_RE, { message: 'id must be a UUID (8-4-4-4-12 hex digits)' }),
    ),
    timestamp: requiredString('timestamp', 'an RFC 3339 string'),
    camera_id: requiredString('camera_id', 'a string').check(
      z.minLength(1, { message: 'camera_id must not be empty' }),
      z.maxLength(MAX_CAMERA_ID_LENGTH, { message: `camera_id must be at most ${MAX_CAMERA_ID_LENGTH} characters` }),
      z.refine((s) => !CONTROL_CHARS_RE.test(s), { message: 'camera_id must not contain control characters' }),
      noFormatCharacters('camera_id'),
      z.refine((s) => s.trim().length > 0, { message: 'camera_id must not be blank' }),
    ),
    modality: z.enum(MODALITIES, {
      error: (i) =>
        i.input === undefined
          ? 'modality is required'
          : `modality must be one of ${MODALITIES.join(' | ')}, got ${describe(i.input)}`,
    }),
    metric: z.enum(METRICS, {
      error: (i) =>
        i.input === undefined
          ? 'metric is required'
          : `metric must be one of ${METRICS.join(' | ')}, got ${describe(i.input)}`,
    }),
    value: finiteNumber('value'),
    model_version: z.optional(
      z.string({ error: (i) => `model_version must be a string, got ${describe(i.input)}` }).check(
        z.minLength(1, { message: 'model_version must not be empty' }),
        z.maxLength(MAX_MODEL_VERSION_LENGTH, {
          message: `model_version must be at most ${MAX_MODEL_VERSION_LENGTH} characters`,
        }),
        z.refine((s) => !CONTROL_CHARS_RE.test(s), { message: 'model_version must not contain control characters' }),
        noFormatCharacters('model_version'),
      ),
    ),
    sample_count: z.optional(
      z
        .int({
          error: (i) =>
            typeof i.input === 'number'
              ? 'sample_count must be an integer'
              : `sample_count must be an integer >= 0, got ${describe(i.input)}`,
        })
        .check(
          z.minimum(0, { message: 'sample_count must be >= 0' }),
          z.maximum(MAX_SAMPLE_COUNT, {
            error: (i) =>
              `sample_count ${i.input} is above the maximum of ${MAX_SAMPLE_COUNT} labelled samples per event`,
          }),
        ),
    ),
  });

let metricEventSchemaBuilt: ReturnType<typeof buildMetricEventSchema> | undefined;
/**
 * The wire event's zod schema: the reference definition, and the source of the error messages for
 * events the hand-written checks decline. Built on first use, not at module load: building it was
 * about 40 % of the ingest bundle's own init, and a batch of valid events never needs it.
 */
export function metricEventSchema(): ReturnType<typeof buildMetricEventSchema> {
  metricEventSchemaBuilt ??= buildMetricEventSchema();
  return metricEventSchemaBuilt;
}

/** One metric event in the wire format (the original Rust `MetricEvent` as serde serializes it). */
export interface WireMetricEvent {
  /** UUID. */
  id: string;
  /** RFC 3339, e.g. 2026-11-27T08:15:30.123456789Z. */
  timestamp: string;
  camera_id: string;
  modality: Modality;
  metric: MetricKind;
  value: number;
  model_version?: string;
  /** Labelled samples behind an Accuracy/Precision/Recall value. */
  sample_count?: number;
}

/** A validated event. `ts` is epoch ms; `timestamp` keeps the producer's exact text. */
export interface MetricEvent extends WireMetricEvent {
  /** Event time, epoch ms. */
  ts: number;
}

export interface FieldError {
  path: string;
  message: string;
}
export interface Rejection {
  /** Zero-based position in an array body, or null for a single-object body / unparseable body. */
  index: number | null;
  /** The rejected part, exactly as received (the whole body or one array element). */
  raw: string;
  reason: string;
  errors: FieldError[];
}
export interface ParsedBody {
  events: MetricEvent[];
  /** The 16-bit id tag of each event (stream-window.ts idTag), in order: hashed while the id is checked. */
  tags: number[];
  rejections: Rejection[];
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'string')
    return `string ${escapeForDisplay(JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v))}`;
  if (typeof v === 'object') return 'an object';
  return `${typeof v} ${String(v)}`;
}

function rangeError(metric: MetricKind, value: number): string | null {
  if ((QUALITY_METRICS as readonly string[]).includes(metric) && (value < 0 || value > 1))
    return `value ${value} is outside [0, 1] for ${metric}`;
  if ((metric === 'DriftScore' || metric === 'LatencyMs') && value < 0)
    return `value ${value} must be >= 0 for ${metric}`;
  return null;
}

type SchemaOutput = z.infer<ReturnType<typeof metricEventSchema>>;
const MODALITY_SET: ReadonlySet<unknown> = new Set(MODALITIES);
const METRIC_SET: ReadonlySet<unknown> = new Set(METRICS);

/**
 * The schema's checks written out by hand for the hot path (about 5× faster than safeParse).
 * It only ever accepts what metricEventSchema() accepts; anything else returns null and goes through
 * the schema, which produces the error messages. test/unit/metric-event-fast-path.test.ts holds them equal.
 */
export function schemaFastPath(o: Record<string, unknown>): SchemaOutput | null {
  const { id, timestamp, camera_id, modality, metric, value, model_version, sample_count } = o;
  if (typeof id !== 'string' || uuidCase(id) === 0) return null;
  if (typeof timestamp !== 'string') return null;
  if (!validCameraId(camera_id)) return null;
  if (!MODALITY_SET.has(modality) || !METRIC_SET.has(metric)) return null;
  if (typeof value !== 'number' || !Number.isFinite(value)) return null;
  if (model_version !== undefined && !validModelVersion(model_version)) return null;
  if (
    sample_count !== undefined &&
    (typeof sample_count !== 'number' ||
      !Number.isInteger(sample_count) ||
      sample_count < 0 ||
      sample_count > MAX_SAMPLE_COUNT)
  )
    return null;
  return o as SchemaOutput;
}

/** 36 characters with the four hyphens of a UUID where they must be. */
function uuidHyphens(s: string): boolean {
  return (
    s.length === 36 &&
    s.charCodeAt(8) === 45 &&
    s.charCodeAt(13) === 45 &&
    s.charCodeAt(18) === 45 &&
    s.charCodeAt(23) === 45
  );
}

/**
 * 1 for a UUID (8-4-4-4-12 hex digits) in lower case, 2 for one with upper-case digits, 0 for
 * anything else. Character codes rather than UUID_RE: this runs once per event on the hot path.
 */
function uuidCase(s: string): 0 | 1 | 2 {
  if (!uuidHyphens(s)) return 0;
  let kinds = 0;
  for (let i = 0; i < 36; i++) {
    if (i === 8 || i === 13 || i === 18 || i === 23) continue;
    const c = s.charCodeAt(i);
    const kind = c < 128 ? HEX_DIGIT_KIND[c]! : 0;
    if (kind === 0) return 0;
    kinds |= kind;
  }
  return kinds === 1 ? 1 : 2;
}
/**
 * The check of uuidCase and, in the same pass, the 32-bit FNV-1a hash of the lower-cased id
 * (stream-window.ts idHash: the event's tag and its key for the in-message duplicate check); -1 for
 * anything but a UUID. Whether it held upper-case digits is left in `uuidHadUpper`.
 */
function uuidHash(s: string): number {
  if (!uuidHyphens(s)) return -1;
  // One class per character, no test of its position: the four hyphens are where they must be (above),
  // so exactly four hyphens in all means none elsewhere.
  let kinds = 0,
    hyphens = 0;
  let h = FNV_OFFSET;
  for (let i = 0; i < 36; i++) {
    const c = s.charCodeAt(i);
    const kind = c < 128 ? UUID_CHAR_KIND[c]! : 0;
    if (kind === 0) return -1;
    kinds |= kind;
    hyphens += kind & HYPHEN;
    // A-F hash as a-f (+32): the tag is the lower-cased id's.
    h = Math.imul(h ^ (c + ((kind & UPPER) << 4)), FNV_PRIME);
  }
  if (hyphens !== 4 * HYPHEN) return -1;
  uuidHadUpper = (kinds & UPPER) !== 0;
  return h >>> 0;
}
const UPPER = 2;
const HYPHEN = 4;
/** By character code: 1 for 0-9 and a-f, UPPER for A-F, HYPHEN for '-', 0 for anything else. */
const UUID_CHAR_KIND = new Uint8Array(128);
for (let c = 48; c <= 57; c++) UUID_CHAR_KIND[c] = 1;
for (let c = 97; c <= 102; c++) UUID_CHAR_KIND[c] = 1;
for (let c = 65; c <= 70; c++) UUID_CHAR_KIND[c] = UPPER;
UUID_CHAR_KIND[45] = HYPHEN;
let uuidHadUpper = false;
/** The id hash (idHash) of the event fastEvent returned last. */
let fastEventHash = 0;

/** By character code: 1 for 0-9 and a-f, 2 for A-F, 0 for anything else (a table: 3× faster than comparisons). */
const HEX_DIGIT_KIND = new Uint8Array(128);
for (let c = 48; c <= 57; c++) HEX_DIGIT_KIND[c] = 1;
for (let c = 97; c <= 102; c++) HEX_DIGIT_KIND[c] = 1;
for (let c = 65; c <= 70; c++) HEX_DIGIT_KIND[c] = 2;

// The last id that passed: a message holds one camera's events, so its id is checked once, not per event.
let lastValidCameraId = '';
let lastValidModelVersion = '';
function validCameraId(v: unknown): boolean {
  if (typeof v !== 'string') return false;
  if (v === lastValidCameraId) return true;
  if (v.length < 1 || v.length > MAX_CAMERA_ID_LENGTH || FORBIDDEN_ID_CHAR_RE.test(v) || v.trim().length === 0)
    return false;
  lastValidCameraId = v;
  return true;
}
function validModelVersion(v: unknown): boolean {
  if (typeof v !== 'string') return false;
  if (v === lastValidModelVersion) return true;
  if (v.length < 1 || v.length > MAX_MODEL_VERSION_LENGTH || FORBIDDEN_ID_CHAR_RE.test(v)) return false;
  lastValidModelVersion = v;
  return true;
}

/**
 * The whole of validateEvent for an ordinary valid event, in one pass without the schema, the
 * timestamp regex or intermediate objects. Null for anything else, which validateEvent then decides
 * (and explains): it accepts exactly what validateEvent accepts, with the same result.
 */
function fastEvent(o: Record<string, unknown>, nowMs: number): MetricEvent | null {
  const { id, timestamp, camera_id, modality, metric, value, model_version, sample_count } = o;
  if (typeof id !== 'string') return null;
  const hash = uuidHash(id);
  if (hash < 0 || typeof timestamp !== 'string') return null;
  const ts = rfc3339FastPath(timestamp);
  if (ts === null || ts < EARLIEST_TIMESTAMP_MS || ts > nowMs + MAX_FUTURE_SKEW_MS) return null;
  if (!validCameraId(camera_id) || !MODALITY_SET.has(modality)) return null;
  if (typeof value !== 'number' || !Number.isFinite(value)) return null;
  // rangeError, by metric
  if (metric === 'Accuracy' || metric === 'Precision' || metric === 'Recall') {
    if (value < 0 || value > 1) return null;
  } else if (metric === 'DriftScore' || metric === 'LatencyMs') {
    if (value < 0) return null;
  } else return null;
  if (model_version !== undefined && !validModelVersion(model_version)) return null;
  if (
    sample_count !== undefined &&
    (typeof sample_count !== 'number' ||
      !Number.isInteger(sample_count) ||
      sample_count < 0 ||
      sample_count > MAX_SAMPLE_COUNT)
  )
    return null;
  const lowerId = uuidHadUpper ? id.toLowerCase() : id;
  fastEventHash = hash | 0;
  const cam = camera_id as string,
    mod = modality as Modality,
    met = metric as MetricKind;
  // One literal per optional field set (the fields in validateEvent's order), not fields added one by one.
  if (model_version === undefined)
    return sample_count === undefined
      ? { id: lowerId, timestamp, ts, camera_id: cam, modality: mod, metric: met, value }
      : {
          id: lowerId,
          timestamp,
          ts,
          camera_id: cam,
          modality: mod,
          metric: met,
          value,
          sample_count: sample_count as number,
        };
  return sample_count === undefined
    ? {
        id: lowerId,
        timestamp,
        ts,
        camera_id: cam,
        modality: mod,
        metric: met,
        value,
        model_version: model_version as string,
      }
    : {
        id: lowerId,
        timestamp,
        ts,
        camera_id: cam,
        modality: mod,
        metric: met,
        value,
        model_version: model_version as string,
        sample_count: sample_count as number,
      };
}

/** Validates one decoded JSON value as a MetricEvent. `nowMs` bounds the future skew. */
export function validateEvent(input: unknown, nowMs: number): { event: MetricEvent } | { errors: FieldError[] } {
  if (typeof input !== 'object' || input === null || Array.isArray(input))
    return { errors: [{ path: '', message: `event must be a JSON object, got ${describe(input)}` }] };
  const fast = fastEvent(input as Record<string, unknown>, nowMs);
  if (fast !== null) return { event: fast };
  let e = schemaFastPath(input as Record<string, unknown>);
  if (e === null) {
    const r = metricEventSchema().safeParse(input);
    if (!r.success) {
      return { errors: r.error.issues.map((i) => ({ path: i.path.join('.') || '', message: i.message })) };
    }
    e = r.data;
  }
  const errors: FieldError[] = [];
  const ts = parseRfc3339(e.timestamp);
  if (typeof ts === 'string')
    errors.push({
      path: 'timestamp',
      message: `timestamp ${escapeForDisplay(JSON.stringify(e.timestamp.slice(0, 40)))} ${ts}`,
    });
  else if (ts < EARLIEST_TIMESTAMP_MS)
    errors.push({ path: 'timestamp', message: `timestamp ${e.timestamp} is before 2000-01-01` });
  else if (ts > nowMs + MAX_FUTURE_SKEW_MS)
    errors.push({ path: 'timestamp', message: `timestamp ${e.timestamp} is more than 24 h in the future` });
  const range = rangeError(e.metric, e.value);
  if (range) errors.push({ path: 'value', message: range });
  if (errors.length > 0 || typeof ts === 'string') return { errors };
  const event: MetricEvent = {
    id: e.id.toLowerCase(),
    timestamp: e.timestamp,
    ts,
    camera_id: e.camera_id,
    modality: e.modality,
    metric: e.metric,
    value: e.value,
  };
  if (e.model_version !== undefined) event.model_version = e.model_version;
  if (e.sample_count !== undefined) event.sample_count = e.sample_count;
  return { event };
}

const summarize = (errors: FieldError[]) =>
  errors.map((e) => (e.path && !e.message.startsWith(e.path) ? `${e.path}: ${e.message}` : e.message)).join('; ');

/** More bad elements than this in one array body: the whole body goes to dead-letter as one part. */
export const MAX_REJECTED_PARTS_PER_BODY = 10;

const BAD_UTF8_RE = /\uFFFD|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
const LONE_SURROGATE_RE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
const BAD_UTF8_MESSAGE = 'is not valid UTF-8 (replacement character U+FFFD or lone surrogate found)';
// Nothing in a text without these can decode to bad UTF-8: the common case skips the per-value walk.
// Two tests rather than one alternation: on a Latin-1 body the character class fails at once and
// includes() finds no escape, 6× faster than scanning the alternation over the body.
const RAW_BAD_UTF8_RE = /[\uD800-\uDFFF\uFFFD]/;
const SURROGATE_ESCAPE_RE = /\\u[dD][89abcdefABCDEF]/;
const maybeBadUtf8Text = (text: string) =>
  RAW_BAD_UTF8_RE.test(text) || (text.includes('\\u') && SURROGATE_ESCAPE_RE.test(text));

/**
 * Path of the first key or string value that no UTF-8 text can hold (a lone surrogate, e.g. from a
 * \ud800 escape) or, when the received text itself holds U+FFFD (bytes a decoder replaced), that
 * holds U+FFFD. An escaped \ufffd alone is a deliberate character and passes. Iterative: any depth is safe.
 */
function badUtf8Path(value: unknown, rawText: string): string | null {
  const bad = rawText.includes('\uFFFD') ? BAD_UTF8_RE : LONE_SURROGATE_RE;
  const stack: [unknown, string][] = [[value, '']];
  while (stack.length > 0) {
    const [v, path] = stack.pop()!;
    if (typeof v === 'string') {
      if (bad.test(v)) return path;
      continue;
    }
    if (typeof v !== 'object' || v === null) continue;
    for (const [k, child] of Object.entries(v)) {
      const childPath = Array.isArray(v) ? `${path}[${k}]` : path ? `${path}.${k}` : k;
      if (bad.test(k)) return childPath;
      stack.push([child, childPath]);
    }
  }
  return null;
}

/**
 * The text of each top-level element of a JSON array, exactly as received. Only called on text
 * JSON.parse accepted; a linear scan (no recursion), so deeply nested elements are safe.
 */
function arrayElementTexts(text: string): string[] {
  const out: string[] = [];
  let depth = 0,
    inString = false,
    start = -1;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (inString) {
      if (c === '\\') i++;
      else if (c === '"') inString = false;
      continue;
    }
    if (c === '"') inString = true;
    else if (c === '[' || c === '{') {
      if (depth++ === 0) {
        start = i + 1;
      }
    } else if (c === ']' || c === '}') {
      if (--depth === 0) {
        out.push(text.slice(start, i).trim());
        break;
      }
    } else if (c === ',' && depth === 1) {
      out.push(text.slice(start, i).trim());
      start = i + 1;
    }
  }
  return out;
}

/**
 * Parses one SQS message body. Never throws: every part that is not a valid event comes back as a
 * Rejection with its reason, and the valid events of the same body are kept.
 */
/** One element (or the whole body) validated; `raw` only when the body may hold bad UTF-8 (it is then searched). */
function validateItem(
  item: unknown,
  prefix: string,
  nowMs: number,
  raw: (() => string) | null,
): { event: MetricEvent } | { errors: FieldError[] } {
  const badPath = raw ? badUtf8Path(item, raw()) : null;
  // The path is made of the producer's own keys, which may hold the very characters at fault.
  const bad = badPath === null ? null : escapeForDisplay(badPath);
  if (bad !== null)
    return {
      errors: [
        {
          path: prefix && bad ? `${prefix}.${bad}` : prefix || bad,
          message: `${bad || 'value'} ${BAD_UTF8_MESSAGE}`,
        },
      ],
    };
  const r = validateEvent(item, nowMs);
  if ('event' in r) return r;
  return { errors: r.errors.map((e) => ({ ...e, path: `${prefix}${e.path ? (prefix ? '.' : '') + e.path : ''}` })) };
}

const rejection = (index: number | null, raw: string, errors: FieldError[]): Rejection => ({
  index,
  raw,
  errors,
  reason: summarize(errors),
});

/**
 * The ids of one message's events so far, for its duplicate check: an open-addressing table on the
 * id hash computed with the id's check (a Set of the id strings hashed every id once more), reused
 * from body to body (a generation stamp empties it). Equal hashes are confirmed on the ids themselves.
 */
class IdSet {
  private hashes = new Int32Array(0);
  private indexes = new Int32Array(0);
  private stamps = new Uint32Array(0);
  private generation = 0;
  private mask = 0;

  /** Empties the set for up to `n` ids. */
  reset(n: number): this {
    const size = Math.max(64, 2 ** Math.ceil(Math.log2(2 * n)));
    if (size > this.stamps.length) {
      this.hashes = new Int32Array(size);
      this.indexes = new Int32Array(size);
      this.stamps = new Uint32Array(size);
      this.generation = 0;
    }
    this.mask = this.stamps.length - 1;
    if (++this.generation === 0xffffffff) {
      this.stamps.fill(0);
      this.generation = 1;
    }
    return this;
  }

  /** Adds the id of the event about to be `events.length`-th; false when an event of `events` has it. */
  add(events: readonly MetricEvent[], id: string, hash: number): boolean {
    const { hashes, indexes, stamps, generation, mask } = this;
    let slot = hash & mask;
    for (; stamps[slot] === generation; slot = (slot + 1) & mask)
      if (hashes[slot] === hash && events[indexes[slot]!]!.id === id) return false;
    stamps[slot] = generation;
    hashes[slot] = hash;
    indexes[slot] = events.length;
    return true;
  }
}
const ids = new IdSet();
const idSet = (n: number) => ids.reset(n);

// No closure is made on the path of a valid body (parsing is the replay's hot path too: lib/replay).
export function parseBody(body: string, nowMs: number = Date.now()): ParsedBody {
  const events: MetricEvent[] = [];
  const tags: number[] = [];
  const rejections: Rejection[] = [];

  if (body.trim().length === 0) {
    rejections.push(rejection(null, body, [{ path: '', message: 'body is empty' }]));
    return { events, tags, rejections };
  }
  // A leading byte order mark is allowed by RFC 8259 and some producers write one.
  const text = body.charCodeAt(0) === 0xfeff ? body.slice(1) : body;
  let decoded: unknown;
  try {
    decoded = JSON.parse(text);
  } catch (err) {
    const message = BAD_UTF8_RE.test(text)
      ? `body ${BAD_UTF8_MESSAGE} and is not valid JSON`
      : `body is not valid JSON: ${escapeForDisplay((err as Error).message)}${/(?<![\w"])-?(NaN|Infinity)(?![\w"])/.test(text) ? ' (NaN and Infinity are not JSON numbers)' : ''}`;
    rejections.push(rejection(null, body, [{ path: '', message }]));
    return { events, tags, rejections };
  }
  const maybeBadUtf8 = maybeBadUtf8Text(text);
  if (!Array.isArray(decoded)) {
    const r = validateItem(decoded, '', nowMs, maybeBadUtf8 ? () => text : null);
    if ('event' in r) {
      events.push(r.event);
      tags.push(tagOfHash(idHash(r.event.id)));
    } else rejections.push(rejection(null, body, r.errors));
    return { events, tags, rejections };
  }
  if (decoded.length === 0) {
    rejections.push(rejection(null, body, [{ path: '', message: 'body is an empty array' }]));
    return { events, tags, rejections };
  }
  // Element texts (for byte-exact dead letters) are only cut out when something is rejected.
  let texts: string[] | undefined;
  const rawOf = (index: number) => (texts ??= arrayElementTexts(text))[index] ?? '';
  const seen = idSet(decoded.length);
  for (let index = 0; index < decoded.length; index++) {
    const item: unknown = decoded[index];
    // The common case first: a valid event in a body that cannot hold bad UTF-8 (no wrapper objects).
    let event =
      !maybeBadUtf8 && typeof item === 'object' && item !== null && !Array.isArray(item)
        ? fastEvent(item as Record<string, unknown>, nowMs)
        : null;
    let hash = fastEventHash;
    if (event === null) {
      const r = validateItem(item, `[${index}]`, nowMs, maybeBadUtf8 ? () => rawOf(index) : null);
      if (!('event' in r)) {
        rejections.push(rejection(index, rawOf(index), r.errors));
        continue;
      }
      event = r.event;
      hash = idHash(event.id);
    }
    if (!seen.add(events, event.id, hash)) {
      rejections.push(
        rejection(index, rawOf(index), [
          { path: `[${index}].id`, message: `duplicate id ${event.id} within one message` },
        ]),
      );
      continue;
    }
    events.push(event);
    tags.push(tagOfHash(hash));
  }
  if (rejections.length > MAX_REJECTED_PARTS_PER_BODY) {
    // One letter instead of thousands; it holds the valid events too, which is harmless on redrive
    // because applying an event twice has no effect.
    const first = rejections
      .slice(0, 3)
      .map((r) => r.reason)
      .join('; ');
    const count = rejections.length;
    rejections.length = 0;
    rejections.push(
      rejection(null, body, [
        {
          path: '',
          message: `${count} of ${decoded.length} array elements rejected (the whole body is kept; its ${events.length} valid events were applied); first: ${first}`,
        },
      ]),
    );
  }
  return { events, tags, rejections };
}

/** Serializes events back to the wire format (the producer's fields only). */
export function toWire(e: MetricEvent): Record<string, unknown> {
  const o: Record<string, unknown> = {
    id: e.id,
    timestamp: e.timestamp,
    camera_id: e.camera_id,
    modality: e.modality,
    metric: e.metric,
    value: e.value,
  };
  if (e.model_version !== undefined) o.model_version = e.model_version;
  if (e.sample_count !== undefined) o.sample_count = e.sample_count;
  return o;
}
