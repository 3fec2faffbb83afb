// Covers the wire format: acceptance of what producers send (objects, arrays, nanosecond
// timestamps, offsets, extra fields) and rejection of bad input with a precise reason.
import { describe, expect, it } from 'vitest';
import { parseBody, parseRfc3339, validateEvent } from '../../lib/core/metric-event.js';
import { WIRE_EXAMPLE, wireEvent } from '../support/fixtures.js';

const NOW = Date.parse('2026-11-27T09:00:00Z');
const reasonOf = (body: string) => {
  const r = parseBody(body, NOW);
  expect(r.events).toHaveLength(0);
  expect(r.rejections).toHaveLength(1);
  return r.rejections[0]!.reason;
};

describe('wire format acceptance', () => {
  it("accepts the producers' example with a nanosecond timestamp", () => {
    const r = parseBody(WIRE_EXAMPLE, NOW);
    expect(r.rejections).toEqual([]);
    expect(r.events).toHaveLength(1);
    const e = r.events[0]!;
    expect(e).toMatchObject({
      id: '6f1c5a1e-3f7e-4c59-9a53-2f0c3f0b7d11',
      camera_id: 'cam01',
      modality: 'Rgb',
      metric: 'DriftScore',
      value: 0.91,
    });
    expect(e.ts).toBe(Date.parse('2026-11-27T08:15:30.123Z'));
    expect(e.timestamp).toBe('2026-11-27T08:15:30.123456789Z');
  });

  it('accepts an array body of many events', () => {
    const events = [
      wireEvent(),
      wireEvent({ camera_id: 'cam02', modality: 'Thermal', metric: 'LatencyMs', value: 31.5 }),
    ];
    const r = parseBody(JSON.stringify(events), NOW);
    expect(r.rejections).toEqual([]);
    expect(r.events.map((e) => e.camera_id)).toEqual(['cam01', 'cam02']);
  });

  it.each([
    ['2026-11-27T08:15:30Z', '2026-11-27T08:15:30.000Z'],
    ['2026-11-27T08:15:30.1Z', '2026-11-27T08:15:30.100Z'],
    ['2026-11-27T10:15:30.5+02:00', '2026-11-27T08:15:30.500Z'],
    ['2026-11-27T03:45:30.123456-04:30', '2026-11-27T08:15:30.123Z'],
  ])('parses RFC 3339 %s', (text, iso) => {
    expect(parseRfc3339(text)).toBe(Date.parse(iso));
  });

  it('keeps optional model_version and sample_count and ignores unknown fields', () => {
    const r = validateEvent(
      { ...wireEvent({ metric: 'Accuracy', value: 0.9 }), model_version: 'v7', sample_count: 250, extra: { x: 1 } },
      NOW,
    );
    expect('event' in r && r.event).toMatchObject({ model_version: 'v7', sample_count: 250 });
    expect('event' in r && 'extra' in r.event).toBe(false);
  });
});

describe('wire format rejection names the field and the fault', () => {
  it.each([
    ['non-JSON body', 'not json at all', /body is not valid JSON/],
    ['empty body', '', /body is empty/],
    [
      'wrong type of value',
      JSON.stringify(wireEvent({ value: '0.5' as unknown as number })),
      /value must be a number, got string "0.5"/,
    ],
    [
      'unknown modality',
      JSON.stringify({ ...wireEvent(), modality: 'Infrared' }),
      /modality must be one of Rgb \| Thermal \| Depth, got string "Infrared"/,
    ],
    ['unknown metric', JSON.stringify({ ...wireEvent(), metric: 'F1' }), /metric must be one of .*got string "F1"/],
    [
      'accuracy above 1',
      JSON.stringify(wireEvent({ metric: 'Accuracy', value: 1.5 })),
      /value 1.5 is outside \[0, 1\] for Accuracy/,
    ],
    [
      'negative latency',
      JSON.stringify(wireEvent({ metric: 'LatencyMs', value: -3 })),
      /value -3 must be >= 0 for LatencyMs/,
    ],
    ['negative drift score', JSON.stringify(wireEvent({ value: -0.1 })), /value -0.1 must be >= 0 for DriftScore/],
    ['missing camera_id', JSON.stringify({ ...wireEvent(), camera_id: undefined }), /camera_id is required/],
    ['empty camera_id', JSON.stringify(wireEvent({ camera_id: '' })), /camera_id must not be empty/],
    [
      'oversized camera_id',
      JSON.stringify(wireEvent({ camera_id: 'c'.repeat(129) })),
      /camera_id must be at most 128 characters/,
    ],
    [
      'unparseable timestamp',
      JSON.stringify(wireEvent({ timestamp: '27/11/2026 08:15' })),
      /timestamp "27\/11\/2026 08:15" is not an RFC 3339 date-time/,
    ],
    ['impossible date', JSON.stringify(wireEvent({ timestamp: '2026-02-30T00:00:00Z' })), /has day 30, outside 01-28/],
    ['bad id', JSON.stringify(wireEvent({ id: 'abc' })), /id must be a UUID/],
  ])('%s', (_name, body, reason) => {
    expect(reasonOf(body)).toMatch(reason);
  });

  it('keeps the valid events of an array and rejects only the bad element, with its index', () => {
    const good = wireEvent();
    const r = parseBody(JSON.stringify([good, { ...wireEvent(), modality: 'X' }, wireEvent()]), NOW);
    expect(r.events).toHaveLength(2);
    expect(r.rejections).toHaveLength(1);
    expect(r.rejections[0]!.index).toBe(1);
    expect(r.rejections[0]!.reason).toMatch(/^\[1\]\.modality: modality must be one of/);
    expect(JSON.parse(r.rejections[0]!.raw).modality).toBe('X');
  });
});
