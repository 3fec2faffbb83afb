// Covers the parser fuzz in CI (issue 16) with a fixed seed and a bounded count: seeded fast-check
// bodies (arbitrary JSON, mutated valid events, byte-level and text corruption, tiny and huge
// bodies) through parseBody, where nothing may throw and every body or array element must come out
// as an event or a rejection with a clean reason; then a share of them through the real ingest
// handler on a local stack on moto, where each rejected part must be on the dead-letter queue with
// its reason and exact text and each valid event in its camera's stored window (in rounds, each
// checked before the next is sent, as the full run does). The full run is
// `npm run chaos -- --fuzz` (1,000,000 bodies through parseBody, 10,000 through the stack).
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { parseBody } from '../../lib/core/metric-event.js';
import { checkParsed, FUZZ_NOW_MS, fuzzBody, fuzzLocalStack, fuzzParser, reasonKinds } from '../../lib/chaos/fuzz.js';

const SEED = 16;

describe('parser fuzz (fixed seed, bounded)', () => {
  it('parseBody: every body applied or rejected with a reason, nothing thrown (fast-check, shrinks a failure)', () => {
    fc.assert(
      fc.property(fuzzBody, ({ body }) => {
        expect(checkParsed(body, parseBody(body, FUZZ_NOW_MS), FUZZ_NOW_MS)).toEqual([]);
      }),
      { seed: SEED, numRuns: 2000 },
    );
  });

  it('the fuzz report counts what it checked: bodies of every kind, no crash, no silent drop', async () => {
    const r = await fuzzParser({ seed: SEED, count: 2000 });
    expect(r).toMatchObject({ bodies: 2000, crashes: 0, silentDrops: 0, violations: 0 });
    expect(Object.keys(r.byKind).sort()).toEqual(
      ['arbitrary-json', 'byte-corruption', 'huge', 'mutated-events', 'text-corruption', 'tiny', 'valid'].sort(),
    );
    expect(r.events).toBeGreaterThan(100);
    expect(Object.keys(r.reasons).length).toBeGreaterThan(20);
  });

  // The first full run counted 49,508 distinct reasons in 1,000,000 bodies: each repeated id, key
  // of the producer's and JSON.parse quote of a body made a reason of its own.
  it('distinct reasons are kinds: ids, producer keys and quoted bodies taken out', () => {
    const utf8 = 'is not valid UTF-8 (replacement character U+FFFD or lone surrogate found)';
    expect(
      reasonKinds(`[3].id: duplicate id 6f1c5a1e-3f7e-4c59-9a53-2f0c3f0b7d11 within one message`).concat(
        reasonKinds(`[12].id: duplicate id 00000000-0000-0000-0000-000000000000 within one message`),
      ),
    ).toEqual(['[i].id: duplicate id … within one message', '[i].id: duplicate id … within one message']);
    expect(reasonKinds(`[1].va\\ud800lue: va\\ud800lue ${utf8}`)).toEqual([`[i].…: … ${utf8}`]);
    expect(reasonKinds(`k; x: 1 ${utf8}`)).toEqual([`… ${utf8}`]);
    expect(reasonKinds(`[0].camera_id: camera_id ${utf8}`)).toEqual([`[i].camera_id: camera_id ${utf8}`]);
    expect(reasonKinds(`body is not valid JSON: Unexpected token 'x', "x{}" is not valid JSON`)).toEqual([
      'body is not valid JSON: Unexpected token … is not valid JSON',
    ]);
    expect(
      reasonKinds('[0].timestamp: timestamp is required; [0].value: value must be a number, got string "a"'),
    ).toEqual(['[i].timestamp: timestamp is required', '[i].value: value must be a number, got string "…"']);
  });

  it('the real ingest handler on the local stack: every part applied or dead-lettered with its reason, round by round', async () => {
    const r = await fuzzLocalStack({ seed: SEED, count: 100, roundBodies: 40, deadlineMs: 60_000 });
    expect(r.failures).toEqual([]);
    expect(r).toMatchObject({ generated: 100, crashes: 0, silentDrops: 0, unexpectedLetters: 0 });
    expect(r.rounds).toBe(Math.ceil(r.sent / 40));
    expect(r.sent).toBeGreaterThan(80);
    expect(r.events).toBeGreaterThan(40);
    expect(r.eventsInState + r.eventsOlderThanMemory).toBe(r.events);
    expect(r.deadLettered).toBe(r.rejectedParts);
    expect(r.rejectedParts).toBeGreaterThan(40);
  });
});
