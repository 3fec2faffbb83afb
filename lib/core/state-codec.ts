// Compact encoding of CameraState for one DynamoDB item: stream entries packed in binary,
// the rest as JSON, deflated when the item would otherwise pass 1 KB (a second write unit).
// Pure: returns bytes and text; the state store adapter maps them to attributes.
// Versions, all still read: streams v1 (u32 or, flagged per stream, f64 ages; f64 newest time) and
// v2 (flagged in the stream count byte: 6-byte newest time, varint gaps between entries, and the
// stream's lateness gaps and floor as varints, else kept in the JSON); the rest
// as JSON text or, since v2, as raw DEFLATE of the same JSON behind a byte naming its preset
// dictionary and window (REST_DICTIONARIES, WINDOW_BITS: append a new one, never edit one in use).
import { deflateRawSync, inflateRawSync } from 'node:zlib';
import { METRICS, MODALITIES } from './metric-event.js';
import { emptyState, parseStreamKey, streamKey, type CameraState } from './camera-state.js';
import { significant } from './significant.js';
import { COHORT_BUCKET_MS, type CohortKey, type MemberRecord } from './cohort.js';
import type { WindowEntry } from './stream-window.js';

const STREAM_HEADER = 1 + 1 + 1 + 8; // v1: modality, metric (flag bits below), count, newest ts (f64)
const KEY = 4 + 2; // v1: age ms (u32), id tag (u16)
const WIDE_KEY = 8 + 2; // v1: age ms (f64, exact to 2^53), id tag (u16)
const VALUE = 4; // f32, only for streams whose values a window detector reads
const VALUES_KEPT = 0x80;
/** v1: ages stored as f64: set only on a stream holding an entry 2^32 ms (~49.7 days) or more older
 * than its newest. Items written before this flag existed read as before (u32 ages). */
const WIDE_AGES = 0x40;
/** v2 marker in the stream count byte (v1 counts are at most 15 streams: 3 modalities × 5 metrics). */
const STREAMS_V2 = 0x80;
/** v2 metric-byte flags: the stream's open gaps follow its entries (count of bounds, then each as a varint
 * back from the newest), then its too-late floor (a varint back from the newest). See lateness.ts. */
const HAS_GAPS = 0x40;
const HAS_FLOOR = 0x20;
const METRIC_BITS = 0x1f;
/** Detector-state numbers are stored to this many significant digits. */
const DIGITS = 9;
const MAX_AGE = 0xffffffff;
const TS_BYTES = 6; // ms since 1970 fit 48 bits until the year 10889

/**
 * Preset dictionaries for the deflated JSON, by the version byte that leads it. A dictionary holds
 * what most states repeat (keys, the default policy's detector ids, actions, modalities): about a
 * third off the deflated size. Frozen: items written with one must read forever, so a better one
 * is appended under the next byte and written from then on. Most frequent last (shortest distance).
 */
export const REST_DICTIONARIES: readonly string[] = [
  '',
  '"gp":{"Rgb.LatencyMs":[17"lf":{"Rgb.Accuracy":17"mo":{"Rgb":1}"tl":"cw":{"Rgb":17' +
    '"Thermal""Depth"{"f":false,"e":1}"inFlight":{"triggerId":"","since":17"silences":[],"reset":{"Rgb":17"ce":{"Rgb":17' +
    '"outbox":[]"x":1"k":"","f":17"act":"RetrainingRequested","d":["drift-ewma"]"reason":"","metric":"DriftScore","until":17' +
    '"cooldown":{"RetrainingRequested":17"HyperparameterTuningRequested":17,"SlaBreached":17},' +
    '"latency-p95@Rgb":{"f":true,"e":,"at":17,"p":true,"a":"SlaBreached","h":"P"},' +
    '"drift-window-mean@Rgb":{"f":true,"e":,"at":17,"p":true,"a":"RetrainingRequested","h":"P"},' +
    '{"det":{"accuracy-regression@Rgb":{"mv":"","bn":1000,"bs":,"cn":,"cs":},"drift-ewma@Rgb":{"z":0.,"t":,"a":{"n":,"m":0.,"s":0.0,"r":0.,"p":,"q":0.,"v":,"h0":,"t0":,"hm":[0.,0.,0.,0.],"hs":[0.0,0.0,0.0],"sp":0.0,"hc":,"hn":,"hk":1},"ew":0.0,"cp":17}},' +
    '"alerts":{"accuracy-regression@Rgb":{"f":true,"e":,"at":17,"p":true,"a":"HyperparameterTuningRequested","h":"P"},"drift-ewma@Rgb":{"f":true,"e":,"at":17,"p":true,"a":"RetrainingRequested","h":"P"}},' +
    '"mv":{"Rgb":""},"ms":{"Rgb":17},"signals":[{"cohort":{"modelVersion":"","modality":"Rgb"},"rec":{"q":17,"a":0,"l":17,"b":,"r":0,"s":{"accuracy-regression":0.0,"drift-window-mean":0.,"drift-ewma":0.},"p":{"DriftScore":[0.,0.0],"LatencyMs":[,]}}}]}',
  // v2: the default policy's drift decision is mean-shift (drift-mean-shift), with its state's keys.
  '"gp":{"Rgb.LatencyMs":[17"lf":{"Rgb.Accuracy":17"mo":{"Rgb":1}"tl":"cw":{"Rgb":17' +
    '"Thermal""Depth"{"f":false,"e":1}"inFlight":{"triggerId":"","since":17"silences":[],"reset":{"Rgb":17"ce":{"Rgb":17' +
    '"outbox":[]"x":1"k":"","f":17"act":"RetrainingRequested","d":["drift-mean-shift"]"reason":"","metric":"DriftScore","until":17' +
    '"cooldown":{"RetrainingRequested":17"HyperparameterTuningRequested":17,"SlaBreached":17},' +
    '"latency-p95@Rgb":{"f":true,"e":,"at":17,"p":true,"a":"SlaBreached","h":"P"},' +
    '"drift-window-mean@Rgb":{"f":true,"e":,"at":17,"p":true,"a":"RetrainingRequested","h":"P"},' +
    '{"det":{"accuracy-regression@Rgb":{"mv":"","bn":1000,"bs":,"cn":,"cs":},"drift-mean-shift@Rgb":{"a":{"n":,"m":0.,"s":0.0,"r":0.,"p":,"q":0.,"v":,"c":,"h0":,"t0":,"hm":[0.,0.,0.,0.],"hs":[0.0,0.0,0.0],"sp":0.0,"sl":0.0,"hc":,"hn":,"hk":1},"ew":0.0,"tu":0.0,"td":0.0,"u":[0.,0.],"ro":0.,"fd":1,"fh":1,"f":1,"cp":17}},' +
    '"alerts":{"accuracy-regression@Rgb":{"f":true,"e":,"at":17,"p":true,"a":"HyperparameterTuningRequested","h":"P"},"drift-mean-shift@Rgb":{"f":true,"e":,"at":17,"p":true,"a":"RetrainingRequested","h":"PCSR"}},' +
    '"mv":{"Rgb":""},"ms":{"Rgb":17},"signals":[{"cohort":{"modelVersion":"","modality":"Rgb"},"rec":{"q":17,"a":0,"l":17,"b":,"r":0,"s":{"accuracy-regression":0.0,"drift-window-mean":0.,"drift-mean-shift":0.},"p":{"DriftScore":[0.,0.0],"LatencyMs":[,]}}}]}',
];
/**
 * The deflate window by version byte: version 1 used a 1 KB window, so only its dictionary's last 1 KB;
 * version 2 (its own dictionary) a 32 KB window: all of the dictionary, and back-references across the
 * whole JSON. A larger window reads a smaller one's streams, so every version inflates with 32 KB.
 */
const WINDOW_BITS: readonly number[] = [15, 10, 15];
const dictionaryOf = (version: number) => {
  const text = REST_DICTIONARIES[version];
  if (text === undefined || WINDOW_BITS[version] === undefined)
    throw new Error(`state JSON deflated with unknown dictionary ${version}`);
  return Buffer.from(text, 'utf8');
};
const DEFLATE = { level: 9, memLevel: 9 } as const;
/** Deflates the state JSON with the newest dictionary, its version byte first. */
function deflateRest(json: string): Uint8Array {
  const version = WINDOW_BITS.length - 1;
  const z = deflateRawSync(json, { ...DEFLATE, windowBits: WINDOW_BITS[version], dictionary: dictionaryOf(version) });
  const out = new Uint8Array(1 + z.length);
  out[0] = version;
  out.set(z, 1);
  return out;
}
const inflateRest = (packed: Uint8Array) =>
  inflateRawSync(packed.subarray(1), { windowBits: 15, dictionary: dictionaryOf(packed[0]!) }).toString('utf8');

export interface EncodedState {
  /** Packed stream entries. */
  streams: Uint8Array;
  /** JSON of everything else ('' when `restZ` holds it). */
  rest: string;
  /** The same JSON, raw DEFLATE: set instead of `rest` when the JSON passed the budget given. */
  restZ?: Uint8Array;
}

/** Unsigned LEB128 length of a non-negative integer up to 2^53. */
const varintBytes = (x: number) => {
  let n = 1;
  for (; x >= 128; n++) x = Math.floor(x / 128);
  return n;
};

/**
 * Streams, v2: per stream modality, metric | VALUES_KEPT, count, newest time (6 bytes), then per
 * entry oldest first: the gap to the next entry (ms, varint; 0 for the newest), id tag (u16) and,
 * when kept, the value (f32). Exact at any age; a gap of one interval takes 2 to 3 bytes, not 4.
 */
/** A stream's lateness state (CameraState `gp` and `lf`, lateness.ts) packed with its entries. */
export interface StreamLateness {
  gaps?: Record<string, number[]>;
  floors?: Record<string, number>;
}

const exactTime = (ts: number) => Number.isInteger(ts) && ts >= 0 && ts < 2 ** 48;
const newestOf = (entries: WindowEntry[]) => entries[entries.length - 1]!.ts;

/**
 * The gaps and floors the v2 streams can hold exactly (a stream with entries; integer times at or
 * before its newest; at most 255 bounds); anything else stays in the JSON.
 */
export function packableLateness(streams: Record<string, WindowEntry[]>, l: StreamLateness): StreamLateness {
  const out: StreamLateness = {};
  const fits = (key: string, ts: number) => {
    const entries = streams[key];
    return entries !== undefined && entries.length > 0 && exactTime(ts) && ts <= newestOf(entries);
  };
  for (const [key, gaps] of Object.entries(l.gaps ?? {}))
    if (gaps.length > 0 && gaps.length <= 255 && gaps.every((ts) => fits(key, ts))) (out.gaps ??= {})[key] = gaps;
  for (const [key, floor] of Object.entries(l.floors ?? {})) if (fits(key, floor)) (out.floors ??= {})[key] = floor;
  return out;
}

const pushVarint = (buf: Uint8Array, o: number, x: number) => {
  for (; x >= 128; x = Math.floor(x / 128)) buf[o++] = (x % 128) | 0x80;
  buf[o++] = x;
  return o;
};

export function encodeStreams(streams: Record<string, WindowEntry[]>, lateness: StreamLateness = {}): Uint8Array {
  const keys = Object.keys(streams).filter((k) => streams[k]!.length > 0);
  // Times v2 cannot hold exactly (before 1970, past 2^48 ms, fractional): the v1 layout, still read.
  if (!keys.every((k) => streams[k]!.every((e) => exactTime(e.ts)))) {
    if (lateness.gaps || lateness.floors) throw new Error('stream lateness needs the v2 layout');
    return encodeStreamsV1(streams);
  }
  const kept = new Map(keys.map((k) => [k, streams[k]!.some((e) => !Number.isNaN(e.value))]));
  let size = 1;
  for (const k of keys) {
    const entries = streams[k]!;
    if (entries.length > 255) throw new Error(`stream ${k} holds ${entries.length} entries; at most 255 fit`);
    size += 3 + TS_BYTES + entries.length * (2 + (kept.get(k) ? VALUE : 0));
    for (let i = 0; i < entries.length; i++)
      size += varintBytes(i + 1 < entries.length ? entries[i + 1]!.ts - entries[i]!.ts : 0);
    const newest = newestOf(entries);
    const gaps = lateness.gaps?.[k];
    if (gaps) size += 1 + gaps.reduce((n, ts) => n + varintBytes(newest - ts), 0);
    const floor = lateness.floors?.[k];
    if (floor !== undefined) size += varintBytes(newest - floor);
  }
  const buf = new Uint8Array(size);
  const view = new DataView(buf.buffer);
  let o = 0;
  view.setUint8(o++, keys.length | STREAMS_V2);
  for (const k of keys) {
    const entries = streams[k]!;
    const { modality, metric } = parseStreamKey(k);
    const values = kept.get(k)!;
    const newest = entries[entries.length - 1]!.ts;
    view.setUint8(o++, MODALITIES.indexOf(modality));
    const gaps = lateness.gaps?.[k];
    const floor = lateness.floors?.[k];
    view.setUint8(
      o++,
      METRICS.indexOf(metric) |
        (values ? VALUES_KEPT : 0) |
        (gaps ? HAS_GAPS : 0) |
        (floor !== undefined ? HAS_FLOOR : 0),
    );
    view.setUint8(o++, entries.length);
    view.setUint16(o, Math.floor(newest / 2 ** 32));
    view.setUint32(o + 2, newest % 2 ** 32);
    o += TS_BYTES;
    for (let i = 0; i < entries.length; i++) {
      o = pushVarint(buf, o, i + 1 < entries.length ? entries[i + 1]!.ts - entries[i]!.ts : 0);
      view.setUint16(o, entries[i]!.tag);
      o += 2;
      if (values) {
        view.setFloat32(o, entries[i]!.value);
        o += 4;
      }
    }
    if (gaps) {
      buf[o++] = gaps.length;
      for (const ts of gaps) o = pushVarint(buf, o, newest - ts);
    }
    if (floor !== undefined) o = pushVarint(buf, o, newest - floor);
  }
  return buf;
}

/** Streams, v1 (items written before v2; kept so tests can write them as old items were). */
export function encodeStreamsV1(streams: Record<string, WindowEntry[]>): Uint8Array {
  const keys = Object.keys(streams).filter((k) => streams[k]!.length > 0);
  const kept = (k: string) => streams[k]!.some((e) => !Number.isNaN(e.value));
  // Exact ages always: an age clamped to 2^32 ms came back as a wrong timestamp, and a redelivered
  // copy of that event was then not recognised as a duplicate (counted twice).
  const wide = (k: string) => {
    const entries = streams[k]!;
    return entries[entries.length - 1]!.ts - entries[0]!.ts > MAX_AGE;
  };
  let size = 1;
  for (const k of keys)
    size += STREAM_HEADER + ((wide(k) ? WIDE_KEY : KEY) + (kept(k) ? VALUE : 0)) * streams[k]!.length;
  const buf = new Uint8Array(size);
  const view = new DataView(buf.buffer);
  let o = 0;
  view.setUint8(o++, keys.length);
  for (const k of keys) {
    const entries = streams[k]!;
    if (entries.length > 255) throw new Error(`stream ${k} holds ${entries.length} entries; at most 255 fit`);
    const { modality, metric } = parseStreamKey(k);
    const newest = entries[entries.length - 1]!.ts;
    view.setUint8(o++, MODALITIES.indexOf(modality));
    const values = kept(k);
    const wideAges = wide(k);
    view.setUint8(o++, METRICS.indexOf(metric) | (values ? VALUES_KEPT : 0) | (wideAges ? WIDE_AGES : 0));
    view.setUint8(o++, entries.length);
    view.setFloat64(o, newest);
    o += 8;
    for (const e of entries) {
      if (wideAges) {
        view.setFloat64(o, newest - e.ts);
        o += 8;
      } else {
        view.setUint32(o, newest - e.ts);
        o += 4;
      }
      view.setUint16(o, e.tag);
      o += 2;
      if (values) {
        view.setFloat32(o, e.value);
        o += 4;
      }
    }
  }
  return buf;
}

/** Stream entries of either layout; a v2 stream's gaps and floor go into `lateness` when given. */
export function decodeStreams(buf: Uint8Array, lateness?: StreamLateness): Record<string, WindowEntry[]> {
  const out: Record<string, WindowEntry[]> = {};
  if (buf.length === 0) return out;
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  let o = 0;
  const first = view.getUint8(o++);
  if (first & STREAMS_V2) return decodeStreamsV2(buf, view, first & ~STREAMS_V2, lateness);
  const count = first;
  for (let s = 0; s < count; s++) {
    const modality = MODALITIES[view.getUint8(o++)];
    const metricByte = view.getUint8(o++);
    const values = (metricByte & VALUES_KEPT) !== 0;
    const wideAges = (metricByte & WIDE_AGES) !== 0;
    const metric = METRICS[metricByte & ~(VALUES_KEPT | WIDE_AGES)];
    if (!modality || !metric) throw new Error('corrupt stream header');
    const n = view.getUint8(o++);
    const newest = view.getFloat64(o);
    o += 8;
    const entries: WindowEntry[] = [];
    for (let i = 0; i < n; i++) {
      const age = wideAges ? view.getFloat64(o) : view.getUint32(o);
      o += wideAges ? 8 : 4;
      const tag = view.getUint16(o);
      o += 2;
      let value = NaN;
      if (values) {
        value = view.getFloat32(o);
        o += 4;
      }
      entries.push({ ts: newest - age, tag, value });
    }
    out[streamKey(modality, metric)] = entries;
  }
  return out;
}

function decodeStreamsV2(
  buf: Uint8Array,
  view: DataView,
  count: number,
  lateness?: StreamLateness,
): Record<string, WindowEntry[]> {
  const out: Record<string, WindowEntry[]> = {};
  let o = 1;
  const varint = () => {
    let x = 0;
    for (let scale = 1; ; scale *= 128) {
      if (o >= buf.length) throw new Error('corrupt stream entry');
      const b = buf[o++]!;
      x += (b & 0x7f) * scale;
      if (b < 0x80) return x;
    }
  };
  for (let s = 0; s < count; s++) {
    const modality = MODALITIES[view.getUint8(o++)];
    const metricByte = view.getUint8(o++);
    const values = (metricByte & VALUES_KEPT) !== 0;
    const metric = METRICS[metricByte & METRIC_BITS];
    if (!modality || !metric) throw new Error('corrupt stream header');
    const n = view.getUint8(o++);
    const newest = view.getUint16(o) * 2 ** 32 + view.getUint32(o + 2);
    o += TS_BYTES;
    const gaps = new Array<number>(n);
    const entries = new Array<WindowEntry>(n);
    for (let i = 0; i < n; i++) {
      gaps[i] = varint();
      const tag = view.getUint16(o);
      o += 2;
      let value = NaN;
      if (values) {
        value = view.getFloat32(o);
        o += 4;
      }
      entries[i] = { ts: newest, tag, value }; // ts a double from the start (set below), not a Smi 0 widened later
    }
    let ts = newest;
    for (let i = n - 1; i >= 0; i--) {
      entries[i]!.ts = ts;
      if (i > 0) ts -= gaps[i - 1]!;
    }
    const key = streamKey(modality, metric);
    out[key] = entries;
    if (metricByte & HAS_GAPS) {
      const bounds = buf[o++]!;
      const open: number[] = [];
      for (let i = 0; i < bounds; i++) open.push(newest - varint());
      if (lateness) (lateness.gaps ??= {})[key] = open;
    }
    if (metricByte & HAS_FLOOR) {
      const floor = newest - varint();
      if (lateness) (lateness.floors ??= {})[key] = floor;
    }
  }
  return out;
}

/**
 * Encodes a state; the JSON part is deflated when streams + JSON pass `budgetBytes` (what is left
 * of 1 KB once the item's other attributes are counted: the adapter knows them) and deflating
 * makes it shorter. Below the budget the JSON stays text: no deflate cost when it saves nothing.
 */
export function encodeState(
  state: CameraState,
  budgetBytes = Number.POSITIVE_INFINITY,
  cameraId?: string,
): EncodedState {
  const { streams, ...rest } = state;
  const compact: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(rest)) {
    const empty = Array.isArray(v) ? v.length === 0 : v && typeof v === 'object' && Object.keys(v).length === 0;
    if (!empty) compact[k] = v;
  }
  // A member record names its camera: the item's own key already does (put back on decode). What
  // follows from the item is stored only when it differs: the sequence and bucket (2 × l + a, l's hour),
  // the cohort's model version (the camera's for the modality) and reset epoch (the camera's applied one).
  // The plain-registration mark is not kept: a record re-applied from the outbox always updates its head.
  if (cameraId !== undefined && state.signals?.length)
    compact.signals = state.signals.map(({ cameraId: id, reg: _reg, cohort, rec: full }) => {
      const { q, b, r, ...rec } = full;
      const stored = {
        cohort: cohort.modelVersion === state.mv[cohort.modality] ? { modality: cohort.modality } : cohort,
        rec: {
          ...(q === 2 * rec.l + rec.a ? {} : { q }),
          ...rec,
          ...(b === Math.floor(rec.l / COHORT_BUCKET_MS) ? {} : { b }),
          ...(r === (state.ce?.[cohort.modality] ?? 0) ? {} : { r }),
        },
      };
      return id === cameraId ? stored : { cameraId: id, ...stored };
    });
  const round = (_k: string, v: unknown) =>
    typeof v === 'number' && !Number.isInteger(v) ? significant(v, DIGITS) : v;
  // Gaps and floors ride with their stream, as varints back from its newest entry (not 13-digit JSON).
  let lateness: StreamLateness = {};
  if ((state.gp || state.lf) && Object.values(streams).every((es) => es.every((e) => exactTime(e.ts)))) {
    lateness = packableLateness(streams, { gaps: state.gp, floors: state.lf });
    const rest = <T>(all: Record<string, T> | undefined, packed: Record<string, T> | undefined) =>
      Object.fromEntries(Object.entries(all ?? {}).filter(([k]) => !packed || !(k in packed)));
    for (const [name, left] of [
      ['gp', rest(state.gp, lateness.gaps)],
      ['lf', rest(state.lf, lateness.floors)],
    ] as const)
      if (Object.keys(left).length > 0) compact[name] = left;
      else delete compact[name];
  }
  const json = JSON.stringify(compact, round);
  const packed = encodeStreams(streams, lateness);
  const room = budgetBytes - packed.length;
  const bytes = json.length > room / 3 ? Buffer.byteLength(json, 'utf8') : json.length; // UTF-8 ≤ 3 per unit
  if (bytes > room) {
    const z = deflateRest(json);
    if (z.length < bytes) return { streams: packed, rest: '', restZ: z };
  }
  return { streams: packed, rest: json };
}

/** Decodes a state; `cameraId` (the item's camera) goes back into member records written without it. */
export function decodeState(encoded: Partial<EncodedState> | undefined, cameraId?: string): CameraState {
  const state = emptyState();
  if (!encoded) return state;
  if (encoded.restZ) Object.assign(state, JSON.parse(inflateRest(encoded.restZ)));
  else if (encoded.rest) Object.assign(state, JSON.parse(encoded.rest));
  if (state.signals)
    state.signals = state.signals.map((sig) => {
      const rec = sig.rec as Partial<MemberRecord> & Pick<MemberRecord, 'a' | 'l'>;
      rec.q ??= 2 * rec.l + rec.a;
      rec.b ??= Math.floor(rec.l / COHORT_BUCKET_MS);
      rec.r ??= state.ce?.[sig.cohort.modality] ?? 0;
      (sig.cohort as Partial<CohortKey>).modelVersion ??= state.mv[sig.cohort.modality];
      return sig.cameraId === undefined && cameraId !== undefined ? { ...sig, cameraId } : sig;
    });
  if (encoded.streams) {
    const lateness: StreamLateness = {};
    state.streams = decodeStreams(encoded.streams, lateness);
    if (lateness.gaps) state.gp = { ...state.gp, ...lateness.gaps };
    if (lateness.floors) state.lf = { ...state.lf, ...lateness.floors };
  }
  return state;
}
