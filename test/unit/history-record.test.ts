// Covers the metric history's pure parts and the ingest hook, no AWS: history lines and their inverse
// (lib/core/history-record.ts), partition values (model versions with '/', none, the placeholder
// itself), packing into Firehose records within a size, PutRecordBatch chunking
// (lib/adapters/history-firehose.ts), the Parquet codec round trip (lib/history/parquet.ts), the
// reader's pruning by key (lib/history/reader.ts), and ingestBatch handing the accepted events, and
// only those, to the HistoryRecorder port after the state writes without failing the batch.
import { describe, expect, it } from 'vitest';
import { chunkRecords } from '../../lib/adapters/history-firehose.js';
import { ingestBatch, type IngestRecord } from '../../lib/app/ingest-batch.js';
import type { HistoryRecorder, HistoryWrite, StateStore } from '../../lib/app/ports.js';
import {
  historyLine,
  historyPartition,
  modelVersionFromPartition,
  modelVersionPartition,
  packHistoryRecords,
  parseHistoryLine,
  cameraBucketValue,
  parsePartitionKey,
  partitionPrefix,
} from '../../lib/history/record.js';
import { parseBody, type MetricEvent } from '../../lib/core/metric-event.js';
import { driftPolicy } from '../../lib/core/policy.js';
import { historyParquet, readHistoryParquet } from '../../lib/history/parquet.js';
import { bucketsOfShard, parseS3HistoryUrl, partitionMatches, queryPrefixes } from '../../lib/history/reader.js';
import { shardOf } from '../../lib/app/cohort-signals.js';
import { HISTORY } from '../../lib/resources.js';
import { BASE_TIME, wireEvent } from '../support/fixtures.js';
import { memoryPorts } from '../support/memory-ports.js';

const event = (over: Parameters<typeof wireEvent>[0] = {}): MetricEvent => {
  const parsed = parseBody(JSON.stringify(wireEvent(over)), BASE_TIME + 86_400_000);
  expect(parsed.rejections).toEqual([]);
  return parsed.events[0]!;
};

describe('history lines', () => {
  it('round-trip every field, the time to the millisecond', () => {
    const e = event({ model_version: 'det/v3 β', sample_count: 250, metric: 'Accuracy', value: 0.93125, i: 7 });
    const back = parseHistoryLine(historyLine(e));
    expect(back).toEqual({ ...e, timestamp: new Date(e.ts).toISOString() });
    const bare = event({ i: 8 });
    expect(parseHistoryLine(historyLine(bare))).toEqual({ ...bare, timestamp: new Date(bare.ts).toISOString() });
  });

  it('use the short keys of HISTORY.columns and carry the partition values', () => {
    const e = event({ model_version: 'det-v3', i: 0 });
    const o = JSON.parse(historyLine(e)) as Record<string, unknown>;
    expect(Object.keys(o).sort()).toEqual(
      [...HISTORY.columns, ...HISTORY.partitionColumns]
        .map((c) => c.jsonKey)
        .filter((k) => k !== 'n')
        .sort(),
    );
    expect(o).toMatchObject({
      b: cameraBucketValue(shardOf(e.camera_id, HISTORY.cameraBuckets)),
      d: '2026-11-27',
      o: 'Rgb',
      mv: 'det-v3',
    });
  });

  it('say what is wrong with a bad line', () => {
    expect(parseHistoryLine('{"i":"x"')).toMatchObject({ error: expect.stringContaining('not JSON') });
    const e = JSON.parse(historyLine(event({ i: 1 }))) as Record<string, unknown>;
    expect(parseHistoryLine(JSON.stringify({ ...e, m: 'Bogus' }))).toMatchObject({
      error: expect.stringContaining('metric'),
    });
    expect(parseHistoryLine(JSON.stringify({ ...e, o: 'Sonar' }))).toMatchObject({
      error: expect.stringContaining('modality'),
    });
  });
});

describe('partitions', () => {
  it('encode model versions so a key never splits, and decode them back', () => {
    for (const mv of ['det-v3', 'a/b', 'x y%', HISTORY.noModelVersion, undefined]) {
      const value = modelVersionPartition(mv);
      expect(value).not.toContain('/');
      expect(modelVersionFromPartition(value)).toBe(mv);
    }
    expect(modelVersionPartition(undefined)).toBe(HISTORY.noModelVersion);
    expect(modelVersionPartition(HISTORY.noModelVersion)).not.toBe(HISTORY.noModelVersion);
  });

  it('are Hive-style key prefixes by camera bucket, UTC event date, modality and model version', () => {
    const e = event({ modality: 'Thermal', model_version: 'det-v3', i: 16 * 3600 + 1 }); // 2026-11-28T00:00:01Z
    const p = historyPartition(e);
    const bucket = shardOf(e.camera_id, HISTORY.cameraBuckets);
    expect(partitionPrefix(p)).toBe(
      `camera_bucket=${String(bucket).padStart(2, '0')}/dt=2026-11-28/modality=Thermal/model_version=det-v3/`,
    );
    expect(parsePartitionKey(`events/${partitionPrefix(p)}file.parquet`)).toEqual(p);
    expect(parsePartitionKey('events/camera_bucket=01/dt=2026-11-28/modality=Sonar/model_version=x/f')).toBeNull();
    expect(parsePartitionKey('incoming/2026/11/28/f')).toBeNull();
  });

  it('prune by date range, modality, model and replay shard', () => {
    const p = { cameraBucket: 3, dt: '2026-11-27', modality: 'Rgb' as const, modelVersion: 'det-v3' };
    const day = Date.parse('2026-11-27');
    expect(partitionMatches(p, { since: day, until: day + 86_400_000 })).toBe(true);
    expect(partitionMatches(p, { since: day + 86_400_000 })).toBe(false);
    expect(partitionMatches(p, { until: day })).toBe(false);
    expect(partitionMatches(p, { modality: 'Depth' })).toBe(false);
    expect(partitionMatches(p, { model: 'det-v4' })).toBe(false);
    expect(partitionMatches(p, { model: 'det-v3', modality: 'Rgb' })).toBe(true);
    const q = { since: day, until: day + 2 * 86_400_000, modality: 'Rgb' as const, model: 'a/b' };
    expect(
      queryPrefixes({ ...q, shard: { index: 3 + HISTORY.cameraBuckets, count: 4 * HISTORY.cameraBuckets } }),
    ).toEqual([
      'camera_bucket=03/dt=2026-11-27/modality=Rgb/model_version=a%2Fb/',
      'camera_bucket=03/dt=2026-11-28/modality=Rgb/model_version=a%2Fb/',
    ]);
    expect(queryPrefixes(q)).toHaveLength(2 * HISTORY.cameraBuckets);
    expect(queryPrefixes({ since: day })).toHaveLength(HISTORY.cameraBuckets);
    expect(partitionMatches(p, { shard: { index: 3, count: HISTORY.cameraBuckets } })).toBe(true);
    expect(partitionMatches(p, { shard: { index: 4, count: HISTORY.cameraBuckets } })).toBe(false);
    // A count dividing the buckets: several buckets per shard; any other count: every bucket.
    expect(bucketsOfShard({ index: 1, count: HISTORY.cameraBuckets / 2 })).toEqual([1, 1 + HISTORY.cameraBuckets / 2]);
    expect(bucketsOfShard({ index: 1, count: 3 })).toHaveLength(HISTORY.cameraBuckets);
  });

  it('put every camera of a shard in the bucket the reader lists for it', () => {
    for (const count of [1, 2, 4, HISTORY.cameraBuckets, 3 * HISTORY.cameraBuckets, 7])
      for (let c = 0; c < 200; c++) {
        const camera = `cam-${c}`;
        const index = shardOf(camera, count);
        expect(bucketsOfShard({ index, count })).toContain(shardOf(camera, HISTORY.cameraBuckets));
      }
  });

  it('read s3:// sources with a clear error for anything else', () => {
    expect(parseS3HistoryUrl('s3://my-bucket')).toEqual({ bucket: 'my-bucket', prefix: 'events/' });
    expect(parseS3HistoryUrl('s3://my-bucket/x/events')).toEqual({ bucket: 'my-bucket', prefix: 'x/events/' });
    expect(() => parseS3HistoryUrl('https://my-bucket/events/')).toThrow(/not an S3 URL/);
  });
});

describe('packing into Firehose records', () => {
  it('keeps every event once, in order, each record within the size', () => {
    const events = Array.from({ length: 500 }, (_, i) => event({ i, camera_id: `cam-${i % 7}` }));
    const max = 10 * 1024;
    const records = packHistoryRecords(events, max);
    expect(records.length).toBeGreaterThan(1);
    for (const r of records) expect(Buffer.byteLength(r)).toBeLessThanOrEqual(max);
    const back = records.flatMap((r) => r.trimEnd().split('\n')).map((l) => (parseHistoryLine(l) as MetricEvent).id);
    expect(back).toEqual(events.map((e) => e.id));
    // Full records: all but the last are within one line of the limit.
    const line = Buffer.byteLength(`${historyLine(events[0]!)}\n`);
    for (const r of records.slice(0, -1)) expect(Buffer.byteLength(r)).toBeGreaterThan(max - 2 * line);
  });

  it('splits PutRecordBatch calls at 500 records or 4 MiB', () => {
    const small = Array.from({ length: 1201 }, () => ({ data: 'x' }));
    expect(chunkRecords(small).map((c) => c.length)).toEqual([500, 500, 201]);
    const big = Array.from({ length: 9 }, () => ({ data: 'y'.repeat(1000 * 1024) }));
    expect(chunkRecords(big).map((c) => c.length)).toEqual([4, 4, 1]);
  });
});

describe('Parquet objects', () => {
  it('round-trip events of one partition', async () => {
    const events = Array.from({ length: 300 }, (_, i) =>
      event({
        i,
        model_version: 'det-v3',
        metric: i % 2 ? 'Accuracy' : 'LatencyMs',
        value: i % 2 ? 0.9 : 40 + i,
        ...(i % 2 ? { sample_count: i } : {}),
      }),
    );
    const bytes = historyParquet(events);
    expect(new TextDecoder().decode(bytes.slice(0, 4))).toBe('PAR1');
    const back = await readHistoryParquet(bytes, historyPartition(events[0]!), 'test');
    expect(back).toEqual(events.map((e) => ({ ...e, timestamp: new Date(e.ts).toISOString() })));
  });
});

class RecordingHistory implements HistoryRecorder {
  readonly batches: MetricEvent[][] = [];
  async record(events: readonly MetricEvent[]): Promise<HistoryWrite> {
    this.batches.push([...events]);
    return { recorded: events.length, dropped: 0 };
  }
}

describe('ingestBatch and the history port', () => {
  const msg = (id: string, camera: string, n: number, from = 0): IngestRecord => ({
    messageId: id,
    body: JSON.stringify(Array.from({ length: n }, (_, k) => wireEvent({ camera_id: camera, i: from + k }))),
  });

  it('records the valid events of committed cameras once per batch, bad parts never', async () => {
    const history = new RecordingHistory();
    const ports = memoryPorts();
    const bad: IngestRecord = { messageId: 'bad', body: '{"camera_id":"cam-x"}' };
    const r = await ingestBatch([msg('m1', 'cam-a', 3), msg('m2', 'cam-b', 2), bad], {
      ...ports,
      history,
      policy: () => driftPolicy(1, 0.5),
      now: () => BASE_TIME + 3_600_000,
    });
    expect(history.batches).toHaveLength(1);
    expect(history.batches[0]!.map((e) => e.camera_id).sort()).toEqual(['cam-a', 'cam-a', 'cam-a', 'cam-b', 'cam-b']);
    expect(r.history).toEqual({ recorded: 5, dropped: 0 });
  });

  it("leaves out a failed camera's events (they return with their records) and a dropped write fails nothing", async () => {
    const ports = memoryPorts();
    const store: StateStore = {
      load: (id) => ports.store.load(id),
      save: async (id, state, expected, nowMs) => {
        if (id === 'cam-b') throw new Error('injected: the table refused the write');
        return ports.store.save(id, state, expected, nowMs);
      },
      pendingOutboxes: (before, limit) => ports.store.pendingOutboxes(before, limit),
    };
    const dropping: HistoryRecorder = { record: async (events) => ({ recorded: 0, dropped: events.length }) };
    const seen: string[] = [];
    const r = await ingestBatch([msg('m1', 'cam-a', 2), msg('m2', 'cam-b', 2)], {
      ...ports,
      store,
      history: {
        record: async (events) => {
          seen.push(...events.map((e) => e.camera_id));
          return dropping.record(events);
        },
      },
      policy: () => driftPolicy(1, 0.5),
      now: () => BASE_TIME + 3_600_000,
    });
    expect(r.failedMessageIds).toEqual(['m2']);
    expect(seen).toEqual(['cam-a', 'cam-a']);
    expect(r.history).toEqual({ recorded: 0, dropped: 2 });
  });
});
