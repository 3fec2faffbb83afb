// Latency SLA: a quantile (default p95) of LatencyMs over the last N values above an SLA in ms.
// Resolves once the quantile is back at or below slaMs · (1 - hysteresis).
import { lastValues, quantile } from '../stream-window.js';
import type { Detector } from './detector.js';

export interface LatencyQuantileConfig {
  windowSize: number;
  quantile: number;
  slaMs: number;
  hysteresis: number;
  /** values needed before the quantile means anything */
  minSamples: number;
}

export const latencyQuantile: Detector<LatencyQuantileConfig, null> = {
  kind: 'latency-quantile',
  windowSize: (c) => c.windowSize,
  update(_state, input, c) {
    const values = lastValues(input.window, c.windowSize);
    if (values.length < c.minSamples) return { state: null, evaluation: null };
    const q = quantile(values, c.quantile);
    let windowMax = -Infinity,
      windowMin = Infinity;
    for (const v of values) {
      windowMax = Math.max(windowMax, v);
      windowMin = Math.min(windowMin, v);
    }
    return {
      state: null,
      evaluation: {
        breach: q > c.slaMs,
        clear: q <= c.slaMs * (1 - c.hysteresis),
        statistic: q,
        threshold: c.slaMs,
        n: values.length,
        details: {
          quantile: c.quantile,
          windowSize: c.windowSize,
          windowMax,
          windowMin,
          firstEventMs: input.window[input.window.length - values.length]!.ts,
          lastEventMs: input.window[input.window.length - 1]!.ts,
        },
      },
    };
  },
};
