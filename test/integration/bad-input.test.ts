// Covers bad input through the real path on moto: real SQS messages → local event-source mapping →
// the real ingest handler. Each malformed case (truncated and empty bodies, mixed arrays, duplicate
// ids, a wrong type in every field, NaN/Infinity, out-of-range timestamps, bodies at the SQS size
// limit, deep nesting, bytes that were not UTF-8, control characters in camera_id…) must leave its
// valid events applied, exactly once, and put each bad part in the dead-letter queue on first
// receive, byte for byte as sent, with a reason naming the field and the fault. All cases go in one
// run for speed; each is then checked on its own.
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SendMessageCommand, type Message } from '@aws-sdk/client-sqs';
import { LocalEventSourceMapping } from '../../lib/local/event-source-mapping.js';
import { MAX_REJECTED_PARTS_PER_BODY } from '../../lib/core/metric-event.js';
import { DEAD_LETTER_ATTRIBUTES } from '../../lib/resources.js';
import { drain, readCamera, startLocalAws, useFunctionEnv, type LocalAws } from '../support/local-aws.js';
import { wireEvent } from '../support/fixtures.js';

const SQS_MAX = 1_048_576;

interface Expected {
  index: number | null;
  reason: RegExp;
  raw: string;
}
interface Case {
  name: string;
  /** The message body exactly as sent. */
  body: string;
  /** Valid events in the same message (applied) and a valid companion message in the same run. */
  valid: number;
  letters: Expected[];
}

let n = 0;
/** A valid event of the case's own camera, as JSON text. */
const ok = (cam: string, over: Record<string, unknown> = {}) =>
  JSON.stringify({ ...wireEvent({ camera_id: cam, i: n++ }), ...over });
/** A valid event with one field replaced (`undefined` removes it). */
const withField = (cam: string, field: string, value: unknown) => {
  const e: Record<string, unknown> = { ...wireEvent({ camera_id: cam, i: n++ }) };
  if (value === undefined) delete e[field];
  else e[field] = value;
  return JSON.stringify(e);
};

/** A case whose bad part is one element of an array with valid siblings around it. */
function element(name: string, bad: (cam: string) => string, reason: RegExp): (cam: string) => Case {
  return (cam) => {
    const part = bad(cam);
    return { name, body: `[${ok(cam)},${part},${ok(cam)}]`, valid: 2, letters: [{ index: 1, reason, raw: part }] };
  };
}
/** A case whose whole body is rejected. */
function whole(name: string, body: string | ((cam: string) => string), reason: RegExp): (cam: string) => Case {
  return (cam) => {
    const b = typeof body === 'string' ? body : body(cam);
    return { name, body: b, valid: 0, letters: [{ index: null, reason, raw: b }] };
  };
}

const deep = (depth: number) => '['.repeat(depth) + ']'.repeat(depth);

const CASES: ((cam: string) => Case)[] = [
  // bodies that are not JSON at all
  whole('whitespace-only body', ' \n\t ', /^body is empty$/),
  whole('truncated object', (cam) => ok(cam).slice(0, 40), /^body is not valid JSON/),
  whole(
    'truncated array (valid events before the cut cannot be told apart from the junk)',
    (cam) => `[${ok(cam)},${ok(cam)}`.slice(0, -5),
    /^body is not valid JSON/,
  ),
  whole('plain text', 'temperature=41C', /^body is not valid JSON/),
  whole(
    'bare NaN value',
    (cam) => ok(cam).replace(/"value":[^,}]+/, '"value":NaN'),
    /^body is not valid JSON.*NaN and Infinity are not JSON numbers/,
  ),
  whole(
    'raw tab inside camera_id (JSON forbids raw control characters in strings)',
    (cam) => ok(cam).replace(`"camera_id":"${cam}"`, `"camera_id":"${cam}\tx"`),
    /^body is not valid JSON/,
  ),
  whole('JSON number', '42', /^event must be a JSON object, got number 42$/),
  whole('JSON null', 'null', /^event must be a JSON object, got null$/),
  whole('JSON string', '"cam01 0.9"', /^event must be a JSON object, got string/),
  whole('empty array', '[]', /^body is an empty array$/),
  whole(
    'empty object',
    '{}',
    /^id is required; timestamp is required; camera_id is required; modality is required; metric is required; value is required$/,
  ),
  // arrays of mixed valid and invalid events
  (cam) => {
    const bad = ['1', 'null', '{"x":1}'];
    return {
      name: 'array mixing valid events, a number, null and a junk object',
      body: `[${ok(cam)},${bad[0]},${bad[1]},${ok(cam)},${bad[2]}]`,
      valid: 2,
      letters: [
        { index: 1, reason: /^\[1\]: event must be a JSON object, got number 1$/, raw: bad[0]! },
        { index: 2, reason: /^\[2\]: event must be a JSON object, got null$/, raw: bad[1]! },
        { index: 4, reason: /^\[4\]\.id: id is required/, raw: bad[2]! },
      ],
    };
  },
  (cam) => {
    const first = ok(cam);
    const again = JSON.stringify({ ...JSON.parse(first), value: 0.99 });
    return {
      name: 'duplicate id within one message',
      body: `[${first},${again}]`,
      valid: 1,
      letters: [{ index: 1, reason: /^\[1\]\.id: duplicate id [0-9a-f-]{36} within one message$/, raw: again }],
    };
  },
  (cam) => {
    const bad = Array.from({ length: MAX_REJECTED_PARTS_PER_BODY + 2 }, (_, k) => String(k));
    const body = `[${ok(cam)},${bad.join(',')}]`;
    return {
      name: 'more bad elements than the per-body limit: one letter for the whole body',
      body,
      valid: 1,
      letters: [
        {
          index: null,
          reason:
            /^12 of 13 array elements rejected \(the whole body is kept; its 1 valid events were applied\); first: \[1\]: event must be a JSON object/,
          raw: body,
        },
      ],
    };
  },
  // a wrong type in every field
  element(
    'id as a number',
    (cam) => withField(cam, 'id', 12345),
    /^\[1\]\.id: id must be a string UUID, got number 12345$/,
  ),
  element('id not a UUID', (cam) => withField(cam, 'id', 'evt-42'), /^\[1\]\.id: id must be a UUID/),
  element(
    'timestamp as epoch seconds',
    (cam) => withField(cam, 'timestamp', 1795000000),
    /^\[1\]\.timestamp: timestamp must be an RFC 3339 string, got number 1795000000$/,
  ),
  element(
    'timestamp without a zone',
    (cam) => withField(cam, 'timestamp', '2026-11-27T08:00:00'),
    /^\[1\]\.timestamp: timestamp "2026-11-27T08:00:00" is not an RFC 3339 date-time/,
  ),
  element(
    'camera_id as a number',
    (cam) => withField(cam, 'camera_id', 7),
    /^\[1\]\.camera_id: camera_id must be a string, got number 7$/,
  ),
  element(
    'modality as a number',
    (cam) => withField(cam, 'modality', 0),
    /^\[1\]\.modality: modality must be one of Rgb \| Thermal \| Depth, got number 0$/,
  ),
  element(
    'modality in lower case',
    (cam) => withField(cam, 'modality', 'rgb'),
    /^\[1\]\.modality: modality must be one of .*got string "rgb"$/,
  ),
  element(
    'metric as a boolean',
    (cam) => withField(cam, 'metric', true),
    /^\[1\]\.metric: metric must be one of .*got boolean true$/,
  ),
  element('value missing', (cam) => withField(cam, 'value', undefined), /^\[1\]\.value: value is required$/),
  element(
    'value as a string',
    (cam) => withField(cam, 'value', '0.5'),
    /^\[1\]\.value: value must be a number, got string "0.5"$/,
  ),
  element(
    'value null (how serde writes NaN)',
    (cam) => withField(cam, 'value', null),
    /^\[1\]\.value: value must be a number, got null$/,
  ),
  element(
    'value as an array',
    (cam) => withField(cam, 'value', [0.5]),
    /^\[1\]\.value: value must be a number, got an array$/,
  ),
  element(
    'model_version as a number',
    (cam) => withField(cam, 'model_version', 3),
    /^\[1\]\.model_version: model_version must be a string, got number 3$/,
  ),
  element(
    'sample_count as a string',
    (cam) => withField(cam, 'sample_count', '250'),
    /^\[1\]\.sample_count: sample_count must be an integer >= 0, got string "250"$/,
  ),
  element(
    'sample_count fractional',
    (cam) => withField(cam, 'sample_count', 2.5),
    /^\[1\]\.sample_count: sample_count must be an integer$/,
  ),
  // NaN and Infinity
  element(
    'value "NaN" as a string',
    (cam) => withField(cam, 'value', 'NaN'),
    /^\[1\]\.value: value must be a number, got string "NaN"$/,
  ),
  element(
    'value "Infinity" as a string',
    (cam) => withField(cam, 'value', 'Infinity'),
    /^\[1\]\.value: value must be a number, got string "Infinity"$/,
  ),
  element(
    'value 1e999 (parses to Infinity)',
    (cam) => withField(cam, 'value', 0.5).replace('"value":0.5', '"value":1e999'),
    /^\[1\]\.value: value must be a finite number, got Infinity$/,
  ),
  // ranges
  element(
    'Accuracy above 1',
    (cam) => withField(cam, 'metric', 'Accuracy').replace('"value":0.1', '"value":1.2'),
    /^\[1\]\.value: value 1.2 is outside \[0, 1\] for Accuracy$/,
  ),
  element(
    'timestamp far in the future',
    (cam) => withField(cam, 'timestamp', '2099-01-01T00:00:00Z'),
    /^\[1\]\.timestamp: timestamp 2099-01-01T00:00:00Z is more than 24 h in the future$/,
  ),
  element(
    'timestamp before 2000',
    (cam) => withField(cam, 'timestamp', '1999-12-31T23:59:59.999Z'),
    /^\[1\]\.timestamp: timestamp 1999-12-31T23:59:59.999Z is before 2000-01-01$/,
  ),
  // camera_id
  element(
    'camera_id with a NUL (escaped in JSON)',
    (cam) => withField(cam, 'camera_id', `${cam}\u0000`),
    /^\[1\]\.camera_id: camera_id must not contain control characters$/,
  ),
  element(
    'camera_id with an ANSI escape sequence',
    (cam) => withField(cam, 'camera_id', `\u001b[31m${cam}`),
    /^\[1\]\.camera_id: camera_id must not contain control characters$/,
  ),
  element(
    'camera_id with a C1 control (NEL)',
    (cam) => withField(cam, 'camera_id', `${cam}\u0085`),
    /^\[1\]\.camera_id: camera_id must not contain control characters$/,
  ),
  element(
    'camera_id blank',
    (cam) => withField(cam, 'camera_id', '   '),
    /^\[1\]\.camera_id: camera_id must not be blank$/,
  ),
  element(
    'camera_id of 129 characters',
    (cam) => withField(cam, 'camera_id', 'c'.repeat(129)),
    /^\[1\]\.camera_id: camera_id must be at most 128 characters$/,
  ),
  // SQS takes only valid Unicode, so bytes that were not UTF-8 arrive as U+FFFD; a JSON \\ud800
  // escape decodes to a lone surrogate, which no UTF-8 text can hold.
  element(
    'camera_id with a replacement character (Latin-1 bytes)',
    (cam) => withField(cam, 'camera_id', `cam\uFFFDra-${cam}`),
    /^\[1\]\.camera_id: camera_id is not valid UTF-8/,
  ),
  element(
    'model_version with replacement characters (invalid bytes decoded leniently)',
    (cam) => withField(cam, 'model_version', 'v\uFFFD\uFFFD'),
    /^\[1\]\.model_version: model_version is not valid UTF-8/,
  ),
  element(
    'camera_id with an escaped lone surrogate (\\ud800)',
    (cam) => withField(cam, 'camera_id', `${cam}\uDC00`),
    /^\[1\]\.camera_id: camera_id is not valid UTF-8/,
  ),
  // deep nesting
  element('10 000 nested arrays', () => deep(10_000), /^\[1\]: event must be a JSON object, got an array$/),
  element(
    'deeply nested junk in an extra field',
    (cam) =>
      ok(cam)
        .replace('{', `{"junk":${'{"a":'.repeat(3000)}1${'}'.repeat(3000)},`)
        .replace('"value":0.1', '"value":"x"'),
    /^\[1\]\.value: value must be a number, got string "x"$/,
  ),
  () => ({
    name: 'a body that is nothing but 200 000 nested arrays',
    body: deep(200_000),
    valid: 0,
    letters: [{ index: 0, reason: /^\[0\]: event must be a JSON object, got an array$/, raw: deep(199_999) }],
  }),
  // the SQS size limit
  whole(
    'invalid JSON of exactly the SQS maximum size',
    (cam) => `{"camera_id":"${cam}","pad":"${'x'.repeat(SQS_MAX)}`.slice(0, SQS_MAX),
    /^body is not valid JSON/,
  ),
  (cam) => {
    const bad = withField(cam, 'value', 'y'.repeat(SQS_MAX - 2000));
    return {
      name: 'array at the size limit: valid siblings and a bad element of ~1 MiB',
      body: `[${ok(cam)},${bad},${ok(cam)}]`,
      valid: 2,
      letters: [{ index: 1, reason: /^\[1\]\.value: value must be a number, got string "yyyy/, raw: bad }],
    };
  },
];

let aws: LocalAws;
let mapping: LocalEventSourceMapping;
const sent: { c: Case; cam: string; messageId: string; companion: number }[] = [];
const lettersBySource = new Map<string, Message[]>();

const decodeLetter = (m: Message) => {
  const encoding = m.MessageAttributes?.[DEAD_LETTER_ATTRIBUTES.encoding]?.StringValue;
  if (encoding === 'base64') return Buffer.from(m.Body!, 'base64').toString('utf8');
  if (encoding === 'gzip+base64') return gunzipSync(Buffer.from(m.Body!, 'base64')).toString('utf8');
  return m.Body!;
};

async function streamLength(cam: string): Promise<number> {
  return (await readCamera(aws, cam)).state.streams['Rgb.DriftScore']?.length ?? 0;
}

beforeAll(async () => {
  aws = await startLocalAws({ visibilityTimeoutSeconds: 5 });
  useFunctionEnv(aws.stack);
  const { handler } = await import('../../functions/ingest.js');
  mapping = new LocalEventSourceMapping(aws.sqs, handler, {
    queueUrl: aws.stack.ingestQueueUrl,
    batchSize: 10,
    maxBatchingWindowMs: 200,
    pollers: 2,
  }).start();
  for (const [k, make] of CASES.entries()) {
    const cam = `bad-${k}`;
    const c = make(cam);
    const r = await aws.sqs
      .send(new SendMessageCommand({ QueueUrl: aws.stack.ingestQueueUrl, MessageBody: c.body }))
      .catch((e) => {
        throw new Error(`case ${k} (${c.name}): ${e}`);
      });
    // A valid companion message for the same camera in the same run.
    await aws.sqs.send(new SendMessageCommand({ QueueUrl: aws.stack.ingestQueueUrl, MessageBody: ok(cam) }));
    sent.push({ c, cam, messageId: r.MessageId!, companion: 1 });
  }
  const expected = sent.reduce((s, x) => s + x.c.letters.length, 0);
  const letters = await drain(aws.sqs, aws.stack.deadLetterQueueUrl, expected, 40_000);
  for (const m of letters) {
    const src = m.MessageAttributes?.[DEAD_LETTER_ATTRIBUTES.sourceMessageId]?.StringValue ?? '(none)';
    lettersBySource.set(src, [...(lettersBySource.get(src) ?? []), m]);
  }
  // Give the last batch time to commit its state before checking.
  const deadline = Date.now() + 15_000;
  while (mapping.counters.deleted < sent.length * 2 && Date.now() < deadline)
    await new Promise((r) => setTimeout(r, 100));
}, 120_000);

afterAll(async () => {
  await mapping?.stop();
  await aws?.stop();
});

describe('bad input through SQS → handler → dead-letter queue', () => {
  it(`has at least 30 distinct malformed cases (${CASES.length})`, () => {
    expect(new Set(sent.map((s) => s.c.name)).size).toBe(CASES.length);
    expect(CASES.length).toBeGreaterThanOrEqual(30);
  });

  it('processes every message on its first receive: nothing failed, nothing redelivered', () => {
    expect(mapping.counters.failedRecords).toBe(0);
    expect(mapping.counters.handlerErrors).toBe(0);
    expect(mapping.counters.received).toBe(sent.length * 2);
  });

  it.each(CASES.map((make, k) => [k, make(`names-${k}`).name] as const))('case %i: %s', async (k) => {
    const { c, cam, messageId, companion } = sent[k]!;
    const letters = (lettersBySource.get(messageId) ?? []).sort(
      (a, b) =>
        Number(a.MessageAttributes?.[DEAD_LETTER_ATTRIBUTES.index]?.StringValue ?? -1) -
        Number(b.MessageAttributes?.[DEAD_LETTER_ATTRIBUTES.index]?.StringValue ?? -1),
    );
    expect(
      letters.map((m) => m.MessageAttributes![DEAD_LETTER_ATTRIBUTES.reason]!.StringValue),
      c.name,
    ).toHaveLength(c.letters.length);
    c.letters.forEach((want, j) => {
      const m = letters[j]!;
      const attrs = m.MessageAttributes!;
      expect(attrs[DEAD_LETTER_ATTRIBUTES.reason]!.StringValue, c.name).toMatch(want.reason);
      expect(attrs[DEAD_LETTER_ATTRIBUTES.index]?.StringValue, c.name).toBe(
        want.index === null ? undefined : String(want.index),
      );
      expect(attrs[DEAD_LETTER_ATTRIBUTES.rejectedAt]!.StringValue).toMatch(/^\d{4}-\d{2}-\d{2}T/);
      // The bad part exactly as sent.
      expect(decodeLetter(m) === want.raw, `${c.name}: letter body differs from what was sent`).toBe(true);
    });
    // The valid events of the message and of its companion are applied, each once.
    expect(await streamLength(cam), c.name).toBe(c.valid + companion);
  });
});
