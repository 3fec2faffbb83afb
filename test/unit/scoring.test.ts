// Covers the scoring rules of lib/core/scoring.ts against hand-computed cases: windows to rows,
// NAB's sigmoid weights for true and false positives, the probationary period, missed and late
// windows, detection delay, false alarms per day and per 1,000 events, and the normalised score.
import { describe, expect, it } from 'vitest';
import { probationRows, scaledSigmoid, scoreSeries, summarize } from '../../lib/core/scoring.js';

const MIN = 60_000;
// 100 rows one minute apart; one window over rows 50-59 (10 rows); probation = rows 0-14.
const times = Array.from({ length: 100 }, (_, i) => i * MIN);
const windows = [{ start: 50 * MIN, end: 59 * MIN }];
const at = (...rows: number[]) => rows.map((r) => r * MIN);

describe('NAB-style scoring', () => {
  it('sigmoid and probation follow NAB: 1 at the left edge (after scaling), -1 from 3 widths on, 15 % ≤ 750 rows', () => {
    expect(scaledSigmoid(-1)).toBeCloseTo(0.986614, 6);
    expect(scaledSigmoid(0)).toBe(0);
    expect(scaledSigmoid(3.5)).toBe(-1);
    expect(probationRows(100)).toBe(15);
    expect(probationRows(10_000)).toBe(750);
  });

  it('a detection at the left edge scores 1 (perfect); at the right edge 0.2482', () => {
    const left = scoreSeries({ times, windows, detections: at(50) });
    expect(left.nab.raw).toBeCloseTo(1, 9);
    expect(summarize([left]).nabScore).toBeCloseTo(100, 9);
    const right = scoreSeries({ times, windows, detections: at(59) });
    expect(right.nab.raw).toBeCloseTo(0.248242, 5);
    expect(summarize([right]).nabScore).toBeCloseTo((100 * (0.248242 + 1)) / 2, 3);
  });

  it('only the earliest detection in a window counts; its delay is from the window start', () => {
    const s = scoreSeries({ times, windows, detections: at(53, 55, 58) });
    expect(s.nab.raw).toBeCloseTo(0.954147, 5); // sigmoid(-7/10) / sigmoid(-1)
    expect(s.detected).toBe(1);
    expect(s.falseAlarms).toBe(0);
    expect(s.delaysMs).toEqual([3 * MIN]);
  });

  it('false positives: -0.11 before the first window, weighted by distance past a window, not scored in probation', () => {
    const s = scoreSeries({ times, windows, detections: at(10, 20, 50, 65, 95) });
    // 10: probation (counted as a false alarm, not scored); 20: -0.11; 50: +1;
    // 65: 0.11 · sigmoid(6/9) = -0.102422; 95: 36/9 > 3 widths → -0.11
    expect(s.nab.raw).toBeCloseTo(-0.11 + 1 - 0.102422 - 0.11, 5);
    expect(s.falseAlarms).toBe(4);
    expect(s.eventsOutside).toBe(90);
  });

  it('a missed window scores -1; a detection within one window length after it marks it late', () => {
    const s = scoreSeries({ times, windows, detections: at(65) });
    expect(s.missed).toBe(1);
    expect(s.late).toBe(1);
    expect(s.nab.raw).toBeCloseTo(-1 - 0.102422, 5);
    expect(scoreSeries({ times, windows, detections: at(75) }).late).toBe(0); // 16 rows after: too late
    expect(scoreSeries({ times, windows, detections: [] }).nab.raw).toBe(-1);
  });

  it('summarize normalises the sums (never-fire 0, perfect 100) and counts false alarms per day and per 1,000', () => {
    const a = scoreSeries({ times, windows, detections: at(50, 20) }); // 1 - 0.11
    const b = scoreSeries({ times, windows: [], detections: at(30, 40) }); // -0.22, no window
    const sum = summarize([a, b]);
    expect(sum.windows).toBe(1);
    expect(sum.nabScore).toBeCloseTo((100 * (1 - 0.11 - 0.22 + 1)) / 2, 6);
    expect(sum.falseAlarms).toBe(3);
    expect(sum.falseAlarmsPer1k).toBeCloseTo((1000 * 3) / (90 + 100), 9);
    expect(sum.falseAlarmsPerDay).toBeCloseTo(3 / ((2 * 99 * MIN) / 86_400_000), 9);
    expect(summarize([scoreSeries({ times, windows, detections: [] })]).nabScore).toBe(0);
  });

  it('maps a detection between rows to the next row, and a window to the rows it covers', () => {
    const s = scoreSeries({ times, windows: [{ start: 49.5 * MIN, end: 59.5 * MIN }], detections: [49.2 * MIN] });
    expect(s.windows).toBe(1);
    expect(s.nab.raw).toBeCloseTo(1, 9); // row 50 is the window's first row
  });
});
