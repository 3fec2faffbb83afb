// Detector and cohort state is stored to a few significant digits, rounded where it is computed:
// the item stays small (the 1 KB rule), and a replay from memory (vmon backtest) takes the same
// values as the live path, whose state goes through the item between batches.

/** Powers of ten that are exact doubles (10^22 is the largest). */
const POW10 = Array.from({ length: 23 }, (_, i) => 10 ** i);
/** Safety margin (in units of the last kept digit) around a rounding tie or a decade boundary. */
const MARGIN = 1e-6;

/**
 * `Number(x.toPrecision(digits))`, exactly, without the string round trip (toPrecision was the
 * largest single cost of the apply loop). For up to 9 digits, x scaled by an exact power of ten is
 * off by at most 6e-8 of a unit, so unless it lies within MARGIN of a tie or of the decade's ends the
 * integer it rounds to is toPrecision's digits, and dividing it by the exact power of ten is correctly
 * rounded, as parsing the digits is. Anything else (ties, boundaries, 0, non-finite, extreme
 * magnitudes, more digits) takes toPrecision itself. test/unit/significant.test.ts compares both.
 */
export function significant(x: number, digits: number): number {
  const ax = x < 0 ? -x : x;
  if (digits >= 1 && digits <= 9 && ax >= 1e-13 && ax < 1e15) {
    // The decade of ax by comparisons (cheaper than Math.log10); one off near a power of ten only
    // fails the range check below and falls back.
    let e = 0;
    if (ax >= 1) while (ax >= POW10[e + 1]!) e++;
    else {
      e = -1;
      while (ax * POW10[-e]! < 1) e--;
    }
    const k = digits - 1 - e;
    const y = k >= 0 ? ax * POW10[k]! : ax / POW10[-k]!;
    const fl = Math.floor(y);
    const f = y - fl;
    if (y >= POW10[digits - 1]! + MARGIN && y < POW10[digits]! - MARGIN && Math.abs(f - 0.5) > MARGIN) {
      const n = f < 0.5 ? fl : fl + 1;
      const r = k >= 0 ? n / POW10[k]! : n * POW10[-k]!;
      return x < 0 ? -r : r;
    }
  }
  return Number(x.toPrecision(digits));
}
