// Covers lib/core/stream-window.ts quantile: the typed insertion / native sort it uses gives the
// same type-7 quantile as sorting a copy with a comparator, for window-sized and larger inputs, and
// leaves its input untouched.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { quantile } from '../../lib/core/stream-window.js';

const reference = (values: number[], q: number) => {
  const s = [...values].sort((a, b) => a - b);
  const pos = (s.length - 1) * q;
  const lo = Math.floor(pos),
    hi = Math.ceil(pos);
  return s[lo]! + (s[hi]! - s[lo]!) * (pos - lo);
};

describe('quantile', () => {
  it('matches sorting a copy, at every size and level', () => {
    fc.assert(
      fc.property(
        fc.array(fc.double({ min: -1e6, max: 1e6, noNaN: true }), { minLength: 1, maxLength: 200 }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        (values, q) => {
          const before = [...values];
          const got = quantile(values, q),
            want = reference(values, q);
          expect(got === want, `${got} vs ${want}`).toBe(true); // === : -0 and 0 alike
          expect(values).toEqual(before);
        },
      ),
      { numRuns: 500 },
    );
  });

  it('interpolates between closest ranks and is NaN on no values', () => {
    expect(quantile([4, 1, 3, 2], 0.5)).toBe(2.5);
    expect(quantile([10, 20], 0.95)).toBeCloseTo(19.5, 12);
    expect(quantile([], 0.5)).toBeNaN();
  });
});
