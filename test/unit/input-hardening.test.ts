// Covers the hardening against hostile input (issue 16): camera ids and model versions with bidi
// controls or other invisible format characters are refused on both validation paths with a reason
// naming the code point; displays escape the characters ids may keep; sample_count is bounded; and
// the regression detector caps the weight of any single value.
import { MetricEventSchema } from '../../lib/index.js';
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  MAX_SAMPLE_COUNT,
  metricEventSchema,
  parseBody,
  schemaFastPath,
  validateEvent,
} from '../../lib/core/metric-event.js';
import { describeCodePoint, escapeForDisplay, jsonForDisplay } from '../../lib/core/display-text.js';
import { applyEvents, emptyState } from '../../lib/core/camera-state.js';
import { DEFAULT_POLICY, parsePolicy } from '../../lib/core/policy.js';
import type { RegressionState } from '../../lib/core/detectors/regression.js';
import { toEvents } from '../support/streams.js';
import { wireEvent } from '../support/fixtures.js';

const NOW = Date.parse('2026-11-27T09:00:00Z');
const accuracy = (over: Record<string, unknown> = {}) => ({
  ...wireEvent({ metric: 'Accuracy', value: 0.9 }),
  model_version: 'v1',
  sample_count: 100,
  ...over,
});
/** The errors of an event, after checking the hot path refused it too (else it would skip the schema). */
const errorsOf = (e: Record<string, unknown>) => {
  expect(schemaFastPath(e)).toBeNull();
  const r = validateEvent(e, NOW);
  expect('errors' in r).toBe(true);
  return 'errors' in r ? r.errors : [];
};

const BIDI_CONTROLS: [number, string][] = [
  [0x202a, 'LEFT-TO-RIGHT EMBEDDING'],
  [0x202b, 'RIGHT-TO-LEFT EMBEDDING'],
  [0x202c, 'POP DIRECTIONAL FORMATTING'],
  [0x202d, 'LEFT-TO-RIGHT OVERRIDE'],
  [0x202e, 'RIGHT-TO-LEFT OVERRIDE'],
  [0x2066, 'LEFT-TO-RIGHT ISOLATE'],
  [0x2067, 'RIGHT-TO-LEFT ISOLATE'],
  [0x2068, 'FIRST STRONG ISOLATE'],
  [0x2069, 'POP DIRECTIONAL ISOLATE'],
];
const OTHER_FORMAT_CHARACTERS: [number, string][] = [
  [0x200b, 'ZERO WIDTH SPACE'],
  [0x200c, 'ZERO WIDTH NON-JOINER'],
  [0x200d, 'ZERO WIDTH JOINER'],
  [0x200e, 'LEFT-TO-RIGHT MARK'],
  [0x200f, 'RIGHT-TO-LEFT MARK'],
  [0x00ad, 'SOFT HYPHEN'],
  [0x061c, 'ARABIC LETTER MARK'],
  [0x2060, 'WORD JOINER'],
  [0xfeff, 'ZERO WIDTH NO-BREAK SPACE'],
  [0xe0041, 'TAG CHARACTER'],
  [0x0600, 'FORMAT CHARACTER'], // ARABIC NUMBER SIGN: Cf, named by its category
];
const hex = (cp: number) => cp.toString(16).toUpperCase().padStart(4, '0');

describe('ids with bidi controls and other invisible format characters', () => {
  for (const field of ['camera_id', 'model_version'] as const) {
    it.each([...BIDI_CONTROLS, ...OTHER_FORMAT_CHARACTERS])(
      `${field} with U+%s is refused with a reason naming the code point and its index`,
      (cp, name) => {
        const errors = errorsOf(accuracy({ [field]: `cam${String.fromCodePoint(cp)}txt` }));
        expect(errors).toEqual([
          {
            path: field,
            message: `${field} contains U+${hex(cp)} (${name}) at index 3: invisible format characters (Unicode category Cf, bidi controls among them) are not allowed`,
          },
        ]);
      },
    );
  }

  it('the Trojan Source id from the report ("cam\\u202etxt") is dead-lettered, not applied', () => {
    const r = parseBody(JSON.stringify([accuracy(), accuracy({ camera_id: 'cam\u202etxt' })]), NOW);
    expect(r.events).toHaveLength(1);
    expect(r.rejections.map((x) => [x.index, x.reason])).toEqual([
      [
        1,
        '[1].camera_id: camera_id contains U+202E (RIGHT-TO-LEFT OVERRIDE) at index 3: invisible format characters (Unicode category Cf, bidi controls among them) are not allowed',
      ],
    ]);
  });

  it('counts the index in code points (as a producer in Python or Rust would), not UTF-16 units', () => {
    const [e] = errorsOf(accuracy({ camera_id: '📷📷\u2066x' }));
    expect(e!.message).toMatch(/^camera_id contains U\+2066 \(LEFT-TO-RIGHT ISOLATE\) at index 2:/);
  });

  it('model_version control characters are refused too (camera_id always refused them)', () => {
    expect(errorsOf(accuracy({ model_version: 'v1\u001b[31m' }))).toEqual([
      { path: 'model_version', message: 'model_version must not contain control characters' },
    ]);
  });

  it('accepts ids in any script, with combining marks and non-ASCII letters', () => {
    for (const id of ['камера-07', 'カメラ3', 'cafe\u0301-cam', 'Ωmega_01', 'cam 01', 'דלת-1']) {
      const e = accuracy({ camera_id: id, model_version: `${id}-v2` });
      expect(schemaFastPath(e)).not.toBeNull();
      expect(metricEventSchema().safeParse(e).success).toBe(true);
      expect(MetricEventSchema.safeParse(e).success).toBe(true); // the package's export, as before
    }
  });

  it('a reason quoting another field escapes what it quotes (no raw bidi control in a dead letter)', () => {
    const [e] = errorsOf(accuracy({ modality: 'Rgb\u202e' }));
    expect(e!.message).toBe('modality must be one of Rgb | Thermal | Depth, got string "Rgb\\u202e"');
    const [bad] = parseBody('{"a":\u202e1}', NOW).rejections;
    expect(bad!.reason).not.toMatch(/\u202e/);
    expect(bad!.reason).toMatch(/\\u202e/);
  });
});

describe('sample_count bound', () => {
  it(`accepts ${MAX_SAMPLE_COUNT} labelled samples in one event`, () => {
    const e = accuracy({ sample_count: MAX_SAMPLE_COUNT });
    expect(schemaFastPath(e)).not.toBeNull();
    expect(validateEvent(e, NOW)).toMatchObject({ event: { sample_count: MAX_SAMPLE_COUNT } });
  });

  it.each([MAX_SAMPLE_COUNT + 1, 1e15, Number.MAX_SAFE_INTEGER])('refuses %d with the bound in the reason', (n) => {
    expect(errorsOf(accuracy({ sample_count: n }))).toEqual([
      {
        path: 'sample_count',
        message: `sample_count ${n} is above the maximum of ${MAX_SAMPLE_COUNT} labelled samples per event`,
      },
    ]);
  });
});

describe('escapeForDisplay', () => {
  it('returns printable ASCII and letters of every script unchanged', () => {
    for (const s of ['cam-01', 'a b', 'камера', 'カメラ', 'cafe\u0301', 'x\\u202ey'])
      expect(escapeForDisplay(s)).toBe(s);
  });

  it.each([
    ['cam\u202etxt', 'cam\\u202etxt'],
    ['a\u00a0b', 'a\\u00a0b'], // no-break space looks like a space
    ['a\u3000b', 'a\\u3000b'], // ideographic space
    ['a\u2028b', 'a\\u2028b'], // line separator
    ['a\u3164b', 'a\\u3164b'], // Hangul filler: a letter that shows as nothing
    ['a\ue000b', 'a\\ue000b'], // private use
    ['a\u{e0041}b', 'a\\u{e0041}b'], // tag character
    ['a\ud800b', 'a\\ud800b'], // lone surrogate
    ['a\u001b[2Jb', 'a\\u001b[2Jb'], // terminal escape
    ['line\nbreak\ttab', 'line\\u000abreak\\u0009tab'],
  ])('%j → %s', (input, shown) => {
    expect(escapeForDisplay(input)).toBe(shown);
  });

  it('keeps line breaks and tabs when asked (multi-line text such as a message body)', () => {
    expect(escapeForDisplay('a\n\tb\u202e', { keepLineBreaks: true })).toBe('a\n\tb\\u202e');
  });

  it('jsonForDisplay is lossless JSON with nothing invisible left in it', () => {
    fc.assert(
      fc.property(fc.jsonValue(), fc.string({ unit: 'binary' }), fc.constantFrom(undefined, 2), (value, s, indent) => {
        const v = { value, s };
        const shown = jsonForDisplay(v, indent);
        expect(JSON.parse(shown)).toEqual(JSON.parse(JSON.stringify(v)));
        expect(escapeForDisplay(shown, { keepLineBreaks: true })).toBe(shown);
      }),
      { numRuns: 500, seed: 16 },
    );
  });

  it('describeCodePoint names format characters and falls back to the bare code point', () => {
    expect(describeCodePoint(0x202e)).toBe('U+202E (RIGHT-TO-LEFT OVERRIDE)');
    expect(describeCodePoint(0xe007f)).toBe('U+E007F (TAG CHARACTER)');
    expect(describeCodePoint(0x41)).toBe('U+0041');
  });
});

describe('regression detector: the weight of one value is capped', () => {
  // The fleet default's accuracy detector: baselineSamples 1000, minSamples 300, drop 0.05, z 4.
  const policy = parsePolicy({
    ...DEFAULT_POLICY,
    cooldownSeconds: 0,
    retrainScope: 'camera', // one camera's detector; cohorts: test/unit/cohort.test.ts
    detectors: DEFAULT_POLICY.detectors.filter((d) => d.kind === 'regression').map(({ escalate: _drift, ...d }) => d),
  });
  let i = 0;
  const send = (state: ReturnType<typeof emptyState>, value: number, sample_count: number) =>
    applyEvents(
      state,
      toEvents([
        wireEvent({ camera_id: 'cam-w', i: i++, metric: 'Accuracy', value, model_version: 'v1', sample_count }),
      ]),
      policy,
    ).triggers;
  const detector = (state: ReturnType<typeof emptyState>) =>
    state.det['accuracy-regression@Rgb'] as unknown as RegressionState;

  it('one event claiming the maximum sample_count cannot make the baseline on its own', () => {
    const state = emptyState();
    send(state, 0.5, MAX_SAMPLE_COUNT); // counts for 250 (a quarter of 1000), not 100,000
    expect(detector(state).bn).toBe(250);
    for (let k = 0; k < 8; k++) send(state, 0.9, 100);
    const d = detector(state);
    expect(d.bn).toBe(1050);
    expect(d.bs / d.bn).toBeCloseTo((0.5 * 250 + 0.9 * 800) / 1050, 10); // 0.805, not 0.52
  });

  it('one low event claiming the maximum sample_count does not fire against a learned baseline', () => {
    const state = emptyState();
    for (let k = 0; k < 10; k++) send(state, 0.9, 100); // baseline: 1000 samples at 0.9
    expect(send(state, 0.7, MAX_SAMPLE_COUNT)).toEqual([]);
    expect(detector(state).cn).toBe(250);
    // Without the cap the same single event would have fired.
    const uncapped = parsePolicy({
      ...policy,
      detectors: policy.detectors.map((d) => ({ ...d, maxValueWeight: 1e9 })),
    });
    const other = emptyState();
    const at = (value: number, n: number) =>
      applyEvents(
        other,
        toEvents([
          wireEvent({ camera_id: 'cam-u', i: i++, metric: 'Accuracy', value, model_version: 'v1', sample_count: n }),
        ]),
        uncapped,
      ).triggers;
    for (let k = 0; k < 10; k++) at(0.9, 100);
    expect(at(0.7, MAX_SAMPLE_COUNT).map((t) => t.detailType)).toEqual(['RetrainingRequested']);
  });

  it('still fires on the same drop when several events carry it', () => {
    const state = emptyState();
    for (let k = 0; k < 10; k++) send(state, 0.9, 100);
    const fired = Array.from({ length: 6 }, () => send(state, 0.7, 200)).flat();
    expect(fired.map((t) => t.detailType)).toContain('RetrainingRequested'); // a 0.2 drop is severe
  });

  it('a policy can set its own cap', () => {
    const own = parsePolicy({
      ...policy,
      detectors: policy.detectors.map((d) => ({ ...d, maxValueWeight: 40 })),
    });
    const state = emptyState();
    applyEvents(
      state,
      toEvents([
        wireEvent({ camera_id: 'cam-o', metric: 'Accuracy', value: 0.9, model_version: 'v1', sample_count: 900 }),
      ]),
      own,
    );
    expect(detector(state).bn).toBe(40);
  });
});
