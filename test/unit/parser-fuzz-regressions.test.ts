// Covers each case the parser fuzz (lib/chaos/fuzz.ts) found, as a named regression test: the body
// it generated, cut down to what matters, and the rule it broke (checkParsed) now holding.
import { describe, expect, it } from 'vitest';
import { parseBody } from '../../lib/core/metric-event.js';
import { checkParsed } from '../../lib/chaos/fuzz.js';
import { wireEvent } from '../support/fixtures.js';

const NOW = Date.parse('2026-11-27T09:00:00Z');
const parse = (body: string) => {
  const r = parseBody(body, NOW);
  expect(checkParsed(body, r, NOW)).toEqual([]);
  return r;
};

describe('parser fuzz regressions', () => {
  // Fuzz, seed 1, text corruption: `"\ud800"` inserted into a key ("sa\ud800mple_count"). The
  // bad-UTF-8 reason named the field by the producer's own key, lone surrogate included, so the
  // dead-letter reason (and `vmon dlq list`) carried the character it was complaining about.
  it('a key holding a lone surrogate is named escaped in the bad-UTF-8 reason', () => {
    const ok = JSON.stringify(wireEvent());
    const body = `[${ok},${JSON.stringify(wireEvent()).replace('"value"', '"va\\ud800lue"')}]`;
    const r = parse(body);
    expect(r.events).toHaveLength(1);
    expect(r.rejections.map((x) => [x.index, x.reason])).toEqual([
      [1, '[1].va\\ud800lue: va\\ud800lue is not valid UTF-8 (replacement character U+FFFD or lone surrogate found)'],
    ]);
  });

  it('the same for a key with a bidi control next to the bad character', () => {
    const body = JSON.stringify({ ...wireEvent(), 'x\u202e': 'a\ud800' });
    const r = parse(body);
    expect(r.rejections[0]!.reason).toBe(
      'x\\u202e is not valid UTF-8 (replacement character U+FFFD or lone surrogate found)',
    );
  });
});
