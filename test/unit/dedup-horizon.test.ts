// Covers the dedup entries' timestamps across the state codec when a stream spans more than
// 2^32 ms (~49.7 days): a backfill or a device clock off by weeks. Ages used to be clamped there, so
// an old entry came back from the store with a wrong timestamp and a redelivered copy of that event
// was applied a second time (issue 26). Also: items written before the wide-age flag still read, and
// the v2 layout (varint gaps, issue 24) is exact at any span.
import { describe, expect, it } from 'vitest';
import { ingestBatch, type IngestDeps } from '../../lib/app/ingest-batch.js';
import { driftPolicy } from '../../lib/core/policy.js';
import { decodeStreams, encodeStreams, encodeStreamsV1 } from '../../lib/core/state-codec.js';
import { BASE_TIME, wireEvent } from '../support/fixtures.js';
import { memoryPorts } from '../support/memory-ports.js';

const DAY = 86_400_000;

describe('dedup entries older than 2^32 ms', () => {
  it('come back from the codec with their exact timestamps', () => {
    const ts = [BASE_TIME - 60 * DAY + 7, BASE_TIME - 50 * DAY, BASE_TIME - 3, BASE_TIME];
    const streams = { 'Rgb.DriftScore': ts.map((t, k) => ({ ts: t, tag: 100 + k, value: Number.NaN })) };
    const back = decodeStreams(encodeStreams(streams));
    expect(back['Rgb.DriftScore']!.map((e) => e.ts)).toEqual(ts);
    expect(back['Rgb.DriftScore']!.map((e) => e.tag)).toEqual([100, 101, 102, 103]);
    // and from an item written in the v1 layout (f64 ages, flagged per stream)
    expect(decodeStreams(encodeStreamsV1(streams))['Rgb.DriftScore']!.map((e) => e.ts)).toEqual(ts);
  });

  it('keep the 6-byte entry when the stream spans less than 2^32 ms, and read such items as before', () => {
    const streams = {
      'Rgb.Accuracy': [
        { ts: BASE_TIME - 10 * DAY, tag: 1, value: 0.5 },
        { ts: BASE_TIME, tag: 2, value: 0.75 },
      ],
    };
    const bytes = encodeStreamsV1(streams);
    // 1 stream count + 11 header + 2 × (4 age + 2 tag + 4 value): the pre-flag layout, byte for byte.
    expect(bytes.length).toBe(1 + 11 + 2 * 10);
    expect(decodeStreams(bytes)['Rgb.Accuracy']).toEqual(streams['Rgb.Accuracy']);
    // Written today (v2: varint gaps, 6-byte newest time): exact too, and the 10-day gap takes 5 bytes.
    const v2 = encodeStreams(streams);
    expect(v2.length).toBe(1 + 9 + (5 + 2 + 4) + (1 + 2 + 4));
    expect(decodeStreams(v2)['Rgb.Accuracy']).toEqual(streams['Rgb.Accuracy']);
  });

  it('a redelivered event 60 days older than its stream is recognised and not applied twice', async () => {
    const ports = memoryPorts();
    const now = BASE_TIME + 3_600_000;
    const deps: IngestDeps = { ...ports, policy: () => driftPolicy(1, 0.99), now: () => now };
    const old = wireEvent({ camera_id: 'cam-a', value: 0.1, i: -60 * 86_400 });
    const recent = wireEvent({ camera_id: 'cam-a', value: 0.2, i: 0 });
    const first = await ingestBatch([{ messageId: 'm1', body: JSON.stringify([old, recent]) }], deps);
    expect(first).toMatchObject({ applied: 2, duplicates: 0 });
    const again = await ingestBatch([{ messageId: 'm2', body: JSON.stringify([old]) }], deps);
    expect(again).toMatchObject({ applied: 0, duplicates: 1, writes: 0 });
    expect((await ports.store.load('cam-a')).state.streams['Rgb.DriftScore']).toHaveLength(2);
  });
});
