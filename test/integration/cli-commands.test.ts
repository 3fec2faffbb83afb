// Covers vmon's commands in process against a local stack on moto, through --stack-file: send
// (JSONL and CSV through MetricPublisher, bad lines named, nothing sent then), state (golden text
// and JSON, lifecycle fields, not found), dlq list/show/redrive (golden text, reasons, base64
// bodies decoded, deleted only once sent), events tail (peeks by default, --consume deletes; text and JSON, bounded by --max and
// --timeout), policy put/get/list/delete (invalid policy refused, nothing stored), and the exit
// code and message when no local stack is running.
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PutItemCommand } from '@aws-sdk/client-dynamodb';
import { CameraStateStore } from '../../lib/adapters/state-store.js';
import { PROJECT_ROOT } from '../../lib/local/moto-server.js';
import { DeadLetterQueue } from '../../lib/adapters/dead-letter.js';
import { TriggerPublisher } from '../../lib/adapters/trigger-publisher.js';
import { applyEvents, emptyState } from '../../lib/core/camera-state.js';
import { parseBody } from '../../lib/core/metric-event.js';
import { parsePolicy } from '../../lib/core/policy.js';
import { freePort } from '../../lib/local/moto-server.js';
import { STATE_TABLE } from '../../lib/resources.js';
import { drain, startLocalAws, type LocalAws } from '../support/local-aws.js';
import { expectGolden, normalise, runVmon, series, tempDir, toJsonl, writeStackFile } from './cli-support.js';

let aws: LocalAws;
let dir: string;
let stackFile: string;
const vmon = (...args: string[]) => runVmon(['--stack-file', stackFile, ...args]);
const START = Date.parse('2026-01-05T00:00:00Z');
const POLICY = {
  id: 'cli-test',
  retrainScope: 'camera', // one camera per command here; cohorts: fleet-decisions.test.ts
  detectors: [
    {
      id: 'drift-mean',
      kind: 'window-mean',
      metric: 'DriftScore',
      action: 'RetrainingRequested',
      windowSize: 3,
      threshold: 0.7,
      hysteresis: 0,
    },
  ],
  cooldownSeconds: 600,
};

beforeAll(async () => {
  aws = await startLocalAws();
  dir = await tempDir();
  stackFile = await writeStackFile(dir, aws.stack);
  await writeFile(join(dir, 'policy.json'), JSON.stringify(POLICY));
});
afterAll(async () => {
  await aws?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('vmon send', () => {
  it('publishes every event of a JSONL file and of a CSV file to the ingest queue', async () => {
    const events = series(
      'cam-send',
      'DriftScore',
      Array.from({ length: 300 }, (_, k) => (k % 10) / 10),
      START,
    );
    await writeFile(join(dir, 'send.jsonl'), toJsonl(events));
    const r = await vmon('send', join(dir, 'send.jsonl'), '--json');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const summary = JSON.parse(r.stdout);
    expect(summary).toMatchObject({
      events: 300,
      sent: 300,
      rejected: 0,
      dropped: 0,
      retried: 0,
      undelivered: 0,
      queueUrl: aws.stack.ingestQueueUrl,
    });

    const csvEvents = series('cam-csv', 'Accuracy', [0.9, 0.8, 0.85], START).map((e) => ({ ...e, sample_count: 100 }));
    await writeFile(
      join(dir, 'send.csv'),
      [
        'camera_id,id,timestamp,modality,metric,value,sample_count',
        ...csvEvents.map(
          (e) => `"${e.camera_id}",${e.id},${e.timestamp},${e.modality},${e.metric},${e.value},${e.sample_count}`,
        ),
      ].join('\n'),
    );
    const csv = await vmon('send', join(dir, 'send.csv'));
    expect(csv.code).toBe(0);
    expect(normalise(csv.stdout)).toBe(
      `sent 3 events from ${join(dir, 'send.csv').replace(/\/tmp\/vmon-test-[^/]+/, '<tmp>')} to <url>\n  1 message, 1 SendMessageBatch request, 0 entries retried, 0 rejected, 0 dropped\n`,
    );

    const msgs = await drain(aws.sqs, aws.stack.ingestQueueUrl, summary.messages + 1, 10_000);
    const received = msgs.flatMap((m) => parseBody(m.Body!).events);
    expect(received.map((e) => e.id).sort()).toEqual([...events, ...csvEvents].map((e) => e.id).sort());
    expect(received.find((e) => e.camera_id === 'cam-csv')).toMatchObject({
      sample_count: 100,
      value: 0.9,
      metric: 'Accuracy',
    });
  });

  it('stops at bad lines, naming each line and field, and sends nothing', async () => {
    const good = series('cam-bad', 'DriftScore', [0.1, 0.2, 0.3], START);
    const lines = [
      JSON.stringify(good[0]),
      JSON.stringify({ ...good[1], metric: 'F1' }),
      '{"id": oops',
      JSON.stringify(good[2]),
    ];
    await writeFile(join(dir, 'bad.jsonl'), lines.join('\n'));
    const r = await vmon('send', join(dir, 'bad.jsonl'));
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('2 bad lines; nothing was sent:');
    expect(r.stderr).toContain(
      '  line 2: metric must be one of Accuracy | Precision | Recall | DriftScore | LatencyMs, got string "F1"',
    );
    expect(r.stderr).toMatch(/ {2}line 3: body is not valid JSON/);
    await writeFile(
      join(dir, 'bad.csv'),
      'id,timestamp,camera_id,modality,metric,value\n' +
        `${good[0]!.id},${good[0]!.timestamp},cam-bad,Rgb,DriftScore,high\n`,
    );
    const csv = await vmon('send', join(dir, 'bad.csv'));
    expect(csv.code).toBe(2);
    expect(csv.stderr).toContain('line 2: value must be a number, got string "high"');
    const missing = await vmon('send', join(dir, 'missing.jsonl'));
    expect(missing).toMatchObject({ code: 2, stderr: `vmon: file not found: ${join(dir, 'missing.jsonl')}\n` });
    expect(await drain(aws.sqs, aws.stack.ingestQueueUrl, 1, 1_500)).toEqual([]);
  });
});

describe('vmon state', () => {
  it('shows windows, alerts, lifecycle and detector state (golden), and JSON', async () => {
    const policy = parsePolicy(POLICY);
    const events = parseBody(
      JSON.stringify(series('cam-state', 'DriftScore', [0.2, 0.3, 0.9, 0.95, 0.8], START)),
      START,
    ).events;
    const { state } = applyEvents(emptyState(), events, policy);
    // A Thermal drift while the Rgb retrain is in flight: its episode is recorded as suppressed.
    const thermal = series('cam-state', 'DriftScore', [0.9, 0.9, 0.9], START + 40_000, 10_000, 'Thermal');
    applyEvents(state, parseBody(JSON.stringify(thermal), START).events, policy);
    // A stream no window detector reads keeps keys only (values NaN in memory).
    state.streams['Rgb.LatencyMs'] = [{ ts: START, tag: 7, value: NaN }];
    state.silences.push({ metric: 'LatencyMs', until: START + 86_400_000, reason: 'maintenance' });
    (state as unknown as Record<string, unknown>).futureField = { addedBy: 'a later version', at: START };
    expect((await new CameraStateStore(aws.ddb, aws.stack.tableName).save('cam-state', state, 0, START)).ok).toBe(true);

    const text = await vmon('state', 'cam-state');
    expect(text.code).toBe(0);
    expectGolden('state.txt', normalise(text.stdout, { keepUuids: true }));
    const json = JSON.parse((await vmon('state', 'cam-state', '--json')).stdout);
    expect(json).toMatchObject({
      cameraId: 'cam-state',
      version: 1,
      state: {
        alerts: { 'drift-mean@Rgb': { f: true, e: 1, h: 'P' }, 'drift-mean@Thermal': { f: true, e: 1, h: 'R' } },
        inFlight: { since: START + 30_000 },
      },
    });
    expect(json.state.streams['Rgb.DriftScore']).toHaveLength(5);
  });

  it('exits 4 for a camera with no state', async () => {
    const r = await vmon('state', 'cam-nobody');
    expect(r).toMatchObject({ code: 4, stdout: '' });
    expect(r.stderr).toMatch(/^vmon: no state for camera "cam-nobody"/);
  });
});

describe('vmon dlq', () => {
  it('lists (golden), shows and redrives dead letters; base64 bodies are decoded; redriven ones leave the DLQ', async () => {
    const dlq = new DeadLetterQueue(aws.sqs, aws.stack.deadLetterQueueUrl);
    const good = series('cam-dlq', 'DriftScore', [0.4], START)[0]!;
    const failedSources = await dlq.send(
      [
        {
          sourceMessageId: 'src-1',
          rejection: {
            index: 1,
            raw: JSON.stringify({ ...good, metric: 'F1' }),
            reason:
              '[1].metric: metric must be one of Accuracy | Precision | Recall | DriftScore | LatencyMs, got string "F1"',
            errors: [],
          },
        },
        {
          sourceMessageId: 'src-2',
          rejection: {
            index: null,
            raw: 'bad\u0000bytes',
            reason: 'body is not valid JSON: Unexpected token',
            errors: [],
          },
        },
      ],
      START,
    );
    expect(failedSources.size).toBe(0);

    const list = await vmon('dlq', 'list');
    expect(list.code).toBe(0);
    expectGolden('dlq-list.txt', normalise(list.stdout, { extra: [[/^([0-9a-f-]{36}) {2}/gm, '<message-id>  ']] }));
    const letters = JSON.parse((await vmon('dlq', 'list', '--json')).stdout) as {
      messageId: string;
      body: string;
      reason: string;
      encoding?: string;
      sourceMessageId: string;
    }[];
    expect(letters).toHaveLength(2);
    const binary = letters.find((l) => l.sourceMessageId === 'src-2')!;
    expect(binary).toMatchObject({ body: 'bad\u0000bytes', encoding: 'base64', origin: 'rejected' });

    const show = await vmon('dlq', 'show', binary.messageId);
    expect(show.code).toBe(0);
    expect(show.stdout).toContain('  reason             body is not valid JSON: Unexpected token');
    expect(show.stdout).toContain('  stored as          base64 (decoded below)');
    // Shown with the NUL escaped (the terminal gets no raw control character); --json keeps the exact bytes.
    expect(show.stdout.endsWith('body:\nbad\\u0000bytes\n')).toBe(true);
    expect((await vmon('dlq', 'show', '00000000-0000-0000-0000-000000000000')).code).toBe(4);

    // Redrive one by id, then the rest.
    const other = letters.find((l) => l.sourceMessageId === 'src-1')!;
    const one = JSON.parse((await vmon('dlq', 'redrive', '--id', other.messageId, '--json')).stdout);
    expect(one).toMatchObject({ redriven: 1, failed: [], remaining: 1 });
    // Moving messages takes a choice: no --id and no --all is refused, nothing moved.
    const unsaid = await vmon('dlq', 'redrive');
    expect(unsaid.code).toBe(2);
    expect(unsaid.stderr).toMatch(/--id <messageId\.\.\.> \(see vmon dlq list\) or --all; nothing was redriven/);
    const rest = await vmon('dlq', 'redrive', '--all');
    expect(normalise(rest.stdout)).toBe('redrove 1 message to <url>; 0 failed; 0 left on the dead-letter queue\n');
    const back = await drain(aws.sqs, aws.stack.ingestQueueUrl, 2, 10_000);
    expect(back.map((m) => m.Body).sort()).toEqual(
      [JSON.stringify({ ...good, metric: 'F1' }), 'bad\u0000bytes'].sort(),
    );
    expect((await vmon('dlq', 'list')).stdout).toMatch(/^no dead-lettered messages in /);
  });
});

describe('vmon events tail', () => {
  it('prints published events from the tap queue, as text and as JSON lines, bounded by --max and --timeout', async () => {
    const policy = parsePolicy(POLICY);
    const events = parseBody(
      JSON.stringify(series('cam-tail', 'DriftScore', [0.9, 0.9, 0.9, 0.1, 0.1, 0.1, 0.9, 0.9, 0.9], START)),
      START,
    ).events;
    const { triggers } = applyEvents(emptyState(), events, { ...policy, cooldownSeconds: 0 });
    // The second breach is held back: a retrain is in flight for the camera.
    expect(triggers.map((t) => t.detailType)).toEqual(['RetrainingRequested', 'AlertResolved']);
    await new TriggerPublisher(aws.eventBridge, aws.stack.eventBusName).publish(triggers.slice(0, 1));
    const text = await vmon('events', 'tail', '--max', '1', '--timeout', '20');
    expect(text.code).toBe(0);
    const line = `${triggers[0]!.detail.lastEventAt}  RetrainingRequested  cam-tail Rgb DriftScore  drift-mean  statistic=0.9  threshold=0.7  trigger=${triggers[0]!.detail.triggerId}\n`;
    expect(text.stdout).toBe(line);
    // A peek (the default) leaves the event for the queue's consumer, and prints it once per tail.
    expect(await vmon('events', 'tail', '--timeout', '3')).toMatchObject({ code: 0, stdout: line });
    expect(await vmon('events', 'tail', '--consume', '--max', '1', '--timeout', '20')).toMatchObject({
      code: 0,
      stdout: line,
    });

    await new TriggerPublisher(aws.eventBridge, aws.stack.eventBusName).publish(triggers.slice(1));
    const json = await vmon('events', 'tail', '--json', '--consume', '--max', '5', '--timeout', '4');
    expect(json.code).toBe(0);
    const lines = json.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(lines.map((e) => [e.source, e['detail-type'], e.detail.triggerId]).sort()).toEqual(
      triggers
        .slice(1)
        .map((t) => ['visutility.monitor', t.detailType, t.detail.triggerId])
        .sort(),
    );
    // Consumed: nothing left to print, and --timeout ends the wait.
    const empty = await vmon('events', 'tail', '--timeout', '1');
    expect(empty).toMatchObject({ code: 0, stdout: '' });
  });
});

describe('vmon policy', () => {
  it('puts, gets, lists and deletes scoped policies; an invalid one is refused and nothing is stored', async () => {
    // One detector where the default runs four: refused (nothing stored) until --yes.
    const refused = await vmon('policy', 'put', 'camera:cam01', join(dir, 'policy.json'));
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(
      /removes 4 detectors its cameras run now \(drift-window-mean, drift-mean-shift, accuracy-regression, latency-p95; from the built-in default/,
    );
    expect((await vmon('policy', 'get', 'camera:cam01')).code).toBe(4);
    const put = await vmon('policy', 'put', 'camera:cam01', join(dir, 'policy.json'), '--yes');
    expect(put.code).toBe(0);
    expect(put.stdout).toMatch(
      /^stored policy cli-test at camera:cam01 \(1 detector\), replacing default \(the built-in default/,
    );
    expect(put.stdout).toContain('\n  - detector latency-p95 (latency-quantile on LatencyMs → SlaBreached)\n');
    expect(put.stdout).toMatch(/\n {2}\+ detector drift-mean \(window-mean on DriftScore → RetrainingRequested\)/);
    await writeFile(join(dir, 'fleet.json'), JSON.stringify({ ...POLICY, id: 'fleet-wide' }));
    expect((await vmon('policy', 'put', 'fleet', join(dir, 'fleet.json'), '--yes')).code).toBe(0);
    // In force: cam01's own; another camera inherits the fleet's; the default prints offline.
    const effective = await vmon('policy', 'get', 'camera:cam01', '--effective');
    expect(effective.stdout).toMatch(/^policy in force at camera:cam01: stored at camera:cam01\n\{/);
    const inherited = JSON.parse((await vmon('policy', 'get', 'camera:other', '--effective', '--json')).stdout);
    expect(inherited.id).toBe('fleet-wide');
    const dflt = JSON.parse((await vmon('policy', 'default')).stdout);
    expect(dflt.detectors.map((d: { id: string }) => d.id)).toEqual([
      'drift-window-mean',
      'drift-mean-shift',
      'accuracy-regression',
      'latency-p95',
    ]);

    // vmon tune --scope starts from the policy in force there (fleet-wide) and keeps its detectors.
    const nab = join(PROJECT_ROOT, 'test/fixtures/nab-dev');
    const tuned = await vmon(
      'tune',
      join(nab, 'data/artificialWithAnomaly/art_daily_jumpsup.csv'),
      '--modality',
      'Rgb',
      '--detectors',
      'ewma',
      '--labels',
      join(nab, 'labels.json'),
      '--budget',
      '100',
      '--scope',
      'fleet',
      '--out',
      join(dir, 'tuned.json'),
      '--json',
    );
    expect(tuned.code, tuned.stderr).toBe(0);
    const t = JSON.parse(tuned.stdout);
    expect(t.replaced).toEqual([]); // fleet-wide has no sequential chart: the tuned one is added
    expect(t.policy.detectors.map((d: { id: string }) => d.id)).toEqual(['drift-mean', 'driftscore-ewma']);
    expect(t.policy.cooldownSeconds).toBe(600);

    const got = JSON.parse((await vmon('policy', 'get', 'camera:cam01', '--json')).stdout);
    expect(got).toMatchObject({
      id: 'cli-test',
      cooldownSeconds: 600,
      detectors: [{ id: 'drift-mean', windowSize: 3, requireFullWindow: true }],
    });
    const list = await vmon('policy', 'list');
    expectGolden('policy-list.txt', list.stdout);

    await writeFile(
      join(dir, 'invalid.json'),
      JSON.stringify({ ...POLICY, detectors: [{ ...POLICY.detectors[0], metric: 'F1' }] }),
    );
    const invalid = await vmon('policy', 'put', 'modality:Rgb', join(dir, 'invalid.json'));
    expect(invalid.code).toBe(2);
    expect(invalid.stderr).toMatch(
      /^vmon: invalid policy: detectors\[0\]\.metric: must be one of Accuracy .*; nothing was stored\n$/,
    );
    expect((await vmon('policy', 'get', 'modality:Rgb')).code).toBe(4);
    const badScope = await vmon('policy', 'put', 'camera', join(dir, 'policy.json'));
    expect(badScope.code).toBe(2);
    expect(badScope.stderr).toMatch(/scope must be "fleet", "modality:<Rgb\|Thermal\|Depth>" or "camera:<camera_id>"/);

    expect((await vmon('policy', 'delete', 'camera:cam01')).stdout).toBe('deleted the policy at camera:cam01\n');
    expect((await vmon('policy', 'delete', 'camera:cam01')).code).toBe(4);
    const after = JSON.parse((await vmon('policy', 'list', '--json')).stdout);
    expect(after.policies.map((p: { scope: string }) => p.scope)).toEqual(['fleet']);

    // Backtest with the stored policies: the fleet policy (window 3) applies, not the built-in default.
    await writeFile(join(dir, 'bt.jsonl'), toJsonl(series('cam-bt', 'DriftScore', [0.9, 0.9, 0.9], START)));
    const bt = JSON.parse(
      (await vmon('backtest', join(dir, 'bt.jsonl'), '--stored-policies', '--no-report', '--json')).stdout,
    );
    expect(bt.triggers.map((t: { policyId: string; detailType: string }) => [t.policyId, t.detailType])).toEqual([
      ['fleet-wide', 'RetrainingRequested'],
    ]);
  });
});

describe('vmon silence', () => {
  it('adds a camera + metric silence that ingest then honours, and clears it', async () => {
    const cameras = new CameraStateStore(aws.ddb, aws.stack.tableName);
    const added = await vmon(
      'silence',
      'add',
      'cam-quiet',
      '--metric',
      'DriftScore',
      '--until',
      '2026-02-01T00:00:00Z',
      '--reason',
      'lens cleaning',
      '--json',
    );
    expect(added.code).toBe(0);
    expect(JSON.parse(added.stdout)).toEqual([
      { metric: 'DriftScore', until: Date.parse('2026-02-01T00:00:00Z'), reason: 'lens cleaning' },
    ]);
    // The silence lives in the camera's state, where applyEvents sees it: a breach is suppressed.
    const { state } = await cameras.load('cam-quiet');
    const events = parseBody(JSON.stringify(series('cam-quiet', 'DriftScore', [0.9, 0.9, 0.9], START))).events;
    const r = applyEvents(state, events, parsePolicy(POLICY));
    expect(r.triggers).toEqual([]);
    expect(r.stats.suppressed).toEqual({ silenced: 1 });
    const cleared = await vmon('silence', 'clear', 'cam-quiet');
    expect(cleared.stdout).toBe('removed 1 silence from cam-quiet\n');
    expect((await cameras.load('cam-quiet')).state.silences).toEqual([]);
  });

  it('refuses a bad --until or --metric with exit 2', async () => {
    const r = await vmon('silence', 'add', 'cam-quiet', '--until', 'tomorrow');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--until "tomorrow" is not an RFC 3339 date-time/);
    const m = await vmon('silence', 'add', 'cam-quiet', '--for', '1h', '--metric', 'Speed');
    expect(m.code).toBe(2);
    expect(m.stderr).toMatch(/--metric must be one of/);
  });
});

describe('targeting', () => {
  it('says no local stack is running when the endpoint does not answer (exit 3)', async () => {
    const port = await freePort();
    await writeFile(join(dir, 'dead.json'), JSON.stringify({ ...aws.stack, endpoint: `http://127.0.0.1:${port}` }));
    const r = await runVmon(['--stack-file', join(dir, 'dead.json'), 'dlq', 'list']);
    expect(r).toMatchObject({
      code: 3,
      stderr: `vmon: no local stack running at http://127.0.0.1:${port} — start it with npm run local\n`,
    });
    const none = await runVmon(['--stack-file', join(dir, 'absent.json'), 'state', 'cam01']);
    expect(none.code).toBe(3);
    expect(none.stderr).toMatch(/no local stack: .*absent\.json not found — start it with npm run local/);
  });

  it('reads the state item the store wrote, not a stale copy (same table the function uses)', async () => {
    // A camera item written directly in the table format is what `vmon state` reads back.
    await aws.ddb.send(
      new PutItemCommand({
        TableName: aws.stack.tableName,
        Item: {
          [STATE_TABLE.partitionKey.name]: { S: STATE_TABLE.cameraKey('cam-raw') },
          [STATE_TABLE.attributes.version]: { N: '7' },
          [STATE_TABLE.attributes.rest]: { S: JSON.stringify({ mv: { Depth: 'm-9' } }) },
        },
      }),
    );
    const r = JSON.parse((await vmon('state', 'cam-raw', '--json')).stdout);
    expect(r).toMatchObject({ version: 7, state: { mv: { Depth: 'm-9' } } });
  });
});
