// The original module's DriftDetector: mean of the last N values above a threshold.
// Kept for compatibility; an episode starts when the mean first passes the threshold and ends
// when it falls to or below threshold - hysteresis (the original alerted on every event above).
import type { Detector } from './detector.js';

export interface WindowMeanConfig {
  windowSize: number;
  threshold: number;
  /** Resolve only once the mean is at or below threshold - hysteresis. */
  hysteresis?: number;
  /** Evaluate only with a full window (the original evaluated from the first value). */
  requireFullWindow?: boolean;
}

export const windowMean: Detector<WindowMeanConfig, null> = {
  kind: 'window-mean',
  windowSize: (c) => c.windowSize,
  update(_state, input, c) {
    // The mean of lastValues(window, windowSize), summed in place (no array per value).
    const w = input.window;
    let sum = 0,
      n = 0;
    for (let i = Math.max(0, w.length - c.windowSize); i < w.length; i++) {
      const v = w[i]!.value;
      if (!Number.isNaN(v)) {
        sum += v;
        n++;
      }
    }
    if (c.requireFullWindow && n < c.windowSize) return { state: null, evaluation: null };
    const m = n ? sum / n : NaN;
    const first = w[w.length - n]!;
    const last = w[w.length - 1]!;
    return {
      state: null,
      evaluation: {
        breach: m > c.threshold,
        clear: m <= c.threshold - (c.hysteresis ?? 0),
        statistic: m,
        threshold: c.threshold,
        n,
        details: { windowSize: c.windowSize, firstEventMs: first.ts, lastEventMs: last.ts },
      },
    };
  },
};
