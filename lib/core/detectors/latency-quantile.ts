// Latency SLA: a quantile (default p95) of LatencyMs over the last N values above an SLA in ms.
// Resolves once the quantile is back at or below slaMs · (1 - hysteresis).
import { quantileOf } from '../stream-window.js';
import type { Detector } from './detector.js';

export interface LatencyQuantileConfig {
  windowSize: number;
  quantile: number;
  slaMs: number;
  hysteresis: number;
  /** values needed before the quantile means anything */
  minSamples: number;
}

let buffer = new Float64Array(64);
/** A buffer for n values, reused from call to call (the apply loop is synchronous). */
const scratch = (n: number) => (n <= buffer.length ? buffer : (buffer = new Float64Array(n)));

export const latencyQuantile: Detector<LatencyQuantileConfig, null> = {
  kind: 'latency-quantile',
  windowSize: (c) => c.windowSize,
  update(_state, input, c) {
    // lastValues(window, windowSize), into a reused buffer, with their extremes in the same pass.
    const w = input.window;
    const from = Math.max(0, w.length - c.windowSize);
    const values = scratch(w.length - from);
    let n = 0,
      windowMax = -Infinity,
      windowMin = Infinity;
    for (let i = from; i < w.length; i++) {
      const v = w[i]!.value;
      if (Number.isNaN(v)) continue;
      values[n++] = v;
      windowMax = Math.max(windowMax, v);
      windowMin = Math.min(windowMin, v);
    }
    if (n < c.minSamples) return { state: null, evaluation: null };
    const q = quantileOf(values, n, c.quantile);
    return {
      state: null,
      evaluation: {
        breach: q > c.slaMs,
        clear: q <= c.slaMs * (1 - c.hysteresis),
        statistic: q,
        threshold: c.slaMs,
        n,
        details: {
          quantile: c.quantile,
          windowSize: c.windowSize,
          windowMax,
          windowMin,
          firstEventMs: w[w.length - n]!.ts,
          lastEventMs: w[w.length - 1]!.ts,
        },
      },
    };
  },
};
