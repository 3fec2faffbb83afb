// Covers lib/core/significant.ts: the arithmetic rounding gives exactly Number(x.toPrecision(d)) (the
// values stored in every camera item and replayed by vmon backtest depend on it) for drawn doubles of
// any magnitude and sign, short decimals (rounding ties), values next to powers of ten, raw bit
// patterns, and the special values (0, -0, NaN, ±Infinity, subnormals), at 1 to 12 digits.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { significant } from '../../lib/core/significant.js';

const reference = (x: number, digits: number) => Number(x.toPrecision(digits));
const digits = fc.integer({ min: 1, max: 12 });

describe('significant', () => {
  it('equals toPrecision for any double', () => {
    fc.assert(
      fc.property(fc.double({ noNaN: false }), digits, (x, d) => {
        expect(significant(x, d)).toBe(reference(x, d));
      }),
      { numRuns: 20_000 },
    );
  });

  it('equals toPrecision on short decimals, where rounding ties sit', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: -2_000_000, max: 2_000_000 }),
        fc.integer({ min: 0, max: 12 }),
        digits,
        (m, e, d) => {
          const x = m / 10 ** e;
          expect(significant(x, d)).toBe(reference(x, d));
        },
      ),
      { numRuns: 20_000 },
    );
    for (const x of [0.5, 1.5, 2.5, 0.125, 1.25, 9.9995, 99.995, 0.00015, 0.45, 1.005, 2.675])
      for (let d = 1; d <= 9; d++) expect(significant(x, d)).toBe(reference(x, d));
  });

  it('equals toPrecision next to powers of ten (the decade boundary)', () => {
    for (let e = -30; e <= 30; e++)
      for (const x of [10 ** e, 10 ** e * (1 - 1e-12), 10 ** e * (1 + 1e-12), 10 ** e * (1 - 1e-6), 10 ** e * 0.99995])
        for (let d = 1; d <= 12; d++) {
          expect(significant(x, d)).toBe(reference(x, d));
          expect(significant(-x, d)).toBe(reference(-x, d));
        }
  });

  it('equals toPrecision on special values', () => {
    for (const x of [
      0,
      -0,
      Number.NaN,
      Infinity,
      -Infinity,
      Number.MIN_VALUE,
      -Number.MIN_VALUE,
      Number.MAX_VALUE,
      1e-200,
      1e200,
    ])
      for (let d = 1; d <= 12; d++) expect(Object.is(significant(x, d), reference(x, d))).toBe(true);
  });
});
