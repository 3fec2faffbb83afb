// Covers the hot-path shortcuts in metric-event.ts: the hand-written schema check never accepts
// what the zod schema refuses (and does accept ordinary events), validateEvent's one-pass path
// gives exactly the event the schema path gives, and the timestamp parser agrees
// with Date.UTC on every well-formed time and still explains malformed ones.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  metricEventSchema,
  parseRfc3339,
  schemaFastPath,
  validateEvent,
  METRICS,
  MODALITIES,
} from '../../lib/core/metric-event.js';
import { wireEvent } from '../support/fixtures.js';

const pad = (n: number, w = 2) => String(n).padStart(w, '0');

const anyValue = fc.oneof(
  fc.string(),
  fc.double(),
  fc.integer(),
  fc.constant(undefined),
  fc.constant(null),
  fc.boolean(),
  fc.constantFrom(
    ...MODALITIES,
    ...METRICS,
    'rgb',
    '',
    ' ',
    'cam\u0007',
    'cam\u202etxt',
    '\u2066cam',
    'cam\u200d',
    'cam\u{e0041}',
    '\ufeff',
    'камера',
    100_000,
    100_001,
    'x'.repeat(129),
    -1,
    1.5,
    Number.MAX_SAFE_INTEGER + 2,
  ),
  fc.uuid(),
  fc.array(fc.integer(), { maxLength: 2 }),
);

describe('schemaFastPath', () => {
  it('accepts ordinary events (so the hot path is taken)', () => {
    for (const metric of METRICS) {
      const e = { ...wireEvent({ metric, value: 0.5 }), model_version: 'm-1', sample_count: 10 };
      expect(schemaFastPath(e)).not.toBeNull();
    }
  });

  it('never accepts an object the zod schema rejects', () => {
    const fields = [
      'id',
      'timestamp',
      'camera_id',
      'modality',
      'metric',
      'value',
      'model_version',
      'sample_count',
    ] as const;
    fc.assert(
      fc.property(fc.constantFrom(...fields), anyValue, fc.boolean(), (field, v, drop) => {
        const e: Record<string, unknown> = {
          ...wireEvent({ metric: 'Accuracy', value: 0.5 }),
          model_version: 'm',
          sample_count: 3,
        };
        if (drop) delete e[field];
        else e[field] = v;
        const fast = schemaFastPath(e) !== null;
        if (fast) expect(metricEventSchema().safeParse(e).success).toBe(true);
      }),
      { numRuns: 3000 },
    );
  });

  it('validateEvent accepts only what the schema and the timestamp and range checks accept, with the same event', () => {
    const fields = ['id', 'timestamp', 'camera_id', 'modality', 'metric', 'value', 'model_version', 'sample_count'];
    const now = Date.now();
    fc.assert(
      fc.property(
        fc.constantFrom(...fields),
        fc.oneof(
          anyValue,
          fc.constantFrom(
            '6F9619FF-8B86-D011-B42D-00C04FC964FF',
            '6f9619ff-8b86-d011-b42d-00c04fc964fG',
            '6f9619ff-8b86-d011-b42d00c04fc964ff0',
            '2026-11-27T08:15:30.123456789Z',
            '2026-11-27T08:15:30+02:00',
            '2026-02-29T00:00:00Z',
            '1999-12-31T23:59:59Z',
            '2999-01-01T00:00:00Z',
            1.5,
            -0.1,
          ),
        ),
        fc.constantFrom(...METRICS),
        fc.boolean(),
        (field, v, metric, drop) => {
          const e: Record<string, unknown> = {
            ...wireEvent({ metric, value: 0.5 }),
            model_version: 'm',
            sample_count: 3,
          };
          if (drop) delete e[field];
          else e[field] = v;
          const r = validateEvent(e, now);
          const parsed = metricEventSchema().safeParse(e);
          if (!('event' in r)) return;
          expect(parsed.success).toBe(true);
          const ts = parseRfc3339(e.timestamp as string);
          expect(typeof ts).toBe('number');
          const want: Record<string, unknown> = {
            id: (e.id as string).toLowerCase(),
            timestamp: e.timestamp,
            ts,
            camera_id: e.camera_id,
            modality: e.modality,
            metric: e.metric,
            value: e.value,
          };
          if (e.model_version !== undefined) want.model_version = e.model_version;
          if (e.sample_count !== undefined) want.sample_count = e.sample_count;
          expect(r.event).toStrictEqual(want);
          expect(Object.keys(r.event)).toEqual(Object.keys(want));
        },
      ),
      { numRuns: 3000 },
    );
  });

  it('falls back to the schema for the error message', () => {
    const r = validateEvent({ ...wireEvent(), camera_id: 'a\u0007b' }, Date.now());
    expect(r).toEqual({ errors: [{ path: 'camera_id', message: 'camera_id must not contain control characters' }] });
  });
});

describe('parseRfc3339', () => {
  it('agrees with Date.UTC on well-formed times (separators, fractions, offsets)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1000, max: 9999 }),
        fc.integer({ min: 1, max: 12 }),
        fc.integer({ min: 1, max: 31 }),
        fc.integer({ min: 0, max: 23 }),
        fc.integer({ min: 0, max: 59 }),
        fc.integer({ min: 0, max: 60 }),
        fc.stringMatching(/^\d{0,9}$/),
        fc.constantFrom('T', 't', ' '),
        fc.constantFrom('Z', 'z', '+', '-'),
        fc.integer({ min: 0, max: 23 }),
        fc.integer({ min: 0, max: 59 }),
        (y, mo, d, h, mi, s, frac, sep, zone, oh, om) => {
          const daysInMonth = new Date(Date.UTC(y, mo, 0)).getUTCDate();
          const text = `${y}-${pad(mo)}-${pad(d)}${sep}${pad(h)}:${pad(mi)}:${pad(s)}${frac ? `.${frac}` : ''}${zone === '+' || zone === '-' ? `${zone}${pad(oh)}:${pad(om)}` : zone}`;
          const got = parseRfc3339(text);
          if (d > daysInMonth) {
            expect(got).toMatch(/^has day/);
            return;
          }
          const ms = frac ? Number(frac.padEnd(3, '0').slice(0, 3)) : 0;
          const offset = zone === '+' ? oh * 60 + om : zone === '-' ? -(oh * 60 + om) : 0;
          expect(got).toBe(Date.UTC(y, mo - 1, d, h, mi, Math.min(s, 59), ms) - offset * 60_000);
        },
      ),
      { numRuns: 3000 },
    );
  });

  it.each([
    ['2026-11-27T08:15:30.Z', /is not an RFC 3339/],
    ['2026-11-27T08:15:30.1234567890Z', /is not an RFC 3339/],
    ['2026-13-01T00:00:00Z', /has month 13/],
    ['2026-11-27T24:00:00Z', /has time 24:00:00/],
    ['2026-11-27T08:15:30+24:00', /has offset \+24:00/],
    ['2024-02-29T00:00:00Z', null],
    ['2100-02-29T00:00:00Z', /has day 29, outside 01-28/],
  ])('%s', (text, expected) => {
    const got = parseRfc3339(text);
    if (expected === null) expect(got).toBe(Date.parse(text));
    else expect(got).toMatch(expected);
  });
});
