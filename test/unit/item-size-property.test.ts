// Covers the camera item at its largest (issue 24): a camera state learnt over two days of all five
// metrics with daily cycles under the default policy (the DriftScore chart's hourly profile
// included), then drawn at its largest by fast-check: a 128-character camera id, a model version up
// to 32 characters, every alert firing with its full episode history, cooldowns, a retrain in
// flight, detector numbers redrawn at the precision they are stored with, stream entries at the
// reference rate (10 s ± jitter) with drawn tags and values, the watermark state (too-late count,
// cohort watermark, stream floors, and open gaps on some draws), with and without the cohort member
// record the camera makes once per activity hour. Checks the stored item (lib/adapters/state-store.ts
// cameraItem, sized by lib/adapters/item-size.ts) is ≤ 1,024 B (one write unit) in steady state and in
// an update that makes a healthy member record the outbox carries (lib/app/camera-update.ts: the write
// that carries it, the record stored without what its item gives; a plain registration is not carried)
// and with open gaps, and reads back exactly; and that items written before the compact codec
// (lib/core/state-codec.ts v1, and JSON deflated with a 1 KB window) still read.
import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { itemSizeBytes, writeCapacityUnits } from '../../lib/adapters/item-size.js';
import { cameraItem, fromItem } from '../../lib/adapters/state-store.js';
import { type CameraState, EPISODE_HISTORY, applyEvents, emptyState } from '../../lib/core/camera-state.js';
import { COHORT_BUCKET_MS, type CohortSignal } from '../../lib/core/cohort.js';
import { REST_DICTIONARIES, encodeState } from '../../lib/core/state-codec.js';
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { updateCamera } from '../../lib/app/camera-update.js';
import { emptyCohortOutcome } from '../../lib/app/cohort-signals.js';
import { MAX_CAMERA_ID_LENGTH, MAX_MODEL_VERSION_LENGTH, METRICS, parseBody } from '../../lib/core/metric-event.js';
import { ACTIONS, DEFAULT_POLICY } from '../../lib/core/policy.js';
import { STATE_TABLE } from '../../lib/resources.js';

const START = Date.parse('2026-11-20T00:00:00Z');
const STEP_MS = 120_000; // a camera's 5 metrics every 2 minutes: two days in 1,440 batches
const SIM_MV = 'v'.repeat(MAX_MODEL_VERSION_LENGTH);
const SIM_ID = 's'.repeat(MAX_CAMERA_ID_LENGTH);

let template: CameraState;
let signal: CohortSignal | undefined;
let registrationWriteMax = 0;
const DICTIONARY_1 = REST_DICTIONARIES[1]!;

/** Two days of one camera, every metric on a daily cycle; the state and a member record it made. */
function learntState(): { state: CameraState; signal?: CohortSignal } {
  let seed = 7;
  const rnd = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
  const gauss = () => Math.sqrt(-2 * Math.log(rnd() + 1e-12)) * Math.cos(2 * Math.PI * rnd());
  const state = emptyState();
  let last: CohortSignal | undefined;
  for (let t = START; t < START + 2 * 86_400_000; ) {
    const wire = [];
    for (let k = 0; k < 30; k++, t += STEP_MS / 5) {
      const metric = METRICS[k % 5]!;
      const cycle = Math.sin((2 * Math.PI * (t % 86_400_000)) / 86_400_000);
      const value =
        metric === 'LatencyMs'
          ? 80 + 20 * cycle + 5 * gauss()
          : metric === 'DriftScore'
            ? 0.3 + 0.1 * cycle + 0.02 * gauss()
            : Math.min(1, 0.9 + 0.03 * cycle + 0.01 * gauss());
      wire.push({
        id: randomUUID(),
        timestamp: new Date(t).toISOString(),
        camera_id: SIM_ID,
        modality: 'Rgb',
        metric,
        value: Number(Math.max(0, value).toFixed(4)),
        model_version: SIM_MV,
        ...(metric === 'DriftScore' || metric === 'LatencyMs' ? {} : { sample_count: 200 }),
      });
    }
    applyEvents(state, parseBody(JSON.stringify(wire), t + 1000).events, DEFAULT_POLICY);
    if (state.signals?.length) last = state.signals.at(-1);
    delete state.signals; // applied and cleared after the write
    state.outbox = []; // published and cleared
  }
  return { state, signal: last };
}

/** Significant digits of a stored number (the detectors round their state; the codec keeps ≤ 9). */
const digitsOf = (x: number) =>
  Math.min(
    9,
    x
      .toPrecision(17)
      .replace(/e.*$/, '')
      .replace(/^-?0?\.?0*/, '')
      .replace('.', '')
      .replace(/0+$/, '').length || 1,
  );

/** Every non-integer number in `v` redrawn at its own magnitude and precision (same JSON length or more). */
function redraw(v: unknown, next: () => number): unknown {
  if (typeof v === 'number' && !Number.isInteger(v)) {
    const d = digitsOf(v);
    const mag = v === 0 ? 1 : 10 ** Math.floor(Math.log10(Math.abs(v)));
    return Number(((Math.sign(v) || 1) * mag * (1 + 8.999 * next())).toPrecision(d));
  }
  if (Array.isArray(v)) return v.map((x) => redraw(x, next));
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, redraw(x, next)]));
  return v;
}

/** A string of `n` printable ASCII characters other than space (the most bytes a 1-byte id can be). */
const ascii = (n: number) =>
  fc
    .array(fc.integer({ min: 0x21, max: 0x7e }), { minLength: n, maxLength: n })
    .map((cs) => String.fromCharCode(...cs));

const largest = fc.record({
  cameraId: ascii(MAX_CAMERA_ID_LENGTH),
  modelVersion: fc.integer({ min: 1, max: 32 }).chain(ascii),
  numbers: fc.array(fc.double({ min: 0, max: 1, noNaN: true, maxExcluded: true }), { minLength: 64, maxLength: 64 }),
  // The reference rate: each metric every 10 s, give or take the producer's jitter.
  gapMs: fc.integer({ min: 1_000, max: 15_000 }),
  jitterMs: fc.array(fc.integer({ min: 0, max: 999 }), { minLength: 256, maxLength: 256 }),
  tags: fc.array(fc.integer({ min: 0, max: 0xffff }), { minLength: 256, maxLength: 256 }),
  values: fc.array(fc.float({ min: 0, max: 1e4, noNaN: true }), { minLength: 256, maxLength: 256 }),
  withSignal: fc.boolean(),
  // Open gaps on about one draw in four (most writes have none: every upload has arrived).
  withGaps: fc.integer({ min: 0, max: 3 }).map((k) => k === 0),
  // Watermark state (lateness.ts): too-late count, cohort watermark passed, `ms` moved, stream floors,
  // and open gaps (spans an upload may still fill, within the allowed lateness) on some streams.
  tooLate: fc.integer({ min: 0, max: 9_999_999 }),
  floors: fc.array(fc.boolean(), { minLength: 5, maxLength: 5 }),
  gaps: fc.array(fc.array(fc.integer({ min: 1, max: 3 * 3_600_000 }), { maxLength: 4 }), {
    minLength: 5,
    maxLength: 5,
  }),
});

describe('camera item at its largest', () => {
  beforeAll(() => {
    const learnt = learntState();
    template = learnt.state;
    signal = learnt.signal;
  }, 60_000);

  it('the learnt state has the hourly profile, every metric, sequential chart state and a member record', () => {
    expect(Object.keys(template.streams)).toHaveLength(5);
    expect(JSON.stringify(template.det)).toMatch(/"hm":\[/);
    expect(Object.keys(template.det).length).toBeGreaterThanOrEqual(2);
    expect(signal).toBeDefined();
  });

  it('stores in at most 1,024 B (one write unit) and reads back exactly', async () => {
    await fc.assert(
      fc.asyncProperty(largest, async (d) => {
        let i = 0;
        const next = () => d.numbers[i++ % d.numbers.length]!;
        const state = structuredClone(template);
        state.det = JSON.parse(
          JSON.stringify(redraw(state.det, next)).replaceAll(SIM_MV, () => JSON.stringify(d.modelVersion).slice(1, -1)),
        );
        state.mv = { Rgb: d.modelVersion };
        // Every alert the policy has for this modality firing, with its full outcome history.
        for (const key of DEFAULT_POLICY.detectors.map((det) => `${det.id}@Rgb`))
          state.alerts[key] = {
            f: true,
            e: 99_999,
            at: START + 2 * 86_400_000,
            p: true,
            a: 'HyperparameterTuningRequested',
            h: 'PCSRMPCS'.slice(0, EPISODE_HISTORY),
          };
        state.cooldown = Object.fromEntries(ACTIONS.map((a) => [a, START + 3 * 86_400_000]));
        state.inFlight = { triggerId: randomUUID(), since: START + 86_400_000 };
        state.ms = { Rgb: START };
        state.reset = { Rgb: START };
        state.ce = { Rgb: START };
        let j = 0;
        for (const entries of Object.values(state.streams)) {
          let ts = START + 2 * 86_400_000;
          for (let k = entries.length - 1; k >= 0; k--, j++) {
            const e = entries[k]!;
            e.ts = ts;
            e.tag = d.tags[j]!;
            if (!Number.isNaN(e.value)) e.value = Math.fround(d.values[j]!);
            ts -= d.gapMs + d.jitterMs[j]!;
          }
        }
        const newest = START + 2 * 86_400_000;
        state.tl = d.tooLate;
        state.cw = { Rgb: newest - 60_000 };
        state.mo = { Rgb: 1 };
        for (const [k, key] of Object.keys(state.streams).entries()) {
          if (d.floors[k]) (state.lf ??= {})[key] = newest - 3 * 3_600_000 - k;
          // Open gaps: ascending [from, to) pairs behind the stream's newest.
          const cuts = [...new Set(d.gaps[k]!)].sort((a, b) => b - a).map((back) => newest - back);
          if (d.withGaps && cuts.length >= 2) (state.gp ??= {})[key] = cuts.slice(0, cuts.length - (cuts.length % 2));
        }
        let item = cameraItem(d.cameraId, state, 123_456, START + 2 * 86_400_000);
        if (d.withSignal && signal) {
          // The update that makes a healthy camera's member record the outbox carries (one answering
          // the cohort's watermark; a plain registration is applied without being stored: checked
          // below): the write that carries it, then the clearing write once the cohort has it.
          const { reg: _plain, ...made } = redraw(signal, next) as CohortSignal;
          const reg: CohortSignal = {
            ...made,
            cameraId: d.cameraId,
            cohort: { ...signal.cohort, modelVersion: d.modelVersion },
          };
          reg.rec.l = newest - 60_000;
          reg.rec.q = 2 * reg.rec.l + reg.rec.a;
          reg.rec.b = Math.floor(reg.rec.l / COHORT_BUCKET_MS);
          reg.rec.r = state.ce?.Rgb ?? 0;
          const update = async (sig: CohortSignal) => {
            const written: Record<string, AttributeValue>[] = [];
            const heard: CohortSignal[] = [];
            await updateCamera(
              d.cameraId,
              (s) => {
                (s.signals ??= []).push(sig);
                return { changed: true, triggers: [], result: null };
              },
              {
                store: {
                  load: async () => ({ state: structuredClone(state), version: 123_455 }),
                  save: async (id, st, expected, nowMs) => {
                    written.push(cameraItem(id, st, expected + 1, nowMs));
                    return { ok: true, version: expected + 1 };
                  },
                  pendingOutboxes: async () => [],
                },
                publisher: { publish: async () => {} },
                cohortSignals: async (sigs) => {
                  heard.push(...sigs);
                  return emptyCohortOutcome();
                },
              },
              newest,
            );
            expect(heard).toEqual([sig]);
            return written;
          };
          const written = await update(reg);
          expect(written).toHaveLength(2);
          item = written[0]!;
          // The carried record reads back whole.
          expect(fromItem(item).state.signals).toEqual([reg]);
          // The same record as a plain registration: one write, which does not carry it.
          const plain = await update({ ...reg, reg: 1 });
          expect(plain).toHaveLength(1);
          expect(fromItem(plain[0]!).state.signals).toBeUndefined();
          expect(itemSizeBytes(plain[0]!)).toBeLessThan(itemSizeBytes(item));
        }
        const bytes = itemSizeBytes(item);
        // Every write fits one unit: in steady state, carrying the hourly cohort member record, and while
        // an upload is missing (open gaps).
        expect(bytes, `${bytes} B`).toBeLessThanOrEqual(1024);
        expect(writeCapacityUnits(item)).toBe(1);
        if (d.withSignal && state.gp === undefined) registrationWriteMax = Math.max(registrationWriteMax, bytes);
        const { signals: _made, ...expected } = state;
        const { signals: _carried, ...read } = fromItem(item).state;
        expect(read).toEqual(expected);
      }),
      { numRuns: 200 },
    );
    // The draws did reach the case: the write carrying the hourly record, at its largest.
    expect(registrationWriteMax).toBeGreaterThan(800);
  });

  it('a record carried by an outbox stores no sequence or bucket it can derive, and reads back whole', () => {
    const rec = { ...signal!.rec, l: START + 7_200_123, a: 0 as const };
    const state = structuredClone(template);
    state.signals = [
      {
        cameraId: SIM_ID,
        cohort: signal!.cohort,
        rec: { ...rec, q: 2 * rec.l, b: Math.floor(rec.l / COHORT_BUCKET_MS) },
      },
      // An older item's record, or one whose fields do not follow from its time: kept as written.
      { cameraId: SIM_ID, cohort: signal!.cohort, rec: { ...rec, q: 5, b: 3 } },
    ];
    const enc = encodeState(state, Number.POSITIVE_INFINITY, SIM_ID);
    const stored = JSON.parse(enc.rest).signals;
    expect(stored[0].rec.q).toBeUndefined();
    expect(stored[0].rec.b).toBeUndefined();
    expect(stored[1].rec).toMatchObject({ q: 5, b: 3 });
    const read = fromItem(cameraItem(SIM_ID, state, 1, 1)).state.signals!;
    expect(read.map((x) => [x.cameraId, x.rec.q, x.rec.b, x.rec.l])).toEqual(
      state.signals.map((x) => [x.cameraId, x.rec.q, x.rec.b, x.rec.l]),
    );
  });

  it('reads an item written before the deflated JSON and the v2 streams (text JSON, v1 streams)', async () => {
    const { encodeStreamsV1 } = await import('../../lib/core/state-codec.js');
    const state = structuredClone(template);
    const { streams, ...rest } = state;
    const old = {
      [STATE_TABLE.partitionKey.name]: { S: STATE_TABLE.cameraKey(SIM_ID) },
      [STATE_TABLE.attributes.version]: { N: '7' },
      [STATE_TABLE.attributes.rest]: { S: JSON.stringify(rest) },
      [STATE_TABLE.attributes.streams]: { B: encodeStreamsV1(streams) },
      [STATE_TABLE.attributes.updatedAt]: { N: '1' },
    };
    const read = fromItem(old);
    expect(read.version).toBe(7);
    expect(read.state.streams).toEqual(state.streams);
    expect(read.state.det).toEqual(state.det);
    // The same state written today: deflated JSON, v2 streams, ≥ 500 B smaller.
    const now = cameraItem(SIM_ID, state, 8, 1);
    expect(now[STATE_TABLE.attributes.restDeflated]?.B).toBeDefined();
    expect(itemSizeBytes(old) - itemSizeBytes(now)).toBeGreaterThan(500);
    expect(fromItem(now).state).toEqual(fromItem(old).state);
  });

  it('reads JSON deflated with version 1 (its dictionary, a 1 KB window) as well as today’s version 2 (its own, 32 KB)', async () => {
    const { deflateRawSync } = await import('node:zlib');
    const state = structuredClone(template);
    const now = cameraItem(SIM_ID, state, 8, 1);
    const z = now[STATE_TABLE.attributes.restDeflated]!.B!;
    expect(z[0]).toBe(2);
    const json = (await import('node:zlib')).inflateRawSync(Buffer.from(z).subarray(1), {
      windowBits: 15,
      dictionary: Buffer.from(REST_DICTIONARIES[2]!, 'utf8'),
    });
    // What the version-1 writer made of the same JSON: its dictionary, a 1 KB window, memLevel 4.
    const v1 = deflateRawSync(json, { level: 9, windowBits: 10, memLevel: 4, dictionary: Buffer.from(DICTIONARY_1) });
    const old = { ...now, [STATE_TABLE.attributes.restDeflated]: { B: Uint8Array.from([1, ...v1]) } };
    expect(fromItem(old).state).toEqual(fromItem(now).state);
    expect(v1.length + 1).toBeGreaterThan(z.length);
  });
});
