// Covers lib/adapters/item-size.ts: the character-code count of a number's significant digits (what
// DynamoDB bills a number attribute by) agrees with the plain string-rewriting definition, and the
// item size adds names and values up as DynamoDB bills them.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { itemSizeBytes, significantDigits } from '../../lib/adapters/item-size.js';

/** The definition: drop the sign, the exponent, the first point, then leading and trailing zeros. */
const reference = (n: string) =>
  n.replace(/^-/, '').replace(/e.*$/i, '').replace('.', '').replace(/^0+/, '').replace(/0+$/, '').length;

describe('significantDigits', () => {
  it('agrees with the definition on numbers as written and on odd text', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.double().map(String),
          fc.integer().map(String),
          fc.stringMatching(/^-?[0-9.]{0,8}([eE][-+]?[0-9]{0,3})?$/),
        ),
        (n) => {
          expect(significantDigits(n)).toBe(reference(n));
        },
      ),
      { numRuns: 5000 },
    );
    for (const n of ['0', '-0', '0.05', '10.50', '10.', '.', '1e5', '100', '1.2.3', '00.0', '-1.5E-7', ''])
      expect(significantDigits(n), n).toBe(reference(n));
  });

  it('sizes an item as names plus values', () => {
    // pk (2) + 'cam#a' (5); v (1) + 12345 (3 digits pairs + 1 = 4); b (1) + 3 bytes.
    expect(itemSizeBytes({ pk: { S: 'cam#a' }, v: { N: '12345' }, b: { B: new Uint8Array(3) } })).toBe(
      2 + 5 + 1 + 4 + 1 + 3,
    );
  });
});
