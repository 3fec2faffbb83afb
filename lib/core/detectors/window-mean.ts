// The original module's DriftDetector: mean of the last N values above a threshold.
// Kept for compatibility; an episode starts when the mean first passes the threshold and ends
// when it falls to or below threshold - hysteresis (the original alerted on every event above).
import { lastValues, mean } from '../stream-window.js';
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
    const values = lastValues(input.window, c.windowSize);
    if (c.requireFullWindow && values.length < c.windowSize) return { state: null, evaluation: null };
    const m = mean(values);
    const first = input.window[input.window.length - values.length]!;
    const last = input.window[input.window.length - 1]!;
    return {
      state: null,
      evaluation: {
        breach: m > c.threshold,
        clear: m <= c.threshold - (c.hysteresis ?? 0),
        statistic: m,
        threshold: c.threshold,
        n: values.length,
        details: { windowSize: c.windowSize, firstEventMs: first.ts, lastEventMs: last.ts },
      },
    };
  },
};
