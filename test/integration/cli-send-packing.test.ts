// Covers `vmon send` packing: by default each message holds one camera's events (as
// MetricPublisher packs them), `--packing mixed` keeps the old packing where cameras share
// messages, and a bad --packing value is refused with a clear message before anything is sent.
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseBody } from '../../lib/core/metric-event.js';
import { drain, startLocalAws, type LocalAws } from '../support/local-aws.js';
import { runVmon, series, tempDir, toJsonl, writeStackFile } from './cli-support.js';

let aws: LocalAws;
let dir: string;
let stackFile: string;
const vmon = (...args: string[]) => runVmon(['--stack-file', stackFile, ...args]);
const START = Date.parse('2026-01-05T00:00:00Z');

beforeAll(async () => {
  aws = await startLocalAws();
  dir = await tempDir();
  stackFile = await writeStackFile(dir, aws.stack);
  // Three cameras, their events interleaved line by line, as a fleet log would hold them.
  const cams = ['cam-a', 'cam-b', 'cam-c'].map((c) =>
    series(
      c,
      'DriftScore',
      Array.from({ length: 40 }, (_, k) => (k % 10) / 10),
      START,
    ),
  );
  const interleaved = cams[0]!.flatMap((_, k) => cams.map((events) => events[k]!));
  await writeFile(join(dir, 'fleet.jsonl'), toJsonl(interleaved));
});
afterAll(async () => {
  await aws?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

const cameraSets = async (messages: number) =>
  (await drain(aws.sqs, aws.stack.ingestQueueUrl, messages, 10_000)).map((m) => [
    ...new Set(parseBody(m.Body!).events.map((e) => e.camera_id)),
  ]);

describe('vmon send packing', () => {
  it('packs per camera by default: one message per camera, all 120 events sent', async () => {
    const r = await vmon('send', join(dir, 'fleet.jsonl'), '--json', '--no-progress');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ events: 120, sent: 120, messages: 3, requests: 1 });
    const sets = await cameraSets(3);
    expect(sets.map((s) => s.join()).sort()).toEqual(['cam-a', 'cam-b', 'cam-c']);
  });

  it('keeps the old packing with --packing mixed: the cameras share one message', async () => {
    const r = await vmon('send', join(dir, 'fleet.jsonl'), '--json', '--no-progress', '--packing', 'mixed');
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ sent: 120, messages: 1 });
    const sets = await cameraSets(1);
    expect(sets[0]!.sort()).toEqual(['cam-a', 'cam-b', 'cam-c']);
  });

  it('refuses an unknown --packing value, naming the option and the value', async () => {
    const r = await vmon('send', join(dir, 'fleet.jsonl'), '--packing', 'by-host');
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/--packing must be per-camera or mixed, got "by-host"/);
  });
});
