// Covers lib/core/stream-window.ts: idTag gives the bits of FNV-1a as first written (stored tags), and quantile: the typed insertion / native sort it uses, and the
// top-end selection it takes for tail quantiles (the latency SLA's p95), give the same type-7
// quantile as sorting a copy with a comparator, for window-sized and larger inputs, and leave
// their input untouched.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { idTag, quantile } from '../../lib/core/stream-window.js';

/** FNV-1a as first written: the stored tags of every item depend on these exact bits. */
const referenceTag = (id: string) => {
  let h = 0x811c9dc5;
  for (let i = 0; i < id.length; i++) {
    h ^= id.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h ^ (h >>> 16)) & 0xffff;
};

describe('idTag', () => {
  it('gives the tags of FNV-1a as first written (ids, empty, non-ASCII)', () => {
    fc.assert(
      fc.property(fc.oneof(fc.uuid(), fc.string(), fc.string({ unit: 'binary' })), (id) => {
        expect(idTag(id)).toBe(referenceTag(id));
      }),
      { numRuns: 2000 },
    );
    expect(idTag('')).toBe(referenceTag(''));
  });
});

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

  it('matches sorting a copy for tail quantiles, ties included (the top-end selection)', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.array(fc.double({ min: -1e6, max: 1e6, noNaN: true }), { minLength: 1, maxLength: 200 }),
          fc.array(fc.constantFrom(0, 1, 2, 40, 40.5, -3), { minLength: 1, maxLength: 60 }),
        ),
        fc.constantFrom(0.9, 0.95, 0.99, 0.999, 1),
        (values, q) => {
          const before = [...values];
          const got = quantile(values, q),
            want = reference(values, q);
          expect(got === want, `${got} vs ${want}`).toBe(true);
          expect(values).toEqual(before);
        },
      ),
      { numRuns: 1000 },
    );
  });

  it('interpolates between closest ranks and is NaN on no values', () => {
    expect(quantile([4, 1, 3, 2], 0.5)).toBe(2.5);
    expect(quantile([10, 20], 0.95)).toBeCloseTo(19.5, 12);
    expect(quantile([], 0.5)).toBeNaN();
  });
});
