// Covers what a rejected part becomes in the dead-letter queue: kept as received when SQS takes it,
// base64 when it holds characters SQS refuses, gzip+base64 when it would not fit, and refused
// (left to SQS's own redrive) when nothing fits; and parseBody's rejected parts: byte-exact element
// text, one letter for a body with too many bad elements.
import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { deadLetterBody, SQS_MAX_MESSAGE_BYTES } from '../../lib/adapters/dead-letter.js';
import { MAX_REJECTED_PARTS_PER_BODY, parseBody } from '../../lib/core/metric-event.js';
import { wireEvent } from '../support/fixtures.js';

const NOW = Date.parse('2026-11-27T09:00:00Z');

describe('deadLetterBody', () => {
  it('keeps SQS-safe text as is and an empty part as one space', () => {
    expect(deadLetterBody('{"a":1}')).toEqual({ body: '{"a":1}' });
    expect(deadLetterBody('')).toEqual({ body: ' ' });
  });

  it('base64-encodes characters SQS refuses (NUL, U+FFFE)', () => {
    const raw = 'a\u0000b\uFFFE';
    const r = deadLetterBody(raw)!;
    expect(r.encoding).toBe('base64');
    expect(Buffer.from(r.body, 'base64').toString('utf8')).toBe(raw);
  });

  it('gzips what would not fit, and gives up only when even that does not fit', () => {
    const big = 'x'.repeat(SQS_MAX_MESSAGE_BYTES);
    const r = deadLetterBody(big, SQS_MAX_MESSAGE_BYTES - 500)!;
    expect(r.encoding).toBe('gzip+base64');
    expect(gunzipSync(Buffer.from(r.body, 'base64')).toString('utf8')).toBe(big);
    expect(deadLetterBody('0123456789abcdef'.repeat(4), 20)).toBeNull();
  });
});

describe('parseBody rejected parts', () => {
  it('keeps each bad element byte for byte as received, whitespace and number spelling included', () => {
    const bad = '{ "id" : 1.50e0 }';
    const r = parseBody(`[ ${JSON.stringify(wireEvent())} ,\n ${bad} ]`, NOW);
    expect(r.rejections.map((x) => x.raw)).toEqual([bad]);
  });

  it(`sends one whole-body letter when more than ${MAX_REJECTED_PARTS_PER_BODY} elements are bad, and still applies the valid ones`, () => {
    const body = JSON.stringify([wireEvent(), ...Array.from({ length: MAX_REJECTED_PARTS_PER_BODY + 1 }, () => 0)]);
    const r = parseBody(body, NOW);
    expect(r.events).toHaveLength(1);
    expect(r.rejections).toHaveLength(1);
    expect(r.rejections[0]).toMatchObject({ index: null, raw: body });
    expect(r.rejections[0]!.reason).toMatch(/^11 of 12 array elements rejected/);
    expect(
      parseBody(JSON.stringify([wireEvent(), ...Array.from({ length: MAX_REJECTED_PARTS_PER_BODY }, () => 0)]), NOW)
        .rejections,
    ).toHaveLength(MAX_REJECTED_PARTS_PER_BODY);
  });

  it('takes a literal U+FFFD for bytes that were not UTF-8, but an escaped \\ufffd for a deliberate character', () => {
    const literal = JSON.stringify(wireEvent({ camera_id: 'cam-\uFFFD' }));
    expect(parseBody(literal, NOW).rejections[0]!.reason).toBe(
      'camera_id is not valid UTF-8 (replacement character U+FFFD or lone surrogate found)',
    );
    const escaped = literal.replace('\uFFFD', '\\ufffd');
    expect(parseBody(escaped, NOW).events.map((e) => e.camera_id)).toEqual(['cam-\uFFFD']);
    expect(parseBody(literal.replace('\uFFFD', '\\ud800'), NOW).rejections[0]!.reason).toMatch(
      /^camera_id is not valid UTF-8/,
    );
  });

  it('accepts a leading byte order mark', () => {
    expect(parseBody(`\uFEFF${JSON.stringify(wireEvent())}`, NOW).events).toHaveLength(1);
  });
});
