// A seeded fuzz of the ingest parser and of the handler path behind it (`npm run chaos -- --fuzz`;
// test/integration/parser-fuzz.test.ts runs a bounded fixed-seed share in CI). The bodies are
// arbitrary JSON, mutated valid events, byte-level corruption of valid bodies, and tiny and huge
// bodies. The contract: every input is applied or dead-lettered with a reason, and nothing throws.
//
// - fuzzParser: bodies through parseBody, each result checked by checkParsed (below).
// - fuzzLocalStack: bodies sent to the ingest queue of a local stack on moto and handled by the real
//   ingest handler through the local event-source mapping, a round at a time; after each round every
//   message is checked from the outside: each part parseBody rejects is on the dead-letter queue with
//   its reason and exact text, and each valid event is in its camera's stored window.
import { gunzipSync } from 'node:zlib';
import { BatchGetItemCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SendMessageBatchCommand, SQSClient, type Message } from '@aws-sdk/client-sqs';
import fc from 'fast-check';
import { DEDUP_DEPTH } from '../core/camera-state.js';
import { sleep } from '../core/retry.js';
import { escapeForDisplay } from '../core/display-text.js';
import {
  MAX_SAMPLE_COUNT,
  METRICS,
  MODALITIES,
  parseBody,
  toWire,
  validateEvent,
  type ParsedBody,
} from '../core/metric-event.js';
import { decodeStreams } from '../core/state-codec.js';
import { idTag } from '../core/stream-window.js';
import type { WindowEntry } from '../core/stream-window.js';
import { DEAD_LETTER_ATTRIBUTES, STATE_TABLE } from '../resources.js';
import { LocalEventSourceMapping } from '../local/event-source-mapping.js';
import { createLocalStack, functionEnv, localClientConfig } from '../local/local-stack.js';
import { startMoto } from '../local/moto-server.js';
import { drainQueue, queueDepth } from '../local/queues.js';

/** Event times of generated events: in the past for any clock the fuzz runs under. */
export const FUZZ_BASE_MS = Date.UTC(2026, 0, 1);
/** The receiver's clock for fuzzParser (fuzzLocalStack's handler uses the real one). */
export const FUZZ_NOW_MS = FUZZ_BASE_MS + 30 * 86_400_000;
const SQS_MAX_BODY_BYTES = 1_048_576;

// ---- bodies ------------------------------------------------------------------------------

const FIELDS = ['id', 'timestamp', 'camera_id', 'modality', 'metric', 'value', 'model_version', 'sample_count'];

/** Strings producers get wrong, or attackers send, in any field. */
const NASTY_STRINGS = [
  '',
  ' ',
  'cam\u202etxt',
  '\u2066cam\u2069',
  'cam\u200d01',
  'cam\u200b',
  '\ufeffcam',
  'cam\u00ad',
  'cam\u{e0041}',
  'cam\u0000',
  'cam\u001b[31m',
  'cam\u0085',
  'cam\u00a001',
  'cam\u2028',
  'cam\u3164',
  'cam\ud800',
  'cam\udc00x',
  '\ufffd',
  '📷',
  'камера',
  'c'.repeat(128),
  'c'.repeat(129),
  'v'.repeat(5000),
  '"',
  '\\',
  '</script>',
  'Rgb',
  'rgb',
  'Rgb\u202e',
  'Accuracy',
  'F1',
  'NaN',
  'Infinity',
  '0.5',
  '2026-01-01T00:00:00Z',
  '2026-01-01T00:00:60Z',
  '2026-02-30T00:00:00Z',
  '0000-01-01T00:00:00Z',
  '1999-12-31T23:59:59Z',
  '9999-12-31T23:59:59.999999999+23:59',
  '2026-01-01T00:00:00.1234567890Z',
  '2026-01-01 00:00:00z',
  '6F1C5A1E-3F7E-4C59-9A53-2F0C3F0B7D11',
  '{6f1c5a1e-3f7e-4c59-9a53-2f0c3f0b7d11}',
  '00000000-0000-0000-0000-000000000000',
];
const NASTY_NUMBERS = [
  0,
  -0,
  -1,
  0.5,
  1,
  1.0000001,
  2.5,
  1e308,
  -1e308,
  5e-324,
  MAX_SAMPLE_COUNT,
  MAX_SAMPLE_COUNT + 1,
  1e15,
  2 ** 53,
  2 ** 53 + 2,
  Number.MAX_SAFE_INTEGER,
];

const nastyValue: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom<unknown>(...NASTY_STRINGS, ...NASTY_NUMBERS, null, true, false, [], {}, [1], { a: 1 }),
  fc.string({ unit: 'binary', maxLength: 20 }),
  fc.string({ unit: 'grapheme', maxLength: 20 }),
  fc.double(),
  fc.integer(),
  fc.jsonValue({ maxDepth: 2 }),
);

/** A valid event as producers send it (optionally with model_version and sample_count). */
const validEvent: fc.Arbitrary<Record<string, unknown>> = fc
  .record({
    id: fc.uuid(),
    offsetMs: fc.integer({ min: 0, max: 20 * 86_400_000 }),
    camera: fc.stringMatching(/^[a-z0-9]{6}$/),
    modality: fc.constantFrom(...MODALITIES),
    metric: fc.constantFrom(...METRICS),
    rate: fc.double({ min: 0, max: 1, noNaN: true }),
    latency: fc.double({ min: 0, max: 5000, noNaN: true }),
    model_version: fc.option(fc.constantFrom('v1', 'v2', 'model-2026.11', 'ヴ3'), { nil: undefined }),
    sample_count: fc.option(fc.integer({ min: 0, max: 5000 }), { nil: undefined }),
    fraction: fc.constantFrom('', '.1', '.123', '.123456789'),
  })
  .map((r) => {
    const e: Record<string, unknown> = {
      id: r.id,
      timestamp: new Date(FUZZ_BASE_MS + r.offsetMs).toISOString().replace(/\.\d{3}Z$/, `${r.fraction}Z`),
      camera_id: `fz-${r.camera}`,
      modality: r.modality,
      metric: r.metric,
      value: r.metric === 'LatencyMs' ? r.latency : r.rate,
    };
    if (r.model_version !== undefined) e.model_version = r.model_version;
    if (r.sample_count !== undefined) e.sample_count = r.sample_count;
    return e;
  });

type Mutation =
  | { kind: 'set'; field: string; value: unknown }
  | { kind: 'delete'; field: string }
  | { kind: 'rename'; field: string; to: string };
const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({
    kind: fc.constant('set' as const),
    field: fc.oneof(fc.constantFrom(...FIELDS), fc.string({ maxLength: 8 })),
    value: nastyValue,
  }),
  fc.record({ kind: fc.constant('delete' as const), field: fc.constantFrom(...FIELDS) }),
  fc.record({
    kind: fc.constant('rename' as const),
    field: fc.constantFrom(...FIELDS),
    to: fc.constantFrom('cameraId', 'Camera_Id', 'camera_id ', 'sampleCount', '__proto__', 'constructor'),
  }),
);
function mutate(e: Record<string, unknown>, ms: Mutation[]): Record<string, unknown> {
  const out = { ...e };
  for (const m of ms) {
    if (m.kind === 'set')
      Object.defineProperty(out, m.field, { value: m.value, enumerable: true, writable: true, configurable: true });
    else if (m.kind === 'delete') delete out[m.field];
    else {
      const v = out[m.field];
      delete out[m.field];
      Object.defineProperty(out, m.to, { value: v, enumerable: true, writable: true, configurable: true });
    }
  }
  return out;
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * One object or an array of them, as text (an array may repeat an id). The generated events of one
 * body are one camera's, as a producer sends them (each camera costs the handler a read and a write).
 */
const eventsBody = (element: fc.Arbitrary<unknown>, maxLength: number) =>
  fc.tuple(fc.array(element, { minLength: 1, maxLength }), fc.boolean(), fc.nat()).map(([generated, single, dup]) => {
    const camera = generated.find(
      (e) => isRecord(e) && typeof e.camera_id === 'string' && e.camera_id.startsWith('fz-'),
    );
    const events = generated.map((e) =>
      isRecord(e) && isRecord(camera) && typeof e.camera_id === 'string' && e.camera_id.startsWith('fz-')
        ? { ...e, camera_id: camera.camera_id }
        : e,
    );
    if (single && events.length === 1) return JSON.stringify(events[0]);
    const first = events[0];
    const last = events[events.length - 1];
    if (events.length > 1 && dup % 5 === 0 && isRecord(first) && isRecord(last))
      events[events.length - 1] = { ...last, id: first.id };
    return JSON.stringify(events);
  });

const mutatedEvent = fc
  .tuple(validEvent, fc.array(mutation, { minLength: 1, maxLength: 3 }))
  .map(([e, ms]) => mutate(e, ms));

/** Valid bodies: also the raw material of the text and byte corruption. */
const validBody = eventsBody(validEvent, 6);

type ByteOp = { kind: 'flip' | 'delete' | 'insert' | 'truncate'; at: number; byte: number };
const byteOp: fc.Arbitrary<ByteOp> = fc.record({
  kind: fc.constantFrom('flip', 'delete', 'insert', 'truncate'),
  at: fc.nat(),
  byte: fc.integer({ min: 0, max: 255 }),
});
/** Bytes changed as a bad network, encoder or disk would, then decoded as UTF-8 (bad bytes → U+FFFD). */
export function corruptBytes(text: string, ops: readonly ByteOp[]): string {
  let bytes = Buffer.from(text, 'utf8');
  for (const op of ops) {
    if (bytes.length === 0) break;
    const at = op.at % bytes.length;
    if (op.kind === 'flip') bytes[at] = bytes[at]! ^ (1 << (op.byte % 8));
    else if (op.kind === 'delete') bytes = Buffer.concat([bytes.subarray(0, at), bytes.subarray(at + 1)]);
    else if (op.kind === 'insert')
      bytes = Buffer.concat([bytes.subarray(0, at), Buffer.from([op.byte]), bytes.subarray(at)]);
    else bytes = bytes.subarray(0, at);
  }
  return new TextDecoder('utf-8').decode(bytes);
}

type TextOp = { at: number; insert: string; remove: number };
const textOp: fc.Arbitrary<TextOp> = fc.record({
  at: fc.nat(),
  insert: fc.oneof(
    fc.constantFrom(
      '"',
      '\\',
      '{',
      '}',
      '[',
      ']',
      ',',
      ':',
      'null',
      '\\u0000',
      '\\ud800',
      '\u202e',
      '\u0000',
      '\ud800',
      'NaN',
      '-',
      'e9',
    ),
    fc.string({ unit: 'binary', maxLength: 3 }),
  ),
  remove: fc.integer({ min: 0, max: 3 }),
});
function corruptText(text: string, ops: readonly TextOp[]): string {
  let t = text;
  for (const op of ops) {
    const at = t.length ? op.at % (t.length + 1) : 0;
    t = t.slice(0, at) + op.insert + t.slice(at + op.remove);
  }
  return t;
}

const TINY_BODIES = [
  '',
  ' ',
  '\n',
  '\ufeff',
  '\ufeff ',
  '[',
  ']',
  '{',
  '}',
  '[]',
  '{}',
  '[{}]',
  '[[]]',
  'null',
  '0',
  '-',
  '"',
  '""',
  'true',
  '[null]',
  '\ufeff[]',
  '[1,]',
  '{"a":1,}',
  "{'id':1}",
  '\u0000',
];

/** Deep nesting, long arrays, giant strings: up to SQS's 1 MiB. */
const hugeBody: fc.Arbitrary<string> = fc.oneof(
  fc.integer({ min: 1000, max: 20_000 }).map((d) => '['.repeat(d) + ']'.repeat(d)),
  fc.integer({ min: 1000, max: 20_000 }).map((d) => `${'{"a":'.repeat(d)}1${'}'.repeat(d)}`),
  fc
    .tuple(
      validEvent,
      fc.integer({ min: 10_000, max: 1_000_000 }),
      fc.constantFrom('camera_id', 'model_version', 'extra'),
    )
    .map(([e, n, field]) => JSON.stringify({ ...e, [field]: 'x'.repeat(n) })),
  fc
    .tuple(fc.array(validEvent, { minLength: 200, maxLength: 2000 }), fc.array(mutatedEvent, { maxLength: 30 }))
    .map(([good, bad]) =>
      // Spread over many cameras: each camera + stream gets fewer events than its dedup memory.
      JSON.stringify([...good.map((e, k) => ({ ...e, camera_id: `${e.camera_id}-${k % 97}` })), ...bad]),
    ),
);

/** What a fuzz body is: for the report's breakdown. */
export type BodyKind =
  | 'arbitrary-json'
  | 'mutated-events'
  | 'byte-corruption'
  | 'text-corruption'
  | 'tiny'
  | 'huge'
  | 'valid';

/** Every kind of body, with weights that keep huge ones rare (they are slow to parse a million times). */
export const fuzzBody: fc.Arbitrary<{ kind: BodyKind; body: string }> = fc.oneof(
  {
    weight: 200,
    arbitrary: fc.jsonValue({ maxDepth: 4 }).map((v) => ({ kind: 'arbitrary-json' as const, body: JSON.stringify(v) })),
  },
  {
    weight: 100,
    arbitrary: fc
      .array(
        fc.dictionary(fc.oneof(fc.constantFrom(...FIELDS), fc.string({ maxLength: 6 })), nastyValue, { maxKeys: 10 }),
        {
          maxLength: 4,
        },
      )
      .map((a) => ({ kind: 'arbitrary-json' as const, body: JSON.stringify(a.length === 1 ? a[0] : a) })),
  },
  {
    weight: 300,
    arbitrary: eventsBody(fc.oneof(mutatedEvent, validEvent), 6).map((body) => ({
      kind: 'mutated-events' as const,
      body,
    })),
  },
  { weight: 100, arbitrary: validBody.map((body) => ({ kind: 'valid' as const, body })) },
  {
    weight: 120,
    arbitrary: fc
      .tuple(validBody, fc.array(byteOp, { minLength: 1, maxLength: 4 }))
      .map(([b, ops]) => ({ kind: 'byte-corruption' as const, body: corruptBytes(b, ops) })),
  },
  {
    weight: 120,
    arbitrary: fc
      .tuple(validBody, fc.array(textOp, { minLength: 1, maxLength: 4 }))
      .map(([b, ops]) => ({ kind: 'text-corruption' as const, body: corruptText(b, ops) })),
  },
  {
    weight: 50,
    arbitrary: fc
      .oneof(fc.constantFrom(...TINY_BODIES), fc.string({ unit: 'binary', maxLength: 3 }))
      .map((body) => ({ kind: 'tiny' as const, body })),
  },
  { weight: 1, arbitrary: hugeBody.map((body) => ({ kind: 'huge' as const, body })) },
);

/** `count` bodies for `seed`, generated a chunk at a time (a million bodies never sit in memory at once). */
export function* fuzzBodies(seed: number, count: number, chunk = 5000): Generator<{ kind: BodyKind; body: string }> {
  for (let start = 0, c = 0; start < count; start += chunk, c++) {
    yield* fc.sample(fuzzBody, { seed: seed * 1_000_003 + c, numRuns: Math.min(chunk, count - start) });
  }
}

// ---- what parseBody must hold --------------------------------------------------------------

/**
 * Why a parse result breaks the contract, or [] when it holds: something comes out of every body;
 * each element of an array is an event or a rejection (or the body is one letter for many bad
 * elements); each rejection has a reason free of invisible characters and its exact text; each
 * event validates again and keeps the id and weight rules.
 */
export function checkParsed(body: string, r: ParsedBody, nowMs: number): string[] {
  const problems: string[] = [];
  if (r.events.length + r.rejections.length === 0) problems.push('silent drop: no event and no rejection');
  for (const x of r.rejections) {
    if (!x.reason.trim()) problems.push('rejection without a reason');
    else if (escapeForDisplay(x.reason) !== x.reason)
      problems.push(`reason holds an unescaped character: ${escapeForDisplay(x.reason)}`);
    if (!body.includes(x.raw)) problems.push(`rejected text is not part of the body (index ${x.index})`);
  }
  let decoded: unknown;
  try {
    decoded = JSON.parse(body.charCodeAt(0) === 0xfeff ? body.slice(1) : body);
  } catch {
    decoded = undefined;
  }
  if (Array.isArray(decoded) && decoded.length > 0) {
    const wholeBody = r.rejections.length === 1 && r.rejections[0]!.index === null;
    if (!wholeBody) {
      const rejected = new Set(r.rejections.map((x) => x.index));
      if (
        rejected.size !== r.rejections.length ||
        [...rejected].some((i) => i === null || i < 0 || i >= decoded.length)
      )
        problems.push('rejection indices are not distinct array positions');
      if (r.events.length + r.rejections.length !== decoded.length)
        problems.push(
          `silent drop: ${decoded.length} elements, ${r.events.length} events + ${r.rejections.length} rejections`,
        );
    }
  } else if (r.events.length + r.rejections.length > 1)
    problems.push('one body that is not an array gave several parts');
  for (const e of r.events) {
    const again = validateEvent(toWire(e), nowMs);
    if (!('event' in again)) problems.push(`accepted event fails validation again: ${again.errors[0]?.message}`);
    if (/\p{Cf}/u.test(e.camera_id) || /\p{Cf}/u.test(e.model_version ?? ''))
      problems.push('accepted id holds a format character');
    if ((e.sample_count ?? 0) > MAX_SAMPLE_COUNT) problems.push('accepted sample_count above the maximum');
  }
  return problems;
}

/** A reason joins its field errors with '; ' (the producer's keys may hold '; ' too). */
const FIELD_ERROR_SEPARATOR = new RegExp(`; (?=(?:\\[\\d+\\]\\.)?(?:${FIELDS.join('|')})\\b)`);

/** The kinds (reasonKind) of the field errors one reason holds. */
export const reasonKinds = (reason: string) => reason.split(FIELD_ERROR_SEPARATOR).map(reasonKind);

const KEPT_KEYS = [...FIELDS, 'body', 'value'];

/** A bad-UTF-8 reason with the producer's own key taken out: "[1].k: k is not …", or "k is not …" at the top. */
function withoutProducerKey(reason: string): string {
  const element = /^(\[\d+\])\.(.+): \2 (is not valid UTF-8 .*)$/s.exec(reason);
  if (element) return KEPT_KEYS.includes(element[2]!) ? reason : `${element[1]}.…: … ${element[3]}`;
  const top = /^(.+) (is not valid UTF-8 .*)$/s.exec(reason);
  if (top && !KEPT_KEYS.includes(top[1]!) && !top[1]!.startsWith('[')) return `… ${top[2]}`;
  return reason;
}

/**
 * A reason with its specifics (indices, quoted values, numbers, code points, repeated ids, the
 * producer's own keys, JSON.parse's quote of the body) taken out, to count kinds.
 */
export function reasonKind(reason: string): string {
  return withoutProducerKey(reason)
    .replace(/^(.*?duplicate id ).*( within one message)$/, '$1…$2')
    .replace(/Unexpected token .*? is not valid JSON/, 'Unexpected token … is not valid JSON')
    .replace(/\[\d+\]/g, '[i]')
    .replace(/"(?:[^"\\]|\\.)*"?/g, '"…"')
    .replace(/'[^']*'/g, "'…'")
    .replace(/U\+[0-9A-F]{4,6} \([^)]*\)/g, 'U+…')
    .replace(/(?<![A-Za-z-])-?\d[\d.e+:TZ-]*/gi, 'N')
    .slice(0, 140);
}

export interface Tally {
  [key: string]: number;
}
const bump = (t: Tally, k: string, n = 1) => {
  t[k] = (t[k] ?? 0) + n;
};

export interface ParserFuzzReport {
  seed: number;
  bodies: number;
  /** parseBody threw. */
  crashes: number;
  /** Bodies or elements that came out as neither an event nor a rejection. */
  silentDrops: number;
  /** Other broken rules (reason wording, rejected text, re-validation). */
  violations: number;
  events: number;
  rejections: number;
  byKind: Tally;
  /** Distinct reason kinds (reasonKind) and how often each was seen. */
  reasons: Tally;
  /** The first failing bodies, for regression tests. */
  failures: { body: string; problems: string[] }[];
  elapsedMs: number;
}

/**
 * `count` fuzz bodies through parseBody, each result checked. Yields to the event loop now and then,
 * so the local-stack fuzz can run alongside.
 */
export async function fuzzParser(opts: {
  seed: number;
  count: number;
  onProgress?: (done: number) => void;
}): Promise<ParserFuzzReport> {
  const started = performance.now();
  const report: ParserFuzzReport = {
    seed: opts.seed,
    bodies: 0,
    crashes: 0,
    silentDrops: 0,
    violations: 0,
    events: 0,
    rejections: 0,
    byKind: {},
    reasons: {},
    failures: [],
    elapsedMs: 0,
  };
  for (const { kind, body } of fuzzBodies(opts.seed, opts.count)) {
    report.bodies++;
    bump(report.byKind, kind);
    let problems: string[];
    try {
      const r = parseBody(body, FUZZ_NOW_MS);
      report.events += r.events.length;
      report.rejections += r.rejections.length;
      for (const x of r.rejections) for (const kind of reasonKinds(x.reason)) bump(report.reasons, kind);
      problems = checkParsed(body, r, FUZZ_NOW_MS);
    } catch (err) {
      report.crashes++;
      problems = [`crash: ${(err as Error).stack ?? String(err)}`];
    }
    if (problems.length) {
      if (problems.some((p) => p.startsWith('silent drop'))) report.silentDrops++;
      else if (!problems[0]!.startsWith('crash')) report.violations++;
      if (report.failures.length < 20) report.failures.push({ body: body.slice(0, 2000), problems });
    }
    if (opts.onProgress && report.bodies % 100_000 === 0) opts.onProgress(report.bodies);
    if (report.bodies % 25 === 0) await new Promise((r) => setImmediate(r));
  }
  report.elapsedMs = performance.now() - started;
  return report;
}

// ---- the handler path on a local stack ------------------------------------------------------

// Characters SQS accepts in a message body (as the dead-letter adapter knows them too).
// biome-ignore lint/suspicious/noControlCharactersInRegex: the class names the control characters on purpose
const SQS_REFUSES = /[^\u0009\u000A\u000D\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/u;

export interface StackFuzzReport {
  seed: number;
  generated: number;
  /** Bodies SQS itself would refuse (empty, over 1 MiB, characters outside its set): never sent. */
  notSendable: number;
  sent: number;
  /** Rounds the sent bodies went in (fuzzLocalStack). */
  rounds: number;
  /** Valid events parseBody finds in the sent bodies, and where they ended up. */
  events: number;
  eventsInState: number;
  /** Older than a full dedup memory of their stream when checked: applied and moved out, or too late. */
  eventsOlderThanMemory: number;
  /** Rejected parts expected, and found on the dead-letter queue with the same reason and exact text. */
  rejectedParts: number;
  deadLettered: number;
  /** Events missing from the state and rejected parts missing from the dead-letter queue. */
  silentDrops: number;
  /** Letters nobody expected (a wrong reason or text). */
  unexpectedLetters: number;
  /** Second copies of a letter (dead letters are delivered at least once). */
  duplicateLetters: number;
  /** Messages the handler received more than once. */
  redeliveries: number;
  /** The handler threw, failed records, or SQS parked a message after repeated failures. */
  crashes: number;
  reasons: Tally;
  failures: { body: string; problem: string }[];
  elapsedMs: number;
}

const letterAttribute = (m: Message, name: string) => m.MessageAttributes?.[name]?.StringValue;

/** The rejected text a dead letter holds, decoded as the dead-letter adapter encoded it. */
const letterText = (m: Message) => {
  const encoding = letterAttribute(m, DEAD_LETTER_ATTRIBUTES.encoding);
  const body = m.Body ?? '';
  if (encoding === 'base64') return Buffer.from(body, 'base64').toString('utf8');
  if (encoding === 'gzip+base64') return gunzipSync(Buffer.from(body, 'base64')).toString('utf8');
  return body;
};

/**
 * Every letter on the dead-letter queue, received and deleted until the queue is empty, the ones in
 * flight included: a receive whose answer got lost hides its letters until their visibility timeout.
 */
async function takeDeadLetters(sqs: SQSClient, queueUrl: string, deadline: number): Promise<Message[]> {
  const letters = new Map<string, Message>();
  for (;;) {
    for (const m of await drainQueue(sqs, queueUrl)) letters.set(m.MessageId!, m);
    if ((await queueDepth(sqs, queueUrl)) === 0) return [...letters.values()];
    if (Date.now() > deadline) throw new Error('the dead-letter queue did not empty before the deadline');
    await sleep(1000);
  }
}

/** The stored windows of these cameras, by camera id (BatchGetItem: a call per 100 cameras). */
async function storedWindows(
  ddb: DynamoDBClient,
  tableName: string,
  cameraIds: Iterable<string>,
): Promise<Map<string, Record<string, WindowEntry[]>>> {
  const out = new Map<string, Record<string, WindowEntry[]>>();
  const pk = STATE_TABLE.partitionKey.name;
  const prefix = STATE_TABLE.cameraKey('');
  const keys = [...cameraIds].map((id) => ({ [pk]: { S: STATE_TABLE.cameraKey(id) } }));
  while (keys.length > 0) {
    const r = await ddb.send(
      new BatchGetItemCommand({ RequestItems: { [tableName]: { Keys: keys.splice(0, 100), ConsistentRead: true } } }),
    );
    for (const item of r.Responses?.[tableName] ?? []) {
      const streams = item[STATE_TABLE.attributes.streams]?.B;
      if (streams) out.set(item[pk]!.S!.slice(prefix.length), decodeStreams(streams));
    }
    keys.push(...((r.UnprocessedKeys?.[tableName]?.Keys ?? []) as typeof keys));
  }
  return out;
}

/** Waits until the queue is empty (visible and in flight) for two looks in a row. */
async function untilEmpty(sqs: SQSClient, queueUrl: string, deadline: number): Promise<void> {
  for (let empty = 0; empty < 2; ) {
    if (Date.now() > deadline) throw new Error('the ingest queue did not drain before the deadline');
    await sleep(100);
    empty = (await queueDepth(sqs, queueUrl)) === 0 ? empty + 1 : 0;
  }
}

/**
 * Bodies per round of fuzzLocalStack. moto's SQS scans every message of a queue (in flight too) for
 * each message it sends or receives, so its cost grows with the square of what a queue holds.
 */
export const STACK_ROUND_BODIES = 100;

/**
 * `count` fuzz bodies through the real ingest handler on a local stack (moto, started and stopped
 * here). The handler reads its configuration from process.env, as in Lambda: this sets it.
 *
 * The bodies go in rounds of `roundBodies`: send them, let the handler drain the ingest queue, take
 * the round's dead letters off their queue and check every body of the round against them and
 * against its cameras' stored state. Each round starts with both queues empty, so moto stays fast
 * and no letter of one round can be taken for another's.
 */
export async function fuzzLocalStack(opts: {
  seed: number;
  count: number;
  roundBodies?: number;
  /** Time one round may take to drain its queues. */
  deadlineMs?: number;
  /** Stop generating and sending after this long (the bodies sent are still all checked). */
  sendBudgetMs?: number;
  log?: (line: string) => void;
}): Promise<StackFuzzReport> {
  const started = performance.now();
  const report: StackFuzzReport = {
    seed: opts.seed,
    generated: 0,
    notSendable: 0,
    sent: 0,
    rounds: 0,
    events: 0,
    eventsInState: 0,
    eventsOlderThanMemory: 0,
    rejectedParts: 0,
    deadLettered: 0,
    silentDrops: 0,
    unexpectedLetters: 0,
    duplicateLetters: 0,
    redeliveries: 0,
    crashes: 0,
    reasons: {},
    failures: [],
    elapsedMs: 0,
  };
  const fail = (body: string, problem: string) => {
    if (report.failures.length < 20) report.failures.push({ body: body.slice(0, 2000), problem });
  };
  const seconds = (since: number) => ((performance.now() - since) / 1000).toFixed(1);
  const moto = await startMoto();
  const cfg = localClientConfig(moto.endpoint);
  const sqs = new SQSClient(cfg);
  const ddb = new DynamoDBClient(cfg);
  let mapping: LocalEventSourceMapping | undefined;
  let handlerClients: { destroy(): void }[] = [];
  try {
    // Shorter than the deployed 180 s, yet far above the seconds a batch takes here: a message moto
    // hands out twice or brings back (two DeleteMessage calls at once are not atomic there) comes
    // back within the round instead of holding it up for minutes. Redeliveries are counted, not faults.
    const stack = await createLocalStack(moto.endpoint, { stage: 'fuzz', visibilityTimeoutSeconds: 30 });
    Object.assign(process.env, functionEnv(stack));
    const fn = await import('../../functions/ingest.js');
    handlerClients = Object.values(fn.clients) as { destroy(): void }[];
    opts.log?.(`local stack up after ${seconds(started)} s`);

    /** Sends the bodies in batches of up to 10 within SQS's 1 MiB per request; message id → body. */
    const send = async (bodies: readonly string[]) => {
      const sent = new Map<string, string>();
      for (let i = 0; i < bodies.length; ) {
        const entries: string[] = [];
        for (let bytes = 0; i < bodies.length && entries.length < 10; i++) {
          bytes += Buffer.byteLength(bodies[i]!, 'utf8');
          if (entries.length > 0 && bytes > SQS_MAX_BODY_BYTES) break;
          entries.push(bodies[i]!);
        }
        const r = await sqs.send(
          new SendMessageBatchCommand({
            QueueUrl: stack.ingestQueueUrl,
            Entries: entries.map((b, j) => ({ Id: String(j), MessageBody: b })),
          }),
        );
        for (const ok of r.Successful ?? []) sent.set(ok.MessageId!, entries[Number(ok.Id)]!);
        for (const f of r.Failed ?? []) {
          report.notSendable++;
          opts.log?.(`SQS refused a body (${f.Code}): ${escapeForDisplay(entries[Number(f.Id)]!.slice(0, 80))}`);
        }
      }
      return sent;
    };

    /** The handler drains the ingest queue; stopping the mapping waits for its last invocations. */
    const handle = async (sent: number, deadline: number) => {
      mapping = new LocalEventSourceMapping(sqs, fn.handler, {
        queueUrl: stack.ingestQueueUrl,
        batchSize: 10,
        maxBatchingWindowMs: 50,
        pollers: 8,
        waitTimeSeconds: 1,
      }).start();
      await untilEmpty(sqs, stack.ingestQueueUrl, deadline);
      await mapping.stop({ letReceivesFinish: true });
      report.crashes += mapping.counters.handlerErrors + mapping.counters.failedRecords;
      report.redeliveries += mapping.counters.received - sent;
    };

    /** Each body of the round against its dead letters and its cameras' stored windows. */
    const check = async (sent: Map<string, string>, letters: Message[]) => {
      const lettersBySource = new Map<string, Message[]>();
      for (const m of letters) {
        const reason = letterAttribute(m, DEAD_LETTER_ATTRIBUTES.reason);
        const source = letterAttribute(m, DEAD_LETTER_ATTRIBUTES.sourceMessageId);
        if (reason === undefined || source === undefined) {
          report.crashes++; // parked by SQS after repeated failed receives
          fail(m.Body ?? '', 'parked by the redrive policy (the handler kept failing on it)');
          continue;
        }
        for (const kind of reasonKinds(reason)) bump(report.reasons, kind);
        const same = lettersBySource.get(source);
        if (same) same.push(m);
        else lettersBySource.set(source, [m]);
      }
      const nowMs = Date.now();
      const expectedBySource = new Map([...sent].map(([id, body]) => [id, parseBody(body, nowMs)]));
      const windows = await storedWindows(
        ddb,
        stack.tableName,
        new Set([...expectedBySource.values()].flatMap((p) => p.events.map((e) => e.camera_id))),
      );

      const letterKey = (m: Message) =>
        `${letterAttribute(m, DEAD_LETTER_ATTRIBUTES.index) ?? ''}|${letterAttribute(m, DEAD_LETTER_ATTRIBUTES.reason)}|${letterText(m)}`;
      for (const [messageId, expected] of expectedBySource) {
        const body = sent.get(messageId)!;
        const unmatched = lettersBySource.get(messageId) ?? [];
        lettersBySource.delete(messageId);
        report.rejectedParts += expected.rejections.length;
        const matched = new Set<string>();
        for (const x of expected.rejections) {
          // A reason longer than an attribute holds is cut and ends with '…'.
          const i = unmatched.findIndex((m) => {
            const reason = letterAttribute(m, DEAD_LETTER_ATTRIBUTES.reason)!;
            return (
              reason === x.reason.slice(0, 1023) || (reason.endsWith('…') && x.reason.startsWith(reason.slice(0, -1)))
            );
          });
          if (i < 0) {
            report.silentDrops++;
            fail(
              body,
              `rejected part ${x.index ?? 'body'} (${x.reason.slice(0, 200)}) is not on the dead-letter queue`,
            );
            continue;
          }
          const [m] = unmatched.splice(i, 1);
          if (letterText(m!) !== x.raw && !(x.raw.length === 0 && letterText(m!) === ' ')) {
            report.silentDrops++;
            fail(body, `dead letter of part ${x.index ?? 'body'} does not hold its exact text`);
            continue;
          }
          report.deadLettered++;
          matched.add(letterKey(m!));
        }
        // Dead letters are at least once: a second copy of a matched letter is counted, not a fault.
        const copies = unmatched.filter((m) => matched.has(letterKey(m)));
        report.duplicateLetters += copies.length;
        if (unmatched.length > copies.length) {
          report.unexpectedLetters += unmatched.length - copies.length;
          fail(body, `${unmatched.length - copies.length} unexpected dead letter(s)`);
        }
        for (const e of expected.events) {
          report.events++;
          const entries = windows.get(e.camera_id)?.[`${e.modality}.${e.metric}`] ?? [];
          if (entries.some((x) => x.ts === e.ts && x.tag === idTag(e.id))) report.eventsInState++;
          else if (entries.length >= DEDUP_DEPTH && entries[0]!.ts >= e.ts) report.eventsOlderThanMemory++;
          else {
            report.silentDrops++;
            fail(body, `event ${e.id} of ${escapeForDisplay(e.camera_id)} is neither in the state nor dead-lettered`);
          }
        }
      }
      // Letters whose source is not a message of this round.
      for (const rest of lettersBySource.values()) report.unexpectedLetters += rest.length;
    };

    const roundBodies = opts.roundBodies ?? STACK_ROUND_BODIES;
    const runRound = async (bodies: readonly string[]) => {
      const roundStarted = performance.now();
      const deadline = Date.now() + (opts.deadlineMs ?? 600_000);
      const sent = await send(bodies);
      report.sent += sent.size;
      const sentAfter = seconds(roundStarted);
      await handle(sent.size, deadline);
      const handledAfter = seconds(roundStarted);
      const letters = await takeDeadLetters(sqs, stack.deadLetterQueueUrl, deadline);
      const lettersAfter = seconds(roundStarted);
      await check(sent, letters);
      if (++report.rounds % 10 === 0 || bodies.length < roundBodies)
        opts.log?.(
          `${report.sent} bodies sent and checked after ${seconds(started)} s; last round of ${sent.size}: ` +
            `sent ${sentAfter} s, handled ${handledAfter} s, ${letters.length} letters taken ${lettersAfter} s, checked ${seconds(roundStarted)} s`,
        );
    };

    const round: string[] = [];
    for (const { body } of fuzzBodies(opts.seed, opts.count)) {
      if (opts.sendBudgetMs !== undefined && performance.now() - started > opts.sendBudgetMs) {
        opts.log?.(`send budget of ${opts.sendBudgetMs / 1000} s used up after ${report.generated} bodies`);
        break;
      }
      report.generated++;
      if (body.length === 0 || Buffer.byteLength(body, 'utf8') > SQS_MAX_BODY_BYTES || SQS_REFUSES.test(body)) {
        report.notSendable++;
        continue;
      }
      round.push(body);
      if (round.length === roundBodies) await runRound(round.splice(0));
    }
    if (round.length > 0) await runRound(round.splice(0));
  } finally {
    await mapping?.stop();
    for (const c of handlerClients) c.destroy();
    sqs.destroy();
    ddb.destroy();
    await moto.stop();
  }
  report.elapsedMs = performance.now() - started;
  return report;
}

// ---- the report -------------------------------------------------------------------------

const byCount = (t: Tally) => Object.entries(t).sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));

/** Lines for a person: totals, the verdict and the distinct reasons. */
export function formatFuzzReport(parser: ParserFuzzReport, stack?: StackFuzzReport): string {
  const n = (v: number) => v.toLocaleString('en-US');
  const lines = [
    `parseBody: ${n(parser.bodies)} bodies (seed ${parser.seed}) in ${(parser.elapsedMs / 1000).toFixed(1)} s: ${n(parser.events)} events, ${n(parser.rejections)} rejections`,
    `  crashes ${parser.crashes}, silent drops ${parser.silentDrops}, other violations ${parser.violations}`,
    `  bodies by kind: ${Object.entries(parser.byKind)
      .sort((a, b) => b[1] - a[1])
      .map(([k, v]) => `${k} ${n(v)}`)
      .join(', ')}`,
    `  distinct reasons: ${Object.keys(parser.reasons).length}`,
  ];
  for (const [k, v] of byCount(parser.reasons)) lines.push(`    ${n(v).padStart(9)}  ${k}`);
  for (const f of parser.failures)
    lines.push(`  FAILED ${JSON.stringify(f.body.slice(0, 200))}: ${f.problems.join('; ')}`);
  if (stack) {
    lines.push(
      '',
      `local stack (real ingest handler on moto): ${n(stack.generated)} bodies (seed ${stack.seed}) in ${(stack.elapsedMs / 1000).toFixed(1)} s; ${n(stack.sent)} sent in ${n(stack.rounds)} rounds, ${n(stack.notSendable)} not sendable through SQS`,
      `  events ${n(stack.events)}: in the state ${n(stack.eventsInState)}, older than their stream's dedup memory ${n(stack.eventsOlderThanMemory)}`,
      `  rejected parts ${n(stack.rejectedParts)}: dead-lettered with reason and exact text ${n(stack.deadLettered)}`,
      `  crashes ${stack.crashes}, silent drops ${stack.silentDrops}, unexpected letters ${stack.unexpectedLetters}`,
      `  at-least-once copies: ${stack.redeliveries} messages received again, ${stack.duplicateLetters} second dead letters`,
      `  distinct reasons on the dead-letter queue: ${Object.keys(stack.reasons).length}`,
    );
    for (const [k, v] of byCount(stack.reasons)) lines.push(`    ${n(v).padStart(9)}  ${k}`);
    for (const f of stack.failures) lines.push(`  FAILED ${JSON.stringify(f.body.slice(0, 200))}: ${f.problem}`);
  }
  return escapeForDisplay(lines.join('\n'), { keepLineBreaks: true });
}

export const FUZZ_DEFAULTS = { seed: 1, parserBodies: 1_000_000, stackBodies: 10_000 };

/** Both fuzz runs, as `npm run chaos -- --fuzz` does them; `ok` when nothing crashed or was dropped. */
export async function runFuzz(
  opts: {
    seed: number;
    parserBodies: number;
    stackBodies: number;
    stackRoundBodies?: number;
    stackSendBudgetMs?: number;
  },
  log: (line: string) => void,
): Promise<{ parser: ParserFuzzReport; stack: StackFuzzReport; ok: boolean; summary: Record<string, unknown> }> {
  log(
    `fuzz: seed ${opts.seed}, ${opts.parserBodies} bodies through parseBody, ${opts.stackBodies} through the local stack`,
  );
  // Side by side: the parser is CPU in this process, the stack mostly waits on moto.
  const [parser, stack] = await Promise.all([
    fuzzParser({
      seed: opts.seed,
      count: opts.parserBodies,
      onProgress: (n) => log(`  parseBody: ${n.toLocaleString('en-US')} bodies`),
    }).then((r) => {
      log(formatFuzzReport(r).split('\n').slice(0, 2).join('\n'));
      return r;
    }),
    fuzzLocalStack({
      seed: opts.seed,
      count: opts.stackBodies,
      roundBodies: opts.stackRoundBodies,
      sendBudgetMs: opts.stackSendBudgetMs,
      log: (l) => log(`  stack: ${l}`),
    }),
  ]);
  const ok =
    parser.crashes + parser.silentDrops + parser.violations === 0 &&
    stack.crashes + stack.silentDrops + stack.unexpectedLetters === 0;
  const { failures: _pf, reasons: parserReasons, ...parserTotals } = parser;
  const { failures: _sf, reasons: stackReasons, ...stackTotals } = stack;
  const summary = {
    parser: {
      ...parserTotals,
      distinctReasons: Object.keys(parserReasons).length,
      elapsedMs: Math.round(parser.elapsedMs),
      reasons: Object.fromEntries(byCount(parserReasons)),
    },
    stack: {
      ...stackTotals,
      distinctReasons: Object.keys(stackReasons).length,
      elapsedMs: Math.round(stack.elapsedMs),
      reasons: Object.fromEntries(byCount(stackReasons)),
    },
    ok,
  };
  return { parser, stack, ok, summary };
}
