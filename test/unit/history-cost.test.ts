// Covers the metric history's cost model (scripts/bench/history-cost.ts): bytes measured on simulated
// events (Parquet far smaller than the JSON sent), Firehose's 5 KB rounding per record making unpacked
// records dearer, Glacier Instant Retrieval after 30 days making a year's storage cheaper, and the
// total per camera-month being the sum of its parts.
import { describe, expect, it } from 'vitest';
import { historyUsdPerCameraMonth, measureHistoryBytes, REFERENCE_HISTORY } from '../../scripts/bench/history-cost.js';

const m = measureHistoryBytes(20, 300);

describe('history cost model', () => {
  it('measures the bytes sent and stored per event', () => {
    expect(m.objectEvents).toBe(20 * 5 * 30);
    expect(m.lineBytesPerEvent).toBeGreaterThan(80);
    expect(m.parquetBytesPerEvent).toBeGreaterThan(5);
    expect(m.parquetBytesPerEvent).toBeLessThan(m.lineBytesPerEvent / 2);
  });

  it('bills an unpacked event as a whole 5 KB record', () => {
    const packed = historyUsdPerCameraMonth(REFERENCE_HISTORY, m);
    const unpacked = historyUsdPerCameraMonth({ ...REFERENCE_HISTORY, eventsPerBatch: 1 }, m);
    expect(unpacked.firehoseIngest / packed.firehoseIngest).toBeGreaterThan((5 * 1024) / m.lineBytesPerEvent / 1.1);
    expect(unpacked.formatConversion).toBeCloseTo(packed.formatConversion, 6);
  });

  it('stores a year for less with the cold tier, and adds its parts up', () => {
    const cold = historyUsdPerCameraMonth(REFERENCE_HISTORY, m);
    const standard = historyUsdPerCameraMonth({ ...REFERENCE_HISTORY, coldAfterDays: 0 }, m);
    expect(standard.storage / cold.storage).toBeGreaterThan(3);
    const parts = cold.firehoseIngest + cold.formatConversion + cold.dynamicPartitioning + cold.storage + cold.requests;
    expect(cold.usdPerCameraMonth).toBeCloseTo(parts / REFERENCE_HISTORY.cameras, 10);
  });
});
