// Compact encoding of CameraState for one DynamoDB item: stream entries packed in binary,
// the rest as JSON. Pure: returns bytes and text; the state store adapter maps them to attributes.
import { METRICS, MODALITIES } from './metric-event.js';
import { emptyState, parseStreamKey, streamKey, type CameraState } from './camera-state.js';
import type { WindowEntry } from './stream-window.js';

const STREAM_HEADER = 1 + 1 + 1 + 8; // modality, metric (flag bits below), count, newest ts (f64)
const KEY = 4 + 2; // age ms (u32), id tag (u16)
const WIDE_KEY = 8 + 2; // age ms (f64, exact to 2^53), id tag (u16)
const VALUE = 4; // f32, only for streams whose values a window detector reads
const VALUES_KEPT = 0x80;
/** Ages stored as f64: set only on a stream holding an entry 2^32 ms (~49.7 days) or more older than
 * its newest. Items written before this flag existed read as before (u32 ages). */
const WIDE_AGES = 0x40;
/** Detector-state numbers are stored to this many significant digits. */
const DIGITS = 9;
const MAX_AGE = 0xffffffff;

export interface EncodedState {
  /** Packed stream entries. */
  streams: Uint8Array;
  /** JSON of everything else. */
  rest: string;
}

export function encodeStreams(streams: Record<string, WindowEntry[]>): Uint8Array {
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

export function decodeStreams(buf: Uint8Array): Record<string, WindowEntry[]> {
  const out: Record<string, WindowEntry[]> = {};
  if (buf.length === 0) return out;
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  let o = 0;
  const count = view.getUint8(o++);
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

export function encodeState(state: CameraState): EncodedState {
  const { streams, ...rest } = state;
  const compact: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(rest)) {
    const empty = Array.isArray(v) ? v.length === 0 : v && typeof v === 'object' && Object.keys(v).length === 0;
    if (!empty) compact[k] = v;
  }
  const round = (_k: string, v: unknown) =>
    typeof v === 'number' && !Number.isInteger(v) ? Number(v.toPrecision(DIGITS)) : v;
  return { streams: encodeStreams(streams), rest: JSON.stringify(compact, round) };
}

export function decodeState(encoded: Partial<EncodedState> | undefined): CameraState {
  const state = emptyState();
  if (!encoded) return state;
  if (encoded.rest) Object.assign(state, JSON.parse(encoded.rest));
  if (encoded.streams) state.streams = decodeStreams(encoded.streams);
  return state;
}
